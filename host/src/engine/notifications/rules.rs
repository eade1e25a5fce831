//! Notification rules: the model (a condition and a destination), validation of what a user
//! sends (REST, config file, CLI), and storage in the `notification_rules` tree. A rule's
//! secret is kept in a [`Secret`] that never prints and is never serialized into a response.

use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

use crate::engine::{ProcessEngine, ProcessEngineError, Result};
use crate::store::{NotificationStore, WriteSet};

/// Longest grouping window: a week (longer windows would swallow real news).
const MAX_WINDOW_SECONDS: i64 = 7 * 24 * 3600;
/// Default grouping window when a rule sets none.
const DEFAULT_WINDOW_SECONDS: i64 = 300;
/// Most rules a server holds: each event is matched against every rule, so the work per
/// event stays bounded.
pub(crate) const MAX_RULES: usize = 1000;

/// A webhook signing secret: stored, used to sign, never shown (its `Debug` is redacted and
/// no response DTO includes it).
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub(crate) String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// What a rule watches for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ConditionKind {
    /// An incident was opened (optionally filtered by type, definition key, activity).
    IncidentCreated,
    /// An incident was resolved (same filters).
    IncidentResolved,
    /// An instance was canceled from outside.
    InstanceCanceled,
    /// A BPMN error nobody caught stopped an instance (an `unhandledBpmnError` incident).
    UncaughtError,
    /// An in-engine wasm task hit its fuel, time or memory limit.
    WasmLimit,
    /// External tasks of a topic waited longer than `waitSeconds` and no worker fetched it.
    TaskWaiting,
    /// A user task is past its due date.
    UserTaskOverdue,
    /// A user task has had no assignee for longer than `waitSeconds`.
    UserTaskUnclaimed,
    /// Failed attempts of a topic over `windowSeconds` exceed `threshold` (0..1).
    FailureRate,
}

impl ConditionKind {
    /// Every condition, with its REST name.
    pub const ALL: &'static [(ConditionKind, &'static str)] = &[
        (ConditionKind::IncidentCreated, "incidentCreated"),
        (ConditionKind::IncidentResolved, "incidentResolved"),
        (ConditionKind::InstanceCanceled, "instanceCanceled"),
        (ConditionKind::UncaughtError, "uncaughtError"),
        (ConditionKind::WasmLimit, "wasmLimit"),
        (ConditionKind::TaskWaiting, "taskWaiting"),
        (ConditionKind::UserTaskOverdue, "userTaskOverdue"),
        (ConditionKind::UserTaskUnclaimed, "userTaskUnclaimed"),
        (ConditionKind::FailureRate, "failureRate"),
    ];

    /// The REST name.
    pub fn as_str(self) -> &'static str {
        ConditionKind::ALL
            .iter()
            .find(|(k, _)| *k == self)
            .map(|(_, n)| *n)
            .unwrap_or("unknown")
    }

    fn parse(s: &str) -> Option<ConditionKind> {
        ConditionKind::ALL
            .iter()
            .find(|(_, n)| *n == s)
            .map(|(k, _)| *k)
    }
}

/// Where a notification goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DestinationKind {
    /// An HTTP POST of a signed JSON body.
    Webhook,
    /// A BPMN message correlated into the user's own process (a message start event or a
    /// waiting receive task / catch event), the notification's fields as variables.
    Message,
    /// A BPMN signal broadcast with the notification's fields as variables.
    Signal,
}

impl DestinationKind {
    /// The REST name.
    pub fn as_str(self) -> &'static str {
        match self {
            DestinationKind::Webhook => "webhook",
            DestinationKind::Message => "message",
            DestinationKind::Signal => "signal",
        }
    }
}

