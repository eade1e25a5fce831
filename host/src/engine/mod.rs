//! The process engine service: everything the REST API, the CLI and the tests can ask of
//! baton. It owns the executor (commands applied to instances through the pure
//! `baton_bpmn::StateMachine`, committed to the store with their effects, effects performed after
//! commit), the job/timer scheduler, long-poll waiters, wasm dispatch and the event stream.
//!
//! One room per area, each an `impl ProcessEngine` block holding the public operations of
//! that area next to their logic (no forwarding layer):
//!
//! | room                | owns                                                          |
//! |---------------------|---------------------------------------------------------------|
//! | `core`              | configuration, shared state, open/recover, shutdown, locks    |
//! | `deployments`       | deploy (duplicate filtering, versions), deployment reads      |
//! | `definitions`       | definition reads, the parsed-definition cache, suspension     |
//! | `definition_extras` | diagram image, history time to live, static called defs, forms|
//! | `statistics`        | per-definition and per-activity runtime counts (heatmap)      |
//! | `instances`         | start, read, cancel, suspend, modify variables                |
//! | `external_tasks`    | fetch-and-lock, complete, failure, BPMN error, locks, retries |
//! | `user_tasks`        | claim, assign, complete, task variables                       |
//! | `task_links`        | delegate/resolve, identity links (assignee, owner, candidates)|
//! | `correlation`       | messages and signals                                          |
//! | `triggers`          | signalling an execution, conditional start events             |
//! | `incidents`         | read, resolve, annotate, raise                                |
//! | `history`           | historic reads, the user operation log                        |
//! | `history_cleanup`   | removing expired history in batches, the batch window loop    |
//! | `history_ops`       | deleting historic variables, annotating user operations       |
//! | `jobs`              | the job/timer scheduler, `tick`, recovery on open             |
//! | `management`        | jobs and job definitions for operators: retries, due dates,   |
//! |                     | execute now, suspension, priorities, deletion                 |
//! | `identity`          | users, groups, authentication                                 |
//! | `variable_instances`| running variables by scope, with their history ids            |
//! | `modification`      | process instance modification (start/cancel tokens)           |
//! | `migration`         | migration plans (generate, validate) and moving instances      |
//! | `batches`           | batches: creation, the background runner, suspension, history |
//! | `wasm_tasks`        | task modules and in-engine execution of wasm tasks            |
//! | `events`            | the live event stream and metrics                             |
//! | `usage_metrics`     | Camunda's `/metrics` counters: in memory, flushed per minute  |
//! | `notifications`     | failure notification rules, their outbox and webhook delivery |
//! | `executor`          | command → state machine → one commit → after-commit effects   |
//! | `scripts`           | the script runner and parse options (resources, syntax check) |
//! | `decisions`         | DMN: deployed decisions, the resolver, evaluation, history    |
//!
//! Concurrency: commands on different instances run concurrently; commands on one instance are
//! serialized by a per-instance async lock. Every mutating call returns only after its writes
//! are durable (group commit), unless durability was relaxed in the configuration.

mod types;

pub use decisions::DeployedDecisions;
pub use types::*;

use std::sync::Arc;

pub mod authorizations;
pub mod batches;
mod core;
mod correlation;
mod decision_cleanup;
pub(crate) mod decisions;
mod definition_extras;
mod definitions;
mod deployments;
mod events;
mod executor;
mod external_tasks;
#[cfg(test)]
mod hand_off_tests;
mod history;
pub mod history_cleanup;
mod history_level;
mod history_ops;
mod identity;
mod incidents;
mod instances;
mod jobs;
pub(crate) mod management;
mod migration;
mod modification;
pub mod notifications;
mod parked;
mod passwords;
mod restart;
mod scripts;
mod standalone_tasks;
pub mod statistics;
mod task_links;
mod tasklist;
mod tenants;
#[cfg(test)]
mod tests;
mod translation;
mod triggers;
pub mod usage_metrics;
mod user_tasks;
mod variable_instances;
mod wasm_tasks;

pub use self::core::{Database, EngineConfig};
pub use self::definition_extras::StartForm;
pub use self::events::{
    EVENT_JOURNAL_SIZE, EngineEvent, EventReplay, LATENCY_BUCKETS, LatencySnapshot,
};
pub use self::history_level::HistoryLevel;
pub use self::management::{JobDefinition, JobSelector, JobView};
pub use self::migration::{
    ActivityInstanceReport, InstructionReport, MigrationError, MigrationInstruction, MigrationPlan,
};
pub use self::modification::ModificationRequest;
pub use self::notifications::NotificationConfig;
pub use self::restart::{MAX_RESTART_INSTANCES, RestartBatch, RestartRequest};
pub use self::standalone_tasks::NewTask;
pub use self::task_links::{LinkTarget, TaskIdentityLink, TaskUpdate};
pub use self::tasklist::{CommentOwner, NewAttachment};
pub use self::tenants::TenantMember;
pub use self::triggers::{ConditionRequest, EventSubscriptionView};
pub use self::variable_instances::VariableInstanceView;
pub use crate::store::{Accept, HistoricInstanceLookup, InstanceLookup, TaskLookup};

/// The process engine. Cheap to clone (an `Arc` of its shared state inside). Its operations
/// are defined in the room of their area (see the module documentation).
#[derive(Clone)]
pub struct ProcessEngine {
    inner: Arc<core::Inner>,
}
