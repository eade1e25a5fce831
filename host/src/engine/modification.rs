//! Process instance modification for operators (`POST /process-instance/{id}/modification`):
//! the instructions run as one `Command::Modify` on the instance (the state machine moves the
//! tokens, the translation creates and removes their tasks, jobs, timers and subscriptions and
//! writes their history), with a `ModifyProcessInstance` entry in the user operation log in
//! the same commit.

use super::executor::AfterCommit;
use super::{ProcessEngine, ProcessEngineError, Result};
use crate::store::WriteSet;
use baton_bpmn::engine::{Command, ModificationInstruction};

/// A modification as Camunda's `ProcessInstanceModificationDto` carries it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModificationRequest {
    /// The instructions, run in order.
    pub instructions: Vec<ModificationInstruction>,
    /// `skipCustomListeners`: execution listeners do not fire.
    pub skip_custom_listeners: bool,
    /// `skipIoMappings`: input/output mappings are not applied.
    pub skip_io_mappings: bool,
    /// `annotation`: kept with the user operation log entry.
    pub annotation: Option<String>,
}

impl ProcessEngine {
    /// Modify a running instance. No instructions: nothing happens (as in Camunda's REST
    /// resource). An unknown instance is Camunda's `ENGINE-13036` (500).
    pub async fn modify_instance(&self, id: &str, request: ModificationRequest) -> Result<()> {
        self.modify_instance_with(id, request, WriteSet::new())
            .await
    }

    /// [`ProcessEngine::modify_instance`], committing `extra` with the modification (a
    /// batch's progress, so an invocation and its record commit together, exactly once).
    pub(crate) async fn modify_instance_with(
        &self,
        id: &str,
        request: ModificationRequest,
        extra: WriteSet,
    ) -> Result<()> {
        if request.instructions.is_empty() {
            return Ok(());
        }
        let mut log = extra;
        self.user_operation(
            &mut log,
            "ModifyProcessInstance",
            "ProcessInstance",
            id,
            Some(id),
            request.annotation,
        );
        let command = Command::Modify {
            instructions: request.instructions,
            skip_custom_listeners: request.skip_custom_listeners,
            skip_io_mappings: request.skip_io_mappings,
        };
        self.run_command(id, command, log, AfterCommit::default())
            .await
            .map(|_| ())
            .map_err(|e| match e {
                ProcessEngineError::NotFound(_) => ProcessEngineError::Engine(format!(
                    "ENGINE-13036 Process instance '{id}' cannot be modified. The process instance does not exist"
                )),
                other => other,
            })
    }
}