/// A stored notification rule.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NotificationRule {
    /// Id (given or generated).
    pub id: String,
    /// Human name, shown in the cockpit and in the webhook body.
    pub name: String,
    /// What it watches for.
    pub condition: ConditionKind,
    /// Only incidents of this type (`failedExternalTask`, `failedJob`, ...).
    pub incident_type: Option<String>,
    /// Only events of instances of this process definition key.
    pub process_definition_key: Option<String>,
    /// Only events at this activity.
    pub activity_id: Option<String>,
    /// Only events of this topic (wasm limits, waiting tasks, failure rates).
    pub topic: Option<String>,
    /// How long before `taskWaiting` / `userTaskUnclaimed` fire, ms.
    #[serde(default)]
    pub wait_ms: Option<i64>,
    /// The failure rate (0..1] above which `failureRate` fires.
    #[serde(default)]
    pub threshold: Option<f64>,
    /// The destination kind.
    pub destination: DestinationKind,
    /// Webhook URL.
    pub url: Option<String>,
    /// Webhook signing secret (HMAC-SHA256 of the body), never returned.
    pub secret: Option<Secret>,
    /// The message (destination `message`) or signal (destination `signal`) name.
    #[serde(default)]
    pub event_name: Option<String>,
    /// Grouping window: at most one notification per rule per key per window (plus one
    /// summary with the count at its end), ms.
    pub window_ms: i64,
    /// Disabled rules match nothing.
    pub enabled: bool,
    /// Created, ms since epoch (engine clock).
    pub created: i64,
}

impl NotificationRule {
    /// Whether a secret is set (what responses show instead of the secret).
    pub fn has_secret(&self) -> bool {
        self.secret.as_ref().is_some_and(|s| !s.0.is_empty())
    }
}

/// A rule as a user writes it (REST body, `[[notification_rule]]` in the config file, CLI):
/// flat, camelCase, every field optional so that validation, not the JSON parser, explains
/// what is missing.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RuleInput {
    /// Id (config file rules need one so a restart updates instead of duplicating).
    pub id: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Condition name (see [`ConditionKind::ALL`]).
    pub condition: Option<String>,
    /// Incident type filter.
    pub incident_type: Option<String>,
    /// Process definition key filter.
    pub process_definition_key: Option<String>,
    /// Activity id filter.
    pub activity_id: Option<String>,
    /// Topic filter.
    pub topic: Option<String>,
    /// `taskWaiting`, `userTaskUnclaimed`: how long, in seconds (required, at least 1).
    pub wait_seconds: Option<i64>,
    /// `failureRate`: the rate (0..1] over `windowSeconds` above which it fires (required).
    pub threshold: Option<f64>,
    /// `webhook` (default), `message` or `signal`.
    pub destination: Option<String>,
    /// Destination `message`: the message name to correlate.
    pub message_name: Option<String>,
    /// Destination `signal`: the signal name to broadcast.
    pub signal_name: Option<String>,
    /// Webhook URL.
    pub url: Option<String>,
    /// Webhook secret; on update, absent keeps the stored one and `""` clears it.
    pub secret: Option<String>,
    /// Grouping window in seconds (default 300, at least 1).
    pub window_seconds: Option<i64>,
    /// Enabled (default true).
    pub enabled: Option<bool>,
}

fn bad(msg: impl Into<String>) -> ProcessEngineError {
    ProcessEngineError::BadUserRequest(msg.into())
}

fn filter_value(name: &str, v: &Option<String>) -> Result<Option<String>> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) if s.len() > 255 || s.contains('\0') => Err(bad(format!(
            "{name} must be at most 255 characters without NUL"
        ))),
        Some(s) => Ok(Some(s.to_owned())),
    }
}

/// Check a webhook URL: absolute http, a host, not the server itself.
pub(crate) fn check_url(url: &str, self_addr: Option<SocketAddr>) -> Result<()> {
    if url.len() > 2048 {
        return Err(bad("url must be at most 2048 characters"));
    }
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| bad(format!("url '{url}' is not a valid absolute URL: {e}")))?;
    match parsed.scheme() {
        "http" => {}
        // reqwest is built without TLS in baton (http only today): refuse instead of failing
        // every delivery later.
        "https" => {
            return Err(bad(format!(
                "url '{url}': https webhooks are not supported by this build yet (no TLS client); use http, e.g. through a local relay"
            )));
        }
        other => {
            return Err(bad(format!(
                "url '{url}' has scheme '{other}'; a webhook URL must be http"
            )));
        }
    }
    let Some(host) = parsed.host_str().filter(|h| !h.is_empty()) else {
        return Err(bad(format!("url '{url}' has no host")));
    };
    let port = parsed.port_or_known_default().unwrap_or(80);
    if let Some(me) = self_addr
        && port == me.port()
    {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let ip: Option<IpAddr> = if bare.eq_ignore_ascii_case("localhost") {
            Some(IpAddr::from([127, 0, 0, 1]))
        } else {
            bare.parse().ok()
        };
        if let Some(ip) = ip
            && (ip.is_loopback()
                || ip.is_unspecified()
                || ip == me.ip()
                || me.ip().is_unspecified())
        {
            return Err(bad(format!(
                "url '{url}' points at this server itself ({me}); a notification must go elsewhere"
            )));
        }
    }
    Ok(())
}

