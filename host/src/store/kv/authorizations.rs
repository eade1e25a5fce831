//! [`AuthorizationStore`] on sled: `Authorizations` by id.

use super::{Result, Store, Tree, WriteSet};
use crate::records::Authorization;
use crate::store::AuthorizationStore;

impl AuthorizationStore for Store {
    fn authorizations(&self) -> Result<Vec<Authorization>> {
        self.scan(Tree::Authorizations, b"")
    }

    fn authorization(&self, id: &str) -> Result<Option<Authorization>> {
        self.get(Tree::Authorizations, id.as_bytes())
    }

    fn stage_authorization(&self, ws: &mut WriteSet, authorization: &Authorization) {
        ws.put(
            Tree::Authorizations,
            authorization.id.as_bytes().to_vec(),
            authorization,
        );
    }

    fn stage_authorization_removal(&self, ws: &mut WriteSet, id: &str) {
        ws.delete(Tree::Authorizations, id.as_bytes().to_vec());
    }
}
