//! Tenants (Camunda's `/tenant`: create, update, delete, user and group memberships) and the
//! identity changes beyond creation: group update and delete, membership removal, profile
//! and password changes.

use super::{ProcessEngine, ProcessEngineError, Result};
use crate::records::{Group, User};
use crate::store::tenants::Tenant;
use crate::store::{IdentityStore, TenantStore, WriteSet};

fn no_tenant(id: &str) -> ProcessEngineError {
    ProcessEngineError::NotFound(format!("Tenant with id {id} does not exist"))
}

fn no_user(id: &str) -> ProcessEngineError {
    ProcessEngineError::NotFound(format!("User with id {id} does not exist"))
}

fn no_group(id: &str) -> ProcessEngineError {
    ProcessEngineError::NotFound(format!("Group with id {id} does not exist"))
}

/// A tenant membership to add or remove.
#[derive(Debug, Clone, Copy)]
pub enum TenantMember<'a> {
    /// A user (by id).
    User(&'a str),
    /// A group (by id).
    Group(&'a str),
}

impl ProcessEngine {
    /// Every tenant, in id order.
    pub async fn tenants(&self) -> Result<Vec<Tenant>> {
        Ok(self.inner.store.tenants()?)
    }

    /// One tenant.
    pub async fn tenant(&self, id: &str) -> Result<Tenant> {
        self.inner.store.tenant(id)?.ok_or_else(|| no_tenant(id))
    }

    /// Create a tenant (Camunda refuses an id that exists).
    pub async fn create_tenant(&self, id: &str, name: Option<String>) -> Result<()> {
        if id.is_empty() || id.contains('\0') {
            return Err(ProcessEngineError::BadRequest(
                "Cannot create tenant: id is null".into(),
            ));
        }
        if self.inner.store.tenant(id)?.is_some() {
            // Camunda's insert fails on the duplicate key (500 ProcessEngineException).
            return Err(ProcessEngineError::Engine(format!(
                "Cannot create tenant: a tenant with id {id} exists"
            )));
        }
        self.write_tenant(&Tenant {
            id: id.to_owned(),
            name,
            user_ids: Vec::new(),
            group_ids: Vec::new(),
        })
        .await
    }

    /// Rename a tenant.
    pub async fn update_tenant(&self, id: &str, name: Option<String>) -> Result<()> {
        let mut tenant = self.tenant(id).await?;
        tenant.name = name;
        self.write_tenant(&tenant).await
    }

    /// Delete a tenant (nothing happens for an unknown id, as in Camunda).
    pub async fn delete_tenant(&self, id: &str) -> Result<()> {
        let mut ws = WriteSet::new();
        self.inner.store.stage_tenant_removal(&mut ws, id);
        self.inner.store.commit_durable(&ws).await?;
        Ok(())
    }

    /// Add (`add`) or remove a tenant membership. Adding needs the tenant and the member
    /// to exist; removing an absent membership changes nothing.
    pub async fn tenant_membership(
        &self,
        id: &str,
        member: TenantMember<'_>,
        add: bool,
    ) -> Result<()> {
        let mut tenant = self.tenant(id).await?;
        let (list, member_id) = match member {
            TenantMember::User(u) => {
                if add && self.inner.store.user(u)?.is_none() {
                    return Err(no_user(u));
                }
                (&mut tenant.user_ids, u)
            }
            TenantMember::Group(g) => {
                if add && self.inner.store.group(g)?.is_none() {
                    return Err(no_group(g));
                }
                (&mut tenant.group_ids, g)
            }
        };
        let present = list.iter().any(|m| m == member_id);
        match (add, present) {
            (true, false) => list.push(member_id.to_owned()),
            (false, true) => list.retain(|m| m != member_id),
            _ => return Ok(()),
        }
        self.write_tenant(&tenant).await
    }

    async fn write_tenant(&self, tenant: &Tenant) -> Result<()> {
        let mut ws = WriteSet::new();
        self.inner.store.stage_tenant(&mut ws, tenant);
        self.inner.store.commit_durable(&ws).await?;
        Ok(())
    }

    /// Replace a group's name and type (`PUT /group/{id}`).
    pub async fn update_group(
        &self,
        id: &str,
        name: Option<String>,
        group_type: Option<String>,
    ) -> Result<()> {
        if self.inner.store.group(id)?.is_none() {
            return Err(no_group(id));
        }
        self.create_group(Group {
            id: id.to_owned(),
            name,
            group_type,
        })
        .await
    }

    /// Delete a group with its memberships (nothing happens for an unknown id, as in
    /// Camunda). Loops over every user: the identity store holds few.
    pub async fn delete_group(&self, id: &str) -> Result<()> {
        let store = &self.inner.store;
        let mut ws = WriteSet::new();
        for mut user in store.users()? {
            if user.groups.iter().any(|g| g == id) {
                user.groups.retain(|g| g != id);
                store.stage_user(&mut ws, &user);
            }
        }
        for mut tenant in store.tenants()? {
            if tenant.group_ids.iter().any(|g| g == id) {
                tenant.group_ids.retain(|g| g != id);
                store.stage_tenant(&mut ws, &tenant);
            }
        }
        store.stage_group_removal(&mut ws, id);
        store.commit_durable(&ws).await?;
        Ok(())
    }

    /// Remove a user from a group (nothing happens when they are not a member).
    pub async fn remove_group_member(&self, group_id: &str, user_id: &str) -> Result<()> {
        let Some(mut user) = self.inner.store.user(user_id)? else {
            return Ok(());
        };
        if !user.groups.iter().any(|g| g == group_id) {
            return Ok(());
        }
        user.groups.retain(|g| g != group_id);
        let mut ws = WriteSet::new();
        self.inner.store.stage_user(&mut ws, &user);
        self.inner.store.commit_durable(&ws).await?;
        Ok(())
    }

    /// Replace a user's profile (names and email; the id stays).
    pub async fn update_user_profile(&self, id: &str, profile: User) -> Result<()> {
        let mut user = self.inner.store.user(id)?.ok_or_else(|| no_user(id))?;
        user.first_name = profile.first_name;
        user.last_name = profile.last_name;
        user.email = profile.email;
        let mut ws = WriteSet::new();
        self.inner.store.stage_user(&mut ws, &user);
        self.inner.store.commit_durable(&ws).await?;
        Ok(())
    }

    /// Set a user's password (hashed with Argon2id).
    pub async fn update_user_password(&self, id: &str, password: String) -> Result<()> {
        let user = self.inner.store.user(id)?.ok_or_else(|| no_user(id))?;
        self.create_user(user, Some(password)).await
    }
}
