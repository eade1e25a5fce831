//! The store's record codec reading a damaged record (a torn write, a flipped bit, a record
//! from another release): every record type must decode to a value or a `StoreError`.
#![no_main]

use baton::records::*;
use baton::store::codec::decode;
use baton_bpmn::InstanceState;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = decode::<Deployment>("deployments", data);
    let _ = decode::<ProcessDefinition>("definitions", data);
    let _ = decode::<ProcessInstance>("instances", data);
    let _ = decode::<InstanceState>("instance_state", data);
    let _ = decode::<ExternalTask>("external_tasks", data);
    let _ = decode::<UserTask>("user_tasks", data);
    let _ = decode::<Incident>("incidents", data);
    let _ = decode::<Job>("jobs", data);
    let _ = decode::<EventSubscription>("subscriptions", data);
    let _ = decode::<HistoricProcessInstance>("hist_instances", data);
    let _ = decode::<HistoricActivityInstance>("hist_activities", data);
    let _ = decode::<HistoricVariableInstance>("hist_variables", data);
    let _ = decode::<UserOperation>("user_operations", data);
    let _ = decode::<User>("users", data);
    let _ = decode::<Group>("groups", data);
    let _ = decode::<TaskModule>("modules", data);
});
