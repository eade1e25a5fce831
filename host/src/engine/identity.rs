//! Identity: users (Argon2id password hashes, see [`super::passwords`]), groups, memberships,
//! authentication.

use super::passwords::{self, Verdict};
use super::{ProcessEngine, ProcessEngineError, Result};
use crate::records::{Group, User};
use crate::store::{IdentityStore, WriteSet};

/// Argon2 is CPU-heavy by design: it runs on the blocking pool, never on the async runtime.
async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || passwords::hash(&password))
        .await
        .map_err(|e| ProcessEngineError::Engine(format!("password hashing failed: {e}")))?
        .map_err(ProcessEngineError::Engine)
}

impl ProcessEngine {
    /// Create or replace a user (password hashed before storing).
    pub async fn create_user(&self, mut user: User, password: Option<String>) -> Result<()> {
        if user.id.is_empty() || user.id.contains('\0') {
            return Err(ProcessEngineError::BadRequest(
                "user id must be a non-empty name".into(),
            ));
        }
        if let Some(pw) = password {
            user.password_hash = Some(hash_password(pw).await?);
        } else if let Some(existing) = self.inner.store.user(&user.id)? {
            user.password_hash = existing.password_hash;
        }
        let mut ws = WriteSet::new();
        self.inner.store.stage_user(&mut ws, &user);
        self.inner.store.commit_durable(&ws).await?;
        Ok(())
    }

    /// All users (password hashes removed).
    pub async fn users(&self) -> Result<Vec<User>> {
        let mut users: Vec<User> = self.inner.store.users()?;
        for u in users.iter_mut() {
            u.password_hash = None;
        }
        Ok(users)
    }

    /// Delete a user.
    pub async fn delete_user(&self, id: &str) -> Result<()> {
        if self.inner.store.user(id)?.is_none() {
            return Err(ProcessEngineError::NotFound(format!(
                "User with id {id} does not exist"
            )));
        }
        let mut ws = WriteSet::new();
        self.inner.store.stage_user_removal(&mut ws, id);
        self.inner.store.commit_durable(&ws).await?;
        Ok(())
    }

    /// Create or replace a group.
    pub async fn create_group(&self, group: Group) -> Result<()> {
        if group.id.is_empty() || group.id.contains('\0') {
            return Err(ProcessEngineError::BadRequest(
                "group id must be a non-empty name".into(),
            ));
        }
        let mut ws = WriteSet::new();
        self.inner.store.stage_group(&mut ws, &group);
        self.inner.store.commit_durable(&ws).await?;
        Ok(())
    }

    /// All groups.
    pub async fn groups(&self) -> Result<Vec<Group>> {
        Ok(self.inner.store.groups()?)
    }

    /// Add a user to a group.
    pub async fn add_group_member(&self, group_id: &str, user_id: &str) -> Result<()> {
        if self.inner.store.group(group_id)?.is_none() {
            return Err(ProcessEngineError::NotFound(format!(
                "Group with id {group_id} does not exist"
            )));
        }
        let mut user: User = self.inner.store.user(user_id)?.ok_or_else(|| {
            ProcessEngineError::NotFound(format!("User with id {user_id} does not exist"))
        })?;
        if !user.groups.iter().any(|g| g == group_id) {
            user.groups.push(group_id.to_owned());
        }
        let mut ws = WriteSet::new();
        self.inner.store.stage_user(&mut ws, &user);
        self.inner.store.commit_durable(&ws).await?;
        Ok(())
    }

    /// Check a user's password; returns the user (with groups) when it matches.
    pub async fn authenticate(&self, user_id: &str, password: &str) -> Result<Option<User>> {
        let Some(mut user) = self.inner.store.user(user_id)? else {
            return Ok(None);
        };
        let Some(stored) = user.password_hash.clone() else {
            return Ok(None);
        };
        let cache = &self.inner.password_checks;
        if !cache.knows(user_id, &stored, password) {
            let (hash, candidate) = (stored.clone(), password.to_owned());
            let verdict = tokio::task::spawn_blocking(move || passwords::verify(&hash, &candidate))
                .await
                .unwrap_or(Verdict::Mismatch);
            let stored = match verdict {
                Verdict::Mismatch => return Ok(None),
                Verdict::Matches => stored,
                // Written by an older baton: store Argon2 now that the password is known.
                Verdict::MatchesLegacy => {
                    let upgraded = hash_password(password.to_owned()).await?;
                    user.password_hash = Some(upgraded.clone());
                    let mut ws = WriteSet::new();
                    self.inner.store.stage_user(&mut ws, &user);
                    self.inner.store.commit_durable(&ws).await?;
                    upgraded
                }
            };
            cache.remember(user_id, &stored, password);
        }
        user.password_hash = None;
        Ok(Some(user))
    }

    /// Create the first user as a member of `camunda-admin` (the group is created when
    /// missing): the one unauthenticated `POST /user/create` a server with auth on accepts,
    /// so someone can set up the others. Returns `false` and creates nothing when a user
    /// exists already. Two such requests at once make one administrator: the check and the
    /// creation run under one lock, and the user, the group and the membership commit
    /// together (a crash cannot leave a first user who is not an administrator).
    pub async fn create_first_admin(
        &self,
        mut user: User,
        password: Option<String>,
    ) -> Result<bool> {
        // Process-wide, not per engine: it only serialises bootstrap requests, which are rare.
        static BOOTSTRAP: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let _one_at_a_time = BOOTSTRAP.lock().await;
        if self.inner.store.has_users()? {
            return Ok(false);
        }
        if user.id.is_empty() || user.id.contains('\0') {
            return Err(ProcessEngineError::BadRequest(
                "user id must be a non-empty name".into(),
            ));
        }
        if let Some(pw) = password {
            user.password_hash = Some(hash_password(pw).await?);
        }
        let admin = super::authorizations::ADMIN_GROUP;
        let mut ws = WriteSet::new();
        if self.inner.store.group(admin)?.is_none() {
            self.inner.store.stage_group(
                &mut ws,
                &Group {
                    id: admin.to_owned(),
                    name: Some("camunda BPM Administrators".to_owned()),
                    group_type: Some("SYSTEM".to_owned()),
                },
            );
        }
        user.groups = vec![admin.to_owned()];
        self.inner.store.stage_user(&mut ws, &user);
        self.inner.store.commit_durable(&ws).await?;
        Ok(true)
    }

    /// Whether any user exists (auth can only be enforced when one does).
    pub async fn has_users(&self) -> Result<bool> {
        Ok(self.inner.store.has_users()?)
    }
}
