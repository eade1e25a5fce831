//! Camunda 7 authorizations: the resource types and permissions (with Camunda's integer codes
//! and bits), the durable authorizations (create, update, delete, query), and their
//! evaluation for one user ([`Principal`]).
//!
//! Precedence is Camunda's: an authorization for the user decides before one for any of the
//! user's groups, which decides before a global one; at the same level a revoke beats a grant;
//! a resource id of `*` counts as the same level as the exact id. Members of
//! [`ADMIN_GROUP`] pass every check. Only the REST layer enforces (when `--auth` is on): the
//! engine's own work (steps, jobs, wasm tasks) runs unchecked, as in Camunda.

use std::sync::Arc;

use super::{ProcessEngine, ProcessEngineError, Result};
use crate::records::Authorization;
use crate::store::{AuthorizationStore, WriteSet};

/// The group whose members may do everything (Camunda's `camunda-admin`).
pub const ADMIN_GROUP: &str = "camunda-admin";

/// `Authorization.AUTH_TYPE_GLOBAL`: applies to every user (`userId` is `*`).
pub const AUTH_TYPE_GLOBAL: i32 = 0;
/// `Authorization.AUTH_TYPE_GRANT`.
pub const AUTH_TYPE_GRANT: i32 = 1;
/// `Authorization.AUTH_TYPE_REVOKE`.
pub const AUTH_TYPE_REVOKE: i32 = 2;

/// The `*` resource id and global user id.
pub const ANY: &str = "*";

/// A resource type: Camunda's integer code and name (`Resources`), or one of baton's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource {
    /// The integer stored in `resourceType`.
    pub code: i32,
    /// The name in exception messages (`ProcessDefinition`).
    pub name: &'static str,
}

macro_rules! resources {
    ($($konst:ident = $code:literal, $name:literal;)*) => {
        impl Resource {
            $(
                #[doc = concat!("`", $name, "` (", stringify!($code), ").")]
                pub const $konst: Resource = Resource { code: $code, name: $name };
            )*
            /// Every known resource type.
            pub const ALL: &'static [Resource] = &[$(Resource::$konst,)*];
        }
    };
}

resources! {
    APPLICATION = 0, "Application";
    USER = 1, "User";
    GROUP = 2, "Group";
    GROUP_MEMBERSHIP = 3, "GroupMembership";
    AUTHORIZATION = 4, "Authorization";
    FILTER = 5, "Filter";
    PROCESS_DEFINITION = 6, "ProcessDefinition";
    TASK = 7, "Task";
    PROCESS_INSTANCE = 8, "ProcessInstance";
    DEPLOYMENT = 9, "Deployment";
    DECISION_DEFINITION = 10, "DecisionDefinition";
    TENANT = 11, "Tenant";
    TENANT_MEMBERSHIP = 12, "TenantMembership";
    BATCH = 13, "Batch";
    DECISION_REQUIREMENTS_DEFINITION = 14, "DecisionRequirementsDefinition";
    REPORT = 15, "Report";
    DASHBOARD = 16, "Dashboard";
    OPERATION_LOG_CATEGORY = 17, "UserOperationLogCategory";
    HISTORIC_TASK = 19, "HistoricTask";
    HISTORIC_PROCESS_INSTANCE = 20, "HistoricProcessInstance";
    SYSTEM = 21, "System";
    // baton's own, above Camunda's range: wasm task modules by topic, and external-task
    // topics (so a worker user can be limited to fetching and completing its topics).
    TASK_MODULE = 100, "TaskModule";
    EXTERNAL_TASK_TOPIC = 101, "ExternalTaskTopic";
}

impl Resource {
    /// The resource type with this code.
    pub fn from_code(code: i32) -> Option<Resource> {
        Resource::ALL.iter().copied().find(|r| r.code == code)
    }
}

/// A permission: its name and bit (Camunda's `Permissions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    /// The name in REST bodies and messages.
    pub name: &'static str,
    /// The bit.
    pub bits: u32,
}

macro_rules! permissions {
    ($($konst:ident = $bits:expr, $name:literal;)*) => {
        impl Permission {
            $(
                #[doc = concat!("`", $name, "`.")]
                pub const $konst: Permission = Permission { name: $name, bits: $bits };
            )*
            /// Every single permission (not `NONE` or `ALL`), in bit order.
            pub const EACH: &'static [Permission] = &[$(Permission::$konst,)*];
        }
    };
}

