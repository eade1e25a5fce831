
mod wasm_runtime;
mod api_rest;
mod api_flow;
mod wasm_tasks;
mod engine_crash;
mod engine_deployments;
mod engine_durability;
mod engine_executor;
mod engine_external;
mod engine_history;
mod engine_incidents;
mod engine_jobs;
mod engine_messages;
mod engine_store;
mod engine_user_tasks;
mod cli;
