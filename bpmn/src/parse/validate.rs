//! Semantic validation of a parsed model.
use super::Problem;
use crate::model::Definitions;

pub(super) fn validate(_defs: &Definitions) -> Vec<Problem> {
    Vec::new()
}
