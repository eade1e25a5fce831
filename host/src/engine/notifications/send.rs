//! Sending one delivery: the webhook body and its HMAC-SHA256 signature, the HTTP POST with
//! its time-out, the BPMN message/signal destination, and "send test". Nothing here writes
//! deliveries: outcomes go back to the loop in [`super::delivery`].

use hmac::{Hmac, Mac};
use serde_json::{Value as J, json};
use sha2::Sha256;

use super::delivery::{Delivery, DeliveryStatus, iso};
use super::rules::NotificationRule;
use super::{EventKind, NotificationEvent};
use crate::engine::{ProcessEngine, Result};
use crate::store::{HistoryStore, InstanceStore};

/// The answer of a test notification.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    /// The delivery id sent.
    pub delivery_id: String,
    /// HTTP status of the receiver, if it answered.
    pub status: Option<u16>,
    /// Transport error, if any.
    pub error: Option<String>,
}

/// Lower-case hex of the HMAC-SHA256 of `body` under `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail; map it anyway, no unwrap.
    match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(body);
            mac.finalize()
                .into_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        }
        Err(_) => String::new(),
    }
}

impl ProcessEngine {
    /// The webhook body of a delivery.
    pub(crate) fn webhook_body(&self, delivery: &Delivery) -> J {
        let e = &delivery.event;
        // History first (the instance may have ended); the running instance when the
        // history level keeps no historic instances.
        let store = &self.inner.store;
        let business_key = e.process_instance_id.as_ref().and_then(|id| {
            match store.historic_instance(id).ok().flatten() {
                Some(h) => h.business_key,
                None => store
                    .running_instance(id)
                    .ok()
                    .flatten()
                    .and_then(|i| i.state.business_key),
            }
        });
        let base = self.cockpit_base();
        let link = match &e.process_instance_id {
            Some(id) => format!("{base}/#/instance/{id}"),
            None => format!("{base}/#/"),
        };
        json!({
            "deliveryId": delivery.id,
            "event": e.kind.as_str(),
            "rule": {"id": delivery.rule_id, "name": delivery.rule_name},
            "count": delivery.count,
            "summary": delivery.summary,
            "groupKey": delivery.group_key,
            "time": iso(e.time),
            "lastEventTime": iso(delivery.last_event_time),
            "processInstanceId": e.process_instance_id,
            "processDefinitionId": e.process_definition_id,
            "processDefinitionKey": e.process_definition_key,
            "businessKey": business_key,
            "activityId": e.activity_id,
            "incidentId": e.incident_id,
            "incidentType": e.incident_type,
            "errorMessage": e.message,
            "topic": e.topic,
            "cockpitLink": link,
        })
    }

    fn cockpit_base(&self) -> String {
        match &self.inner.config.notifications.public_url {
            Some(u) => u.trim_end_matches('/').to_owned(),
            None => match self.self_address() {
                Some(a) => format!("http://{a}"),
                None => "http://localhost:8080".to_owned(),
            },
        }
    }

    pub(super) async fn send(
        &self,
        rule: &NotificationRule,
        delivery: &Delivery,
    ) -> std::result::Result<u16, String> {
        match rule.destination {
            super::rules::DestinationKind::Webhook => {}
            super::rules::DestinationKind::Message | super::rules::DestinationKind::Signal => {
                return self.send_bpmn(rule, delivery).await;
            }
        }
        let Some(url) = rule.url.as_deref() else {
            return Err("the rule has no url".to_owned());
        };
        let body = match serde_json::to_vec(&self.webhook_body(delivery)) {
            Ok(b) => b,
            Err(e) => return Err(format!("cannot encode the body: {e}")),
        };
        let mut request = self
            .inner
            .notifications
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("x-baton-delivery", delivery.id.as_str())
            .header("x-baton-event", delivery.event.kind.as_str());
        if let Some(secret) = rule.secret.as_ref().filter(|s| !s.0.is_empty()) {
            request = request.header(
                "x-baton-signature",
                format!("sha256={}", sign(&secret.0, &body)),
            );
        }
        match request.body(body).send().await {
            Ok(r) if r.status().is_success() => Ok(r.status().as_u16()),
            Ok(r) => Err(format!("receiver answered {}", r.status())),
            // reqwest's error text names the URL and the cause, never the secret.
            Err(e) if e.is_timeout() => Err("timed out".to_owned()),
            Err(e) if e.is_connect() => Err("cannot connect".to_owned()),
            Err(e) => Err(format!("request failed: {e}")),
        }
    }