/// Turn input into a rule (for an update, `existing` supplies the id, creation time and a
/// secret the input does not mention).
pub(crate) fn validate(
    input: RuleInput,
    existing: Option<&NotificationRule>,
    self_addr: Option<SocketAddr>,
    now: i64,
) -> Result<NotificationRule> {
    let id = match (existing, input.id.as_deref().map(str::trim)) {
        (Some(e), _) => e.id.clone(),
        (None, None | Some("")) => crate::engine::core::new_id(),
        (None, Some(id)) => {
            if id.len() > 64
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                return Err(bad(format!(
                    "id '{id}' must be 1 to 64 characters of letters, digits, '-', '_' or '.'"
                )));
            }
            id.to_owned()
        }
    };
    let name = input.name.as_deref().map(str::trim).unwrap_or("");
    if name.is_empty() {
        return Err(bad("name is required"));
    }
    if name.len() > 200 {
        return Err(bad("name must be at most 200 characters"));
    }
    let condition = match input.condition.as_deref().map(str::trim) {
        None | Some("") => {
            return Err(bad(format!(
                "condition is required: one of {}",
                names().join(", ")
            )));
        }
        Some(c) => ConditionKind::parse(c).ok_or_else(|| {
            bad(format!(
                "Unknown condition '{c}': expected one of {}",
                names().join(", ")
            ))
        })?,
    };
    let (destination, url, event_name) = destination(&input, self_addr)?;
    let (wait_ms, threshold) = timing(condition, &input)?;
    let secret = match input.secret {
        None => existing.and_then(|e| e.secret.clone()),
        Some(s) if s.is_empty() => None,
        Some(s) if s.len() > 256 => return Err(bad("secret must be at most 256 characters")),
        Some(s) => Some(Secret(s)),
    };
    let window_seconds = input.window_seconds.unwrap_or(DEFAULT_WINDOW_SECONDS);
    if window_seconds < 1 {
        return Err(bad(format!(
            "windowSeconds must be at least 1, not {window_seconds}"
        )));
    }
    if window_seconds > MAX_WINDOW_SECONDS {
        return Err(bad(format!(
            "windowSeconds must be at most {MAX_WINDOW_SECONDS} (a week)"
        )));
    }
    Ok(NotificationRule {
        id,
        wait_ms,
        threshold,
        name: name.to_owned(),
        condition,
        incident_type: filter_value("incidentType", &input.incident_type)?,
        process_definition_key: filter_value(
            "processDefinitionKey",
            &input.process_definition_key,
        )?,
        activity_id: filter_value("activityId", &input.activity_id)?,
        topic: filter_value("topic", &input.topic)?,
        destination,
        url,
        secret,
        event_name,
        window_ms: window_seconds * 1000,
        enabled: input.enabled.unwrap_or(true),
        created: existing.map(|e| e.created).unwrap_or(now),
    })
}