permissions! {
    READ = 2, "READ";
    UPDATE = 4, "UPDATE";
    CREATE = 8, "CREATE";
    DELETE = 16, "DELETE";
    ACCESS = 32, "ACCESS";
    READ_TASK = 64, "READ_TASK";
    UPDATE_TASK = 128, "UPDATE_TASK";
    CREATE_INSTANCE = 256, "CREATE_INSTANCE";
    READ_INSTANCE = 512, "READ_INSTANCE";
    UPDATE_INSTANCE = 1024, "UPDATE_INSTANCE";
    DELETE_INSTANCE = 2048, "DELETE_INSTANCE";
    READ_HISTORY = 4096, "READ_HISTORY";
    DELETE_HISTORY = 8192, "DELETE_HISTORY";
    TASK_WORK = 16384, "TASK_WORK";
    TASK_ASSIGN = 32768, "TASK_ASSIGN";
    MIGRATE_INSTANCE = 65536, "MIGRATE_INSTANCE";
}

/// Every permission bit (`ALL` is `Integer.MAX_VALUE` in Camunda).
pub const ALL_BITS: u32 = i32::MAX as u32;

impl Permission {
    /// The permission named `name` (`ALL` and `NONE` included).
    pub fn named(name: &str) -> Option<Permission> {
        match name {
            "ALL" => Some(Permission {
                name: "ALL",
                bits: ALL_BITS,
            }),
            "NONE" => Some(Permission {
                name: "NONE",
                bits: 0,
            }),
            _ => Permission::EACH.iter().copied().find(|p| p.name == name),
        }
    }

    /// The names of the permissions set in `bits`, as Camunda's REST lists them.
    pub fn names(bits: u32) -> Vec<&'static str> {
        match bits {
            0 => vec!["NONE"],
            b if b & ALL_BITS == ALL_BITS => vec!["ALL"],
            b => Permission::EACH
                .iter()
                .filter(|p| b & p.bits == p.bits)
                .map(|p| p.name)
                .collect(),
        }
    }
}

/// One permission on one resource (or on the resource type, with `resource_id` `None`):
/// what a check asks for and what an `AuthorizationException` lists as missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needed {
    /// The permission.
    pub permission: Permission,
    /// The resource type.
    pub resource: Resource,
    /// The resource id (`None`: the type as a whole, e.g. creating a deployment).
    pub resource_id: Option<String>,
}

impl Needed {
    /// `permission` on `resource_id` of `resource`.
    pub fn on(
        permission: Permission,
        resource: Resource,
        resource_id: impl Into<String>,
    ) -> Needed {
        Needed {
            permission,
            resource,
            resource_id: Some(resource_id.into()),
        }
    }

    /// `permission` on the resource type (`*` authorizations only).
    pub fn any(permission: Permission, resource: Resource) -> Needed {
        Needed {
            permission,
            resource,
            resource_id: None,
        }
    }
}

/// A user with the authorizations that concern them (their own, their groups', global).
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user id.
    pub user_id: String,
    /// Member of [`ADMIN_GROUP`]: every check passes.
    pub admin: bool,
    /// The user's groups (a task's candidate groups grant their members the task).
    pub groups: Vec<String>,
    /// The authorizations for this user, their groups, or everyone.
    relevant: Vec<Authorization>,
}

/// The verdict of one level (user, groups, global) for one check.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Undecided,
    Granted,
    Revoked,
}

impl Principal {
    /// Whether the user is the task's assignee or owner, one of its candidate users, or a
    /// member of one of its candidate groups. Camunda then holds an authorization for them
    /// on the task (`READ` and its default task permission `UPDATE`), created with the
    /// identity link; baton derives it from the task's identity links instead of storing
    /// it, so it goes away with the link.
    pub fn is_task_party(&self, task: &crate::records::UserTask) -> bool {
        let me = Some(self.user_id.as_str());
        task.assignee.as_deref() == me
            || task.owner.as_deref() == me
            || task.candidate_users.iter().any(|u| u == &self.user_id)
            || task
                .candidate_groups
                .iter()
                .any(|g| self.groups.contains(g))
    }

