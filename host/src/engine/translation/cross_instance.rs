//! Effects that reach beyond this instance: signals broadcast, call activities started,
//! children cancelled, errors thrown to the caller (outbox entries performed after commit),
//! and uncaught errors reported to failure notifications.

use super::Translation;
use crate::engine::Result;
use crate::engine::executor::{AfterCommit, OutboxEntry};
use crate::store::{OutboxStore, WriteSet};
use baton_bpmn::Variables;
use baton_bpmn::engine::{CallBinding, Effect};

impl Translation<'_> {
    /// Stage the outbox entry (or notification) of a cross-instance effect.
    pub(super) fn cross_instance(
        &mut self,
        effect: &Effect,
        ws: &mut WriteSet,
        after: &mut AfterCommit,
    ) -> Result<()> {
        match effect {
            Effect::BroadcastSignal {
                signal_name,
                variables,
            } => self.outbox(
                ws,
                after,
                OutboxEntry::Signal {
                    name: signal_name.clone(),
                    variables: variables.clone(),
                },
            )?,
            Effect::StartCallActivity {
                activity_instance_id,
                child_instance_id,
                process_key,
                binding,
                business_key,
                variables,
            } => self.start_call_activity(
                activity_instance_id,
                child_instance_id,
                process_key,
                binding,
                business_key,
                variables,
                ws,
                after,
            )?,
            Effect::UncaughtError {
                activity_id,
                code,
                message,
            } => {
                crate::engine::notifications::stage_uncaught_error(
                    &self.engine.inner.store,
                    ws,
                    self.record,
                    activity_id,
                    code,
                    message.as_deref(),
                    self.now,
                );
                after.notify = true;
            }
            Effect::CancelChildInstance { child_instance_id } => self.outbox(
                ws,
                after,
                OutboxEntry::CancelChild {
                    child_instance_id: child_instance_id.clone(),
                },
            )?,
            Effect::ThrowToCaller {
                caller,
                kind,
                code,
                message,
            } => self.outbox(
                ws,
                after,
                OutboxEntry::ThrowToCaller {
                    parent_instance_id: caller.process_instance_id.clone(),
                    activity_instance_id: caller.activity_instance_id.clone(),
                    child_instance_id: self.record.state.id.clone(),
                    kind: *kind,
                    code: code.clone(),
                    message: message.clone(),
                },
            )?,
            _ => {}
        }
        Ok(())
    }

    // One parameter per field of the effect: a struct would only re-pack the effect.
    #[allow(clippy::too_many_arguments)]
    fn start_call_activity(
        &mut self,
        activity_instance_id: &str,
        child_instance_id: &str,
        process_key: &str,
        binding: &CallBinding,
        business_key: &Option<String>,
        variables: &Variables,
        ws: &mut WriteSet,
        after: &mut AfterCommit,
    ) -> Result<()> {
        let activity_id = self
            .record
            .state
            .activity_instances
            .get(activity_instance_id)
            .map(|ai| ai.activity_id.clone())
            .unwrap_or_default();
        self.outbox(
            ws,
            after,
            OutboxEntry::StartChild {
                parent_instance_id: self.instance_id().to_owned(),
                parent_definition_id: self.deployed.record.id.clone(),
                activity_instance_id: activity_instance_id.to_owned(),
                activity_id,
                child_instance_id: child_instance_id.to_owned(),
                process_key: process_key.to_owned(),
                binding: binding.clone(),
                business_key: business_key.clone(),
                variables: variables.clone(),
                tenant_id: self.record.tenant_id.clone(),
            },
        )?;
        Ok(())
    }

    pub(super) fn outbox(
        &mut self,
        ws: &mut WriteSet,
        after: &mut AfterCommit,
        entry: OutboxEntry,
    ) -> Result<()> {
        let seq = self.engine.inner.store.stage_outbox_entry(ws, &entry)?;
        after.outbox.push(seq);
        Ok(())
    }
}