/// Where a rule delivers: the destination kind with its URL (webhook) or event name (message,
/// signal).
fn destination(
    input: &RuleInput,
    self_addr: Option<SocketAddr>,
) -> Result<(DestinationKind, Option<String>, Option<String>)> {
    let destination = match input.destination.as_deref().map(str::trim) {
        None | Some("") | Some("webhook") => DestinationKind::Webhook,
        Some("message") => DestinationKind::Message,
        Some("signal") => DestinationKind::Signal,
        Some(other) => {
            return Err(bad(format!(
                "Unknown destination '{other}': expected webhook, message or signal"
            )));
        }
    };
    let (url, event_name) = match destination {
        DestinationKind::Webhook => match input.url.as_deref().map(str::trim) {
            None | Some("") => return Err(bad("url is required for a webhook destination")),
            Some(u) => {
                check_url(u, self_addr)?;
                (Some(u.to_owned()), None)
            }
        },
        DestinationKind::Message => (
            None,
            Some(
                filter_value("messageName", &input.message_name)?
                    .ok_or_else(|| bad("messageName is required for a message destination"))?,
            ),
        ),
        DestinationKind::Signal => (
            None,
            Some(
                filter_value("signalName", &input.signal_name)?
                    .ok_or_else(|| bad("signalName is required for a signal destination"))?,
            ),
        ),
    };
    Ok((destination, url, event_name))
}

/// The wait (ms) and failure-rate threshold a condition needs.
fn timing(condition: ConditionKind, input: &RuleInput) -> Result<(Option<i64>, Option<f64>)> {
    let wait_ms = match (condition, input.wait_seconds) {
        (ConditionKind::TaskWaiting | ConditionKind::UserTaskUnclaimed, None) => {
            return Err(bad(format!(
                "waitSeconds is required for condition {}",
                condition.as_str()
            )));
        }
        (_, Some(w)) if !(1..=MAX_WINDOW_SECONDS * 4).contains(&w) => {
            return Err(bad(format!(
                "waitSeconds must be between 1 and {}, not {w}",
                MAX_WINDOW_SECONDS * 4
            )));
        }
        (_, w) => w.map(|w| w * 1000),
    };
    let threshold = match (condition, input.threshold) {
        (ConditionKind::FailureRate, None) => {
            return Err(bad("threshold is required for condition failureRate"));
        }
        (_, Some(t)) if !(t > 0.0 && t <= 1.0) => {
            return Err(bad(format!(
                "threshold must be above 0 and at most 1 (a rate), not {t}"
            )));
        }
        (_, t) => t,
    };
    Ok((wait_ms, threshold))
}

fn names() -> Vec<&'static str> {
    ConditionKind::ALL.iter().map(|(_, n)| *n).collect()
}

fn not_found(id: &str) -> ProcessEngineError {
    ProcessEngineError::NotFound(format!("Notification rule with id {id} does not exist"))
}

impl ProcessEngine {
    /// Every notification rule, by name then id.
    pub async fn notification_rules(&self) -> Result<Vec<NotificationRule>> {
        let mut all: Vec<NotificationRule> = self.inner.store.notification_rules()?;
        all.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        Ok(all)
    }

    /// One notification rule.
    pub async fn notification_rule(&self, id: &str) -> Result<NotificationRule> {
        self.inner
            .store
            .notification_rule(id)?
            .ok_or_else(|| not_found(id))
    }

    /// Create a rule (400 when invalid or when the id exists).
    pub async fn create_notification_rule(&self, input: RuleInput) -> Result<NotificationRule> {
        let rule = validate(input, None, self.self_address(), self.now())?;
        if self
            .inner
            .store
            .notification_rule::<NotificationRule>(&rule.id)?
            .is_some()
        {
            return Err(bad(format!(
                "Notification rule with id {} already exists",
                rule.id
            )));
        }
        if self.inner.store.count_notification_rules()? >= MAX_RULES {
            return Err(bad(format!("at most {MAX_RULES} notification rules")));
        }
        self.store_rule(&rule).await?;
        Ok(rule)
    }

    /// Replace a rule (the secret is kept unless the input sets or clears it).
    pub async fn update_notification_rule(
        &self,
        id: &str,
        input: RuleInput,
    ) -> Result<NotificationRule> {
        let existing = self.notification_rule(id).await?;
        let rule = validate(input, Some(&existing), self.self_address(), self.now())?;
        self.store_rule(&rule).await?;
        Ok(rule)
    }