    /// Whether the user has `needed`.
    pub fn has(&self, needed: &Needed) -> bool {
        if self.admin {
            return true;
        }
        let bits = needed.permission.bits;
        let applies = |a: &Authorization| {
            a.resource_type == needed.resource.code
                && (a.resource_id == ANY
                    || Some(a.resource_id.as_str()) == needed.resource_id.as_deref())
        };
        let level = |of_level: &dyn Fn(&Authorization) -> bool| {
            let mut verdict = Verdict::Undecided;
            for a in self.relevant.iter().filter(|a| applies(a) && of_level(a)) {
                match a.auth_type {
                    AUTH_TYPE_REVOKE if a.permissions & bits != 0 => return Verdict::Revoked,
                    AUTH_TYPE_REVOKE => {}
                    _ if a.permissions & bits == bits => verdict = Verdict::Granted,
                    _ => {}
                }
            }
            verdict
        };
        let user = |a: &Authorization| {
            a.auth_type != AUTH_TYPE_GLOBAL && a.user_id.as_deref() == Some(&self.user_id)
        };
        let group = |a: &Authorization| a.auth_type != AUTH_TYPE_GLOBAL && a.group_id.is_some();
        let global = |a: &Authorization| a.auth_type == AUTH_TYPE_GLOBAL;
        for of_level in [&user as &dyn Fn(&Authorization) -> bool, &group, &global] {
            match level(of_level) {
                Verdict::Granted => return true,
                Verdict::Revoked => return false,
                Verdict::Undecided => {}
            }
        }
        false
    }

    /// Whether the user has at least one of `any_of` (Camunda's disjunctive checks).
    pub fn has_any(&self, any_of: &[Needed]) -> bool {
        any_of.iter().any(|n| self.has(n))
    }
}

/// Camunda's `AuthorizationException` message for a user missing all of `any_of`.
pub fn exception_message(user_id: &str, any_of: &[Needed]) -> String {
    let one = |n: &Needed| match &n.resource_id {
        Some(id) => format!(
            "'{}' permission on resource '{id}' of type '{}'",
            n.permission.name, n.resource.name
        ),
        None => format!(
            "'{}' permission on resource '{}'",
            n.permission.name, n.resource.name
        ),
    };
    match any_of {
        [single] => format!(
            "The user with id '{user_id}' does not have {}.",
            one(single)
        ),
        many => format!(
            "The user with id '{user_id}' does not have one of the following permissions: {}",
            many.iter().map(one).collect::<Vec<_>>().join(" or ")
        ),
    }
}

/// What a client sends to create or update an authorization (REST names, checked here).
#[derive(Debug, Clone, Default)]
pub struct AuthorizationInput {
    /// `type`: 0, 1 or 2.
    pub auth_type: i32,
    /// Permission names.
    pub permissions: Vec<String>,
    /// `userId`.
    pub user_id: Option<String>,
    /// `groupId`.
    pub group_id: Option<String>,
    /// `resourceType`.
    pub resource_type: i32,
    /// `resourceId` (absent: `*`).
    pub resource_id: Option<String>,
}

/// Most permission names one authorization may list (there are 18).
const MAX_PERMISSION_NAMES: usize = 32;

fn bad(message: impl Into<String>) -> ProcessEngineError {
    ProcessEngineError::BadRequest(message.into())
}

