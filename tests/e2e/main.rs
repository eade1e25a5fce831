//! baton's end-to-end tests: one test binary, one module per area (wasmtime's `tests/all`
//! layout). They run the real engine on real sled stores in temporary directories, the real
//! HTTP server on `127.0.0.1:0`, the real `baton` binary where a process is needed (CLI, crash
//! test), and real wasm components built from `guests/` by `tests/build.rs`. Time comes from a
//! manual clock wherever behaviour depends on it.

mod api_authorizations;
mod api_batches;
mod api_client_limits;
mod api_comments;
mod api_coverage;
mod api_decisions;
mod api_definition_extras;
mod api_execution_messages;
mod api_filters;
mod api_flow;
mod api_history_cleanup;
mod api_history_level;
mod api_history_logs;
mod api_history_ops;
mod api_history_removal;
mod api_history_reports;
mod api_history_tasks;
mod api_identity;
mod api_instance_batches;
mod api_jobs;
mod api_limits;
mod api_message_subscriptions;
mod api_migration;
mod api_ops;
mod api_queries;
mod api_rest;
mod api_restart;
mod api_scripts;
mod api_standalone_tasks;
mod api_start_forms;
mod api_task_links;
mod api_tenants;
mod api_usage_metrics;
mod api_variable_instances;
mod api_wasm;
mod bpmn_semantics;
mod cli;
mod cockpit_ops;
mod engine_chaos;
mod engine_cluster;
mod engine_crash;
mod engine_deployments;
mod engine_disk;
mod engine_durability;
mod engine_executor;
mod engine_external;
mod engine_history;
mod engine_incidents;
mod engine_jobs;
mod engine_messages;
mod engine_task_listeners;
mod engine_user_tasks;
mod notifications;
mod wasm_hostile;
mod wasm_runtime;
mod wasm_scripts;
mod wasm_tasks;
