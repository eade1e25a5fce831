//! `POST /process-instance/{id}/modification`: Camunda's `ProcessInstanceModificationDto`
//! (`instructions` of type `startBeforeActivity`, `startAfterActivity`, `startTransition`,
//! `cancel`; `skipCustomListeners`, `skipIoMappings`, `annotation`) read into
//! [`ModificationRequest`], with the REST layer's own checks and texts
//! (`For instruction type 'cancel': ...`). The engine room `modification` does the rest.

use axum::extract::{Path, State};
use axum::response::Response;
use baton_bpmn::Variables;
use baton_bpmn::engine::{CancelTarget, ModificationInstruction, StartTarget};
use serde_json::{Map, Value as J};

use super::error::{ApiError, ApiResult};
use super::json::{Json, no_content};
use super::variables::decode_value;
use super::{ApiState, Route};
use crate::engine::ModificationRequest;

/// More instructions than this in one request are refused (each one walks the instance).
pub const MAX_INSTRUCTIONS: usize = 1000;

pub(crate) fn routes() -> Vec<Route> {
    vec![Route::post(
        "/process-instance/{id}/modification",
        "Modify a process instance (start and cancel tokens)",
        modify,
    )]
}

async fn modify(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(body): Json<J>,
) -> ApiResult<Response> {
    let request = parse_request(&body)?;
    state.engine.modify_instance(&id, request).await?;
    Ok(no_content())
}

/// Read a `ProcessInstanceModificationDto` body.
pub(crate) fn parse_request(body: &J) -> ApiResult<ModificationRequest> {
    let empty = Map::new();
    let obj = match body {
        J::Object(o) => o,
        J::Null => &empty,
        _ => return Err(ApiError::invalid("The request body must be a JSON object")),
    };
    let flag = |name: &str| -> ApiResult<bool> {
        match obj.get(name) {
            None | Some(J::Null) => Ok(false),
            Some(J::Bool(b)) => Ok(*b),
            Some(other) => Err(ApiError::invalid(format!(
                "Cannot deserialize value of type `boolean` from {other} for '{name}'"
            ))),
        }
    };
    let instructions = match obj.get("instructions") {
        None | Some(J::Null) => Vec::new(),
        Some(J::Array(items)) => {
            if items.len() > MAX_INSTRUCTIONS {
                return Err(ApiError::invalid(format!(
                    "At most {MAX_INSTRUCTIONS} instructions per modification"
                )));
            }
            items
                .iter()
                .map(parse_instruction)
                .collect::<ApiResult<_>>()?
        }
        Some(_) => return Err(ApiError::invalid("'instructions' must be a JSON array")),
    };
    Ok(ModificationRequest {
        instructions,
        skip_custom_listeners: flag("skipCustomListeners")?,
        skip_io_mappings: flag("skipIoMappings")?,
        annotation: obj.get("annotation").and_then(J::as_str).map(str::to_owned),
    })
}

const KNOWN_TYPES: &str = "[cancel, startAfterActivity, startBeforeActivity, startTransition]";

/// One instruction, checked as Camunda's instruction DTOs check it.
fn parse_instruction(item: &J) -> ApiResult<ModificationInstruction> {
    let field = |name: &str| item.get(name).and_then(J::as_str).map(str::to_owned);
    let Some(kind) = field("type") else {
        return Err(ApiError::invalid(format!(
            "Missing type id when trying to resolve subtype of ProcessInstanceModificationInstructionDto: missing type id property 'type' (known type ids = {KNOWN_TYPES})"
        )));
    };
    let fail = |m: &str| ApiError::invalid(format!("For instruction type '{kind}': {m}"));
    let activity_id = field("activityId");
    let ancestor = field("ancestorActivityInstanceId");
    let start = |target: StartTarget| -> ApiResult<ModificationInstruction> {
        let (variables, local_variables) = parse_variables(item.get("variables"), &kind)?;
        Ok(ModificationInstruction::Start {
            target,
            ancestor_activity_instance_id: ancestor.clone(),
            variables,
            local_variables,
        })
    };
    match kind.as_str() {
        "startBeforeActivity" => match activity_id {
            Some(a) => start(StartTarget::BeforeActivity(a)),
            None => Err(fail("'activityId' must be set")),
        },
        "startAfterActivity" => match activity_id {
            Some(a) => start(StartTarget::AfterActivity(a)),
            None => Err(fail("'activityId' must be set")),
        },
        "startTransition" => match field("transitionId") {
            Some(t) => start(StartTarget::Transition(t)),
            None => Err(fail("'transitionId' must be set")),
        },
        "cancel" => {
            let targets = [
                activity_id.map(CancelTarget::Activity),
                field("activityInstanceId").map(CancelTarget::ActivityInstance),
                field("transitionInstanceId").map(CancelTarget::TransitionInstance),
            ];
            let mut set = targets.into_iter().flatten();
            match (set.next(), set.next()) {
                (Some(t), None) => Ok(ModificationInstruction::Cancel(t)),
                _ => Err(fail(
                    "exactly one, 'activityId', 'activityInstanceId', or 'transitionInstanceId', is required",
                )),
            }
        }
        other => Err(ApiError::invalid(format!(
            "Could not resolve type id '{other}' as a subtype of ProcessInstanceModificationInstructionDto: known type ids = {KNOWN_TYPES}"
        ))),
    }
}

/// `variables` of an instruction: typed values with `local` (Camunda's
/// `TriggerVariableValueDto`), split into non-local and local ones.
fn parse_variables(map: Option<&J>, kind: &str) -> ApiResult<(Variables, Variables)> {
    let mut variables = Variables::new();
    let mut local = Variables::new();
    let obj = match map {
        None | Some(J::Null) => return Ok((variables, local)),
        Some(J::Object(o)) => o,
        Some(_) => {
            return Err(ApiError::invalid(format!(
                "For instruction type '{kind}': 'variables' must be a JSON object"
            )));
        }
    };
    for (name, dto) in obj {
        let value = decode_value(dto).map_err(|m| {
            ApiError::invalid(format!(
                "Cannot set variable '{name}' of instruction type '{kind}': {m}"
            ))
        })?;
        if dto.get("local").and_then(J::as_bool).unwrap_or(false) {
            local.insert(name.clone(), value);
        } else {
            variables.insert(name.clone(), value);
        }
    }
    Ok((variables, local))
}