/// Validate `input` into a record with id `id` (Camunda's rules for the identity by type).
fn to_record(id: String, input: AuthorizationInput) -> Result<Authorization> {
    if !(AUTH_TYPE_GLOBAL..=AUTH_TYPE_REVOKE).contains(&input.auth_type) {
        return Err(bad(format!(
            "Unknown authorization type {}: expected 0 (global), 1 (grant) or 2 (revoke)",
            input.auth_type
        )));
    }
    let resource = Resource::from_code(input.resource_type)
        .ok_or_else(|| bad(format!("Unknown resource type {}", input.resource_type)))?;
    if input.permissions.len() > MAX_PERMISSION_NAMES {
        return Err(bad("Too many permissions in one authorization"));
    }
    let mut bits = 0u32;
    for name in &input.permissions {
        let p = Permission::named(name).ok_or_else(|| {
            bad(format!(
                "The permission '{name}' is not valid for '{}' resource type.",
                resource.name
            ))
        })?;
        bits |= p.bits;
    }
    let user_id = input.user_id.filter(|u| !u.is_empty());
    let group_id = input.group_id.filter(|g| !g.is_empty());
    match input.auth_type {
        AUTH_TYPE_GLOBAL => {
            if user_id.as_deref().is_some_and(|u| u != ANY) {
                return Err(bad(format!(
                    "ENGINE-03028 Illegal value '{}' for userId for GLOBAL authorization. Must be '*'.",
                    user_id.unwrap_or_default()
                )));
            }
            if group_id.is_some() {
                return Err(bad(
                    "ENGINE-03027 Cannot use 'groupId' for GLOBAL authorization.",
                ));
            }
        }
        _ if user_id.is_some() == group_id.is_some() => {
            return Err(bad(
                "Authorization must either have a 'userId' or a 'groupId'.",
            ));
        }
        _ => {}
    }
    let user_id = if input.auth_type == AUTH_TYPE_GLOBAL {
        Some(ANY.to_owned())
    } else {
        user_id
    };
    Ok(Authorization {
        id,
        auth_type: input.auth_type,
        permissions: bits,
        user_id,
        group_id,
        resource_type: resource.code,
        resource_id: input
            .resource_id
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| ANY.to_owned()),
    })
}

impl ProcessEngine {
    /// Every authorization (cached in memory; reloaded after each change).
    pub async fn authorizations(&self) -> Result<Arc<Vec<Authorization>>> {
        if let Some(cached) = self.authorization_cache() {
            return Ok(cached);
        }
        let all = Arc::new(self.inner.store.authorizations()?);
        if let Ok(mut slot) = self.inner.authorizations.lock() {
            *slot = Some(all.clone());
        }
        Ok(all)
    }

    fn authorization_cache(&self) -> Option<Arc<Vec<Authorization>>> {
        // Other nodes change authorizations without telling this one's cache: on a shared
        // store every check reads them (one small scan), so a revoke holds on every node at once.
        if self.inner.store.is_shared() {
            return None;
        }
        self.inner
            .authorizations
            .lock()
            .ok()
            .and_then(|s| s.clone())
    }

    fn forget_authorizations(&self) {
        if let Ok(mut slot) = self.inner.authorizations.lock() {
            *slot = None;
        }
    }

    /// One authorization.
    pub async fn authorization(&self, id: &str) -> Result<Authorization> {
        self.inner.store.authorization(id)?.ok_or_else(|| {
            ProcessEngineError::NotFound(format!("Authorization with id {id} does not exist."))
        })
    }

    /// Create an authorization.
    pub async fn create_authorization(&self, input: AuthorizationInput) -> Result<Authorization> {
        let record = to_record(uuid::Uuid::new_v4().to_string(), input)?;
        self.save_authorization(&record).await?;
        Ok(record)
    }

    /// Replace an existing authorization's fields.
    pub async fn update_authorization(&self, id: &str, input: AuthorizationInput) -> Result<()> {
        self.authorization(id).await?;
        let record = to_record(id.to_owned(), input)?;
        self.save_authorization(&record).await
    }

    async fn save_authorization(&self, record: &Authorization) -> Result<()> {
        let mut ws = WriteSet::new();
        self.inner.store.stage_authorization(&mut ws, record);
        self.inner.store.commit_durable(&ws).await?;
        self.forget_authorizations();
        Ok(())
    }

    /// Delete an authorization.
    pub async fn delete_authorization(&self, id: &str) -> Result<()> {
        self.authorization(id).await?;
        let mut ws = WriteSet::new();
        self.inner.store.stage_authorization_removal(&mut ws, id);
        self.inner.store.commit_durable(&ws).await?;
        self.forget_authorizations();
        Ok(())
    }

    /// The principal for `user_id` in `groups`: their authorizations, and whether they are
    /// an administrator.
    pub async fn principal(&self, user_id: &str, groups: &[String]) -> Result<Principal> {
        let admin = groups.iter().any(|g| g == ADMIN_GROUP);
        let relevant = if admin {
            Vec::new()
        } else {
            self.authorizations()
                .await?
                .iter()
                .filter(|a| {
                    a.auth_type == AUTH_TYPE_GLOBAL
                        || a.user_id.as_deref() == Some(user_id)
                        || a.group_id.as_ref().is_some_and(|g| groups.contains(g))
                })
                .cloned()
                .collect()
        };
        Ok(Principal {
            user_id: user_id.to_owned(),
            admin,
            groups: groups.to_vec(),
            relevant,
        })
    }

