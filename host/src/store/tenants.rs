//! [`TenantStore`]: Camunda's tenants (`/tenant`) with their user and group memberships.

use serde::{Deserialize, Serialize};

use super::{Result, WriteSet};

/// A tenant and who belongs to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    /// Tenant id.
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Member users.
    #[serde(default)]
    pub user_ids: Vec<String>,
    /// Member groups.
    #[serde(default)]
    pub group_ids: Vec<String>,
}

/// Tenants.
pub trait TenantStore {
    /// Every tenant, in id order.
    fn tenants(&self) -> Result<Vec<Tenant>>;
    /// One tenant.
    fn tenant(&self, id: &str) -> Result<Option<Tenant>>;
    /// Stage writing a tenant.
    fn stage_tenant(&self, ws: &mut WriteSet, tenant: &Tenant);
    /// Stage removing a tenant.
    fn stage_tenant_removal(&self, ws: &mut WriteSet, id: &str);
}
