//! [`AuthorizationStore`]: Camunda authorizations, kept durably beside users and groups.

use super::{Result, WriteSet};
use crate::records::Authorization;

/// Authorizations by id. There are few (one per user, group and resource an administrator
/// configured), so the engine reads them all and keeps them in memory between changes.
pub trait AuthorizationStore {
    /// Every authorization.
    fn authorizations(&self) -> Result<Vec<Authorization>>;

    /// One authorization, or `None`.
    fn authorization(&self, id: &str) -> Result<Option<Authorization>>;

    /// Stage writing an authorization (new or changed).
    fn stage_authorization(&self, ws: &mut WriteSet, authorization: &Authorization);

    /// Stage removing an authorization.
    fn stage_authorization_removal(&self, ws: &mut WriteSet, id: &str);
}
