//! [`IdentityStore`] on sled: `Users` and `Groups` by id.

use super::{Result, Store, Tree, WriteSet};
use crate::records::{Group, User};
use crate::store::IdentityStore;

impl IdentityStore for Store {
    fn user(&self, id: &str) -> Result<Option<User>> {
        self.get(Tree::Users, id.as_bytes())
    }

    fn users(&self) -> Result<Vec<User>> {
        self.scan(Tree::Users, b"")
    }

    fn has_users(&self) -> Result<bool> {
        Ok(self.count(Tree::Users)? > 0)
    }

    fn stage_user(&self, ws: &mut WriteSet, user: &User) {
        ws.put(Tree::Users, user.id.as_bytes().to_vec(), user);
    }

    fn stage_user_removal(&self, ws: &mut WriteSet, id: &str) {
        ws.delete(Tree::Users, id.as_bytes().to_vec());
    }

    fn group(&self, id: &str) -> Result<Option<Group>> {
        self.get(Tree::Groups, id.as_bytes())
    }

    fn groups(&self) -> Result<Vec<Group>> {
        self.scan(Tree::Groups, b"")
    }

    fn stage_group(&self, ws: &mut WriteSet, group: &Group) {
        ws.put(Tree::Groups, group.id.as_bytes().to_vec(), group);
    }

    fn stage_group_removal(&self, ws: &mut WriteSet, id: &str) {
        ws.delete(Tree::Groups, id.as_bytes().to_vec());
    }
}