    /// The principal of an existing user (with their stored groups).
    pub async fn principal_of(&self, user_id: &str) -> Result<Principal> {
        let groups = self
            .users()
            .await?
            .into_iter()
            .find(|u| u.id == user_id)
            .map(|u| u.groups)
            .unwrap_or_default();
        self.principal(user_id, &groups).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(
        t: i32,
        user: Option<&str>,
        group: Option<&str>,
        perms: &[&str],
        id: &str,
    ) -> Authorization {
        to_record(
            "a".into(),
            AuthorizationInput {
                auth_type: t,
                permissions: perms.iter().map(|p| p.to_string()).collect(),
                user_id: user.map(str::to_owned),
                group_id: group.map(str::to_owned),
                resource_type: 6,
                resource_id: Some(id.into()),
            },
        )
        .expect("valid")
    }

    fn principal(relevant: Vec<Authorization>) -> Principal {
        Principal {
            user_id: "kermit".into(),
            admin: false,
            groups: Vec::new(),
            relevant,
        }
    }

    #[test]
    fn user_beats_group_beats_global_and_revoke_beats_grant() {
        let read = Needed::on(Permission::READ, Resource::PROCESS_DEFINITION, "invoice");
        let global = auth(0, Some("*"), None, &["READ"], "*");
        let group_revoke = auth(2, None, Some("sales"), &["READ"], "invoice");
        let user_grant = auth(1, Some("kermit"), None, &["READ"], "invoice");
        let user_revoke = auth(2, Some("kermit"), None, &["ALL"], "*");
        assert!(principal(vec![global.clone()]).has(&read));
        assert!(!principal(vec![global.clone(), group_revoke.clone()]).has(&read));
        assert!(principal(vec![global, group_revoke, user_grant.clone()]).has(&read));
        assert!(!principal(vec![user_grant, user_revoke]).has(&read));
        assert!(!principal(vec![]).has(&read));
        let other = Needed::on(Permission::READ, Resource::PROCESS_DEFINITION, "other");
        assert!(!principal(vec![auth(1, Some("kermit"), None, &["READ"], "invoice")]).has(&other));
        assert!(!principal(vec![auth(1, Some("kermit"), None, &["UPDATE"], "*")]).has(&read));
    }

    #[test]
    fn messages_are_camundas() {
        let read = Needed::on(Permission::READ, Resource::PROCESS_DEFINITION, "invoice");
        assert_eq!(
            exception_message("kermit", std::slice::from_ref(&read)),
            "The user with id 'kermit' does not have 'READ' permission on resource 'invoice' of type 'ProcessDefinition'."
        );
        let create = Needed::any(Permission::CREATE, Resource::DEPLOYMENT);
        assert_eq!(
            exception_message("kermit", &[create, read]),
            "The user with id 'kermit' does not have one of the following permissions: 'CREATE' permission on resource 'Deployment' or 'READ' permission on resource 'invoice' of type 'ProcessDefinition'"
        );
        assert_eq!(Permission::names(ALL_BITS), vec!["ALL"]);
        assert_eq!(Permission::names(2 | 8), vec!["READ", "CREATE"]);
    }

    #[test]
    fn identities_follow_the_type() {
        let input = |t, u: Option<&str>, g: Option<&str>| AuthorizationInput {
            auth_type: t,
            permissions: vec!["READ".into()],
            user_id: u.map(str::to_owned),
            group_id: g.map(str::to_owned),
            resource_type: 6,
            resource_id: None,
        };
        assert!(to_record("x".into(), input(0, Some("kermit"), None)).is_err());
        assert!(to_record("x".into(), input(0, None, Some("g"))).is_err());
        assert!(to_record("x".into(), input(1, None, None)).is_err());
        assert!(to_record("x".into(), input(1, Some("u"), Some("g"))).is_err());
        assert!(to_record("x".into(), input(3, Some("u"), None)).is_err());
        let global = to_record("x".into(), input(0, None, None)).expect("global");
        assert_eq!(global.user_id.as_deref(), Some("*"));
        assert_eq!(global.resource_id, "*");
        let mut unknown = input(1, Some("u"), None);
        unknown.permissions = vec!["FLY".into()];
        assert!(to_record("x".into(), unknown).is_err());
    }
}