    /// Correlate a message or broadcast a signal carrying the notification's fields as
    /// variables (strings and numbers; `deliveryId` lets the receiving process dedupe, as the
    /// delivery is at least once). "Status" 200 stands for "correlated".
    async fn send_bpmn(
        &self,
        rule: &NotificationRule,
        delivery: &Delivery,
    ) -> std::result::Result<u16, String> {
        let Some(name) = rule.event_name.clone() else {
            return Err("the rule has no message or signal name".to_owned());
        };
        let mut variables = baton_bpmn::Variables::new();
        if let J::Object(fields) = self.webhook_body(delivery) {
            for (k, v) in fields {
                let value = match v {
                    J::String(s) => baton_bpmn::Value::String(s),
                    J::Number(n) => match n.as_i64() {
                        Some(i) => baton_bpmn::Value::Long(i),
                        None => baton_bpmn::Value::Double(n.as_f64().unwrap_or(0.0)),
                    },
                    J::Bool(b) => baton_bpmn::Value::Boolean(b),
                    J::Object(o) if k == "rule" => {
                        if let Some(J::String(id)) = o.get("id") {
                            variables.insert("ruleId".to_owned(), id.clone().into());
                        }
                        continue;
                    }
                    _ => continue,
                };
                variables.insert(k, value);
            }
        }
        let result = match rule.destination {
            super::rules::DestinationKind::Signal => self.signal(&name, variables, None).await,
            _ => self
                .correlate_message(crate::engine::CorrelateRequest {
                    message_name: name.clone(),
                    business_key: None,
                    correlation_keys: Default::default(),
                    local_correlation_keys: Default::default(),
                    process_instance_id: None,
                    process_variables: variables,
                    process_variables_local: Default::default(),
                    all: false,
                    tenant_id: None,
                    without_tenant_id: false,
                })
                .await
                .map(|_| ()),
        };
        result
            .map(|()| 200)
            .map_err(|e| format!("{} '{name}' not delivered: {e}", rule.destination.as_str()))
    }

    /// Send a test notification for a rule now and report what the receiver said (not
    /// retried, not grouped; the body has `"event": "test"`).
    pub async fn test_notification_rule(&self, id: &str) -> Result<TestOutcome> {
        let rule = self.notification_rule(id).await?;
        let now = self.now();
        let delivery = Delivery {
            seq: 0,
            id: crate::engine::core::new_id(),
            rule_id: rule.id.clone(),
            rule_name: rule.name.clone(),
            group_key: "test".to_owned(),
            event: NotificationEvent {
                kind: EventKind::Test,
                time: now,
                process_instance_id: None,
                process_definition_id: None,
                process_definition_key: rule.process_definition_key.clone(),
                activity_id: rule.activity_id.clone(),
                incident_id: None,
                incident_type: rule.incident_type.clone(),
                message: Some(format!("test notification of rule '{}'", rule.name)),
                topic: rule.topic.clone(),
                rule_id: Some(rule.id.clone()),
            },
            count: 1,
            last_event_time: now,
            summary: false,
            status: DeliveryStatus::Pending,
            attempts: 0,
            due: now,
            last_status: None,
            last_error: None,
            created: now,
            finished: None,
        };
        let result = self.send(&rule, &delivery).await;
        Ok(TestOutcome {
            delivery_id: delivery.id,
            status: match &result {
                Ok(s) => Some(*s),
                Err(e) => e
                    .strip_prefix("receiver answered ")
                    .and_then(|s| s.get(..3))
                    .and_then(|s| s.parse().ok()),
            },
            error: result.err(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_rfc4231_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
