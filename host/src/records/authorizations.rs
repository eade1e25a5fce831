//! The stored authorization: Camunda 7's `ACT_RU_AUTHORIZATION` row (who may do what on which
//! resource). Evaluation lives in `engine::authorizations`; this module only holds the data.

use serde::{Deserialize, Serialize};

/// One Camunda authorization: a global, grant or revoke entry for a user, a group or everyone,
/// on one resource type and one resource id (or `*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Authorization {
    /// Authorization id (UUID).
    pub id: String,
    /// `0` global (every user), `1` grant, `2` revoke (Camunda's `AUTH_TYPE_*`).
    pub auth_type: i32,
    /// Permission bits: for global and grant entries the granted ones, for revoke entries the
    /// revoked ones (Camunda stores the complement; the REST shape lists the revoked names).
    pub permissions: u32,
    /// The user it applies to (`*` for global entries).
    pub user_id: Option<String>,
    /// The group it applies to.
    pub group_id: Option<String>,
    /// Camunda's integer resource type (process definition 6, ...; baton's own from 100).
    pub resource_type: i32,
    /// The resource id, or `*` for every resource of the type.
    pub resource_id: String,
}