    /// Create or replace a rule by id (rules from the config file on every start).
    pub async fn upsert_notification_rule(&self, input: RuleInput) -> Result<NotificationRule> {
        let id = input.id.clone().unwrap_or_default();
        if id.trim().is_empty() {
            return Err(bad("a notification rule from the config file needs an id"));
        }
        match self.notification_rule(id.trim()).await {
            Ok(_) => self.update_notification_rule(id.trim(), input).await,
            Err(ProcessEngineError::NotFound(_)) => self.create_notification_rule(input).await,
            Err(e) => Err(e),
        }
    }

    /// Delete a rule.
    pub async fn delete_notification_rule(&self, id: &str) -> Result<()> {
        self.notification_rule(id).await?;
        let mut ws = WriteSet::new();
        self.inner
            .store
            .stage_notification_rule_removal(&mut ws, id);
        self.inner.store.commit_durable(&ws).await?;
        self.reload_rules()?;
        Ok(())
    }

    async fn store_rule(&self, rule: &NotificationRule) -> Result<()> {
        let mut ws = WriteSet::new();
        self.inner
            .store
            .stage_notification_rule(&mut ws, &rule.id, rule);
        self.inner.store.commit_durable(&ws).await?;
        self.reload_rules()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(url: &str) -> RuleInput {
        RuleInput {
            name: Some("ops".into()),
            condition: Some("incidentCreated".into()),
            url: Some(url.into()),
            ..RuleInput::default()
        }
    }

    #[test]
    fn refuses_bad_rules_with_clear_messages() {
        let me: SocketAddr = "127.0.0.1:8080".parse().expect("addr");
        let err = |i: RuleInput| {
            validate(i, None, Some(me), 0)
                .expect_err("refused")
                .to_string()
        };
        let mut unknown = input("http://hooks.example/x");
        unknown.condition = Some("sunIsDown".into());
        assert!(err(unknown).starts_with("Unknown condition 'sunIsDown'"));
        assert!(err(input("not a url")).contains("not a valid absolute URL"));
        assert!(err(input("ftp://x/y")).contains("must be http"));
        let mut zero = input("http://hooks.example/x");
        zero.window_seconds = Some(0);
        assert!(err(zero).contains("windowSeconds must be at least 1"));
        for own in [
            "http://127.0.0.1:8080/hook",
            "http://localhost:8080/",
            "http://[::1]:8080/",
            "http://0.0.0.0:8080/",
        ] {
            assert!(
                err(input(own)).contains("points at this server itself"),
                "{own}"
            );
        }
        // Another port on the same machine is someone else.
        assert!(validate(input("http://127.0.0.1:9999/"), None, Some(me), 0).is_ok());
    }

    #[test]
    fn time_based_conditions_need_their_settings() {
        let err = |i: RuleInput| validate(i, None, None, 0).expect_err("refused").to_string();
        let mut waiting = input("http://hooks.example/x");
        waiting.condition = Some("taskWaiting".into());
        assert!(err(waiting.clone()).contains("waitSeconds is required"));
        waiting.wait_seconds = Some(0);
        assert!(err(waiting.clone()).contains("waitSeconds must be between 1"));
        waiting.wait_seconds = Some(600);
        assert_eq!(
            validate(waiting, None, None, 0).expect("valid").wait_ms,
            Some(600_000)
        );
        let mut rate = input("http://hooks.example/x");
        rate.condition = Some("failureRate".into());
        assert!(err(rate.clone()).contains("threshold is required"));
        for bad_rate in [0.0, -1.0, 1.5, f64::NAN] {
            rate.threshold = Some(bad_rate);
            assert!(err(rate.clone()).contains("threshold must be above 0"));
        }
        let mut message = input("");
        message.destination = Some("message".into());
        assert!(err(message.clone()).contains("messageName is required"));
        message.destination = Some("pager".into());
        assert!(err(message).starts_with("Unknown destination 'pager'"));
    }

    #[test]
    fn secret_never_prints() {
        let mut i = input("http://hooks.example/x");
        i.secret = Some("hunter2".into());
        let rule = validate(i, None, None, 0).expect("valid");
        assert!(!format!("{rule:?}").contains("hunter2"));
        assert!(rule.has_secret());
    }
}
