//! Runtime statistics of process definitions (Camunda's `ManagementService`
//! `createProcessDefinitionStatisticsQuery` / `createActivityStatisticsQuery`): per definition
//! and per activity, how many instances are there, how many of their jobs have failed (no
//! retries left) and which incidents are open.
//!
//! Computed on request from the running records (instances, jobs, open incidents): one pass
//! over each, no extra state kept on the hot path. The cockpit's heatmap reads the same.

use std::collections::BTreeMap;

use super::{ProcessEngine, Result};
use crate::records::{Incident, JobKind};
use crate::store::{
    Accept, DeploymentStore, IncidentStore, InstanceLookup, InstanceStore, JobStore,
};

/// Which incidents a statistics query counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum IncidentFilter {
    /// None (the `incidents` list stays empty).
    #[default]
    Off,
    /// Every incident.
    All,
    /// Only incidents of this type (`incidentsForType`).
    OfType(String),
    /// Only incidents that are their own cause (`rootIncidents`; baton's incidents have no
    /// cause chain, so every incident is a root incident).
    Root,
}

impl IncidentFilter {
    fn counts(&self, incident: &Incident) -> bool {
        match self {
            IncidentFilter::Off => false,
            IncidentFilter::All | IncidentFilter::Root => true,
            IncidentFilter::OfType(t) => incident.incident_type.as_str() == t,
        }
    }
}

/// The counts of one definition or one activity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Statistics {
    /// Running instances (definition) or running activity instances (activity).
    pub instances: usize,
    /// Jobs without retries left (only counted when asked for).
    pub failed_jobs: usize,
    /// Open incidents by type (only counted when asked for).
    pub incidents: BTreeMap<String, usize>,
}

/// What a statistics query includes.
#[derive(Debug, Clone, Default)]
pub struct StatisticsOptions {
    /// Count failed jobs.
    pub failed_jobs: bool,
    /// Which incidents to count.
    pub incidents: IncidentFilter,
}

impl ProcessEngine {
    /// Per-activity statistics of one definition: activity id → counts. An activity appears
    /// when it has a running activity instance, a failed job or a counted incident (Camunda
    /// lists only such activities).
    pub fn activity_statistics(
        &self,
        definition_id: &str,
        options: &StatisticsOptions,
    ) -> Result<BTreeMap<String, Statistics>> {
        let store = &self.inner.store;
        let key = self.statistics_key_of(definition_id)?;
        let mut out: BTreeMap<String, Statistics> = BTreeMap::new();
        let lookup = InstanceLookup {
            definition_key: key.as_deref(),
            ..Default::default()
        };
        // The key index narrows the read; the filter keeps only this version's instances and
        // counts while reading (nothing is collected).
        let mut keep = |pi: &crate::records::ProcessInstance| {
            if pi.definition_id == definition_id {
                for ai in pi.state.activity_instances.values() {
                    // The process instance itself is no activity; a multi-instance body is
                    // counted under its inner activity (as Camunda's statistics do).
                    if ai.parent.is_none() || ai.activity_id.ends_with("#multiInstanceBody") {
                        continue;
                    }
                    out.entry(ai.activity_id.clone()).or_default().instances += 1;
                }
            }
            Accept::Skip
        };
        store.running_instances_where(&lookup, &mut keep, 0, usize::MAX)?;
        if options.failed_jobs {
            for job in store.jobs()? {
                if job.retries == 0
                    && job.process_definition_id.as_deref() == Some(definition_id)
                    && !matches!(job.kind, JobKind::WasmRetry { .. })
                {
                    out.entry(job.activity_id.clone()).or_default().failed_jobs += 1;
                }
            }
        }
        if options.incidents != IncidentFilter::Off {
            for incident in store.open_incidents()? {
                if incident.process_definition_id == definition_id
                    && options.incidents.counts(&incident)
                {
                    *out.entry(incident.activity_id.clone())
                        .or_default()
                        .incidents
                        .entry(incident.incident_type.as_str().to_owned())
                        .or_default() += 1;
                }
            }
        }
        Ok(out)
    }

    /// Statistics of every definition that has running instances, failed jobs or counted
    /// incidents: definition id → counts.
    pub fn definition_statistics(
        &self,
        options: &StatisticsOptions,
    ) -> Result<BTreeMap<String, Statistics>> {
        let store = &self.inner.store;
        let mut out: BTreeMap<String, Statistics> = BTreeMap::new();
        let mut keep = |pi: &crate::records::ProcessInstance| {
            out.entry(pi.definition_id.clone()).or_default().instances += 1;
            Accept::Skip
        };
        store.running_instances_where(&InstanceLookup::default(), &mut keep, 0, usize::MAX)?;
        if options.failed_jobs {
            for job in store.jobs()? {
                if job.retries == 0
                    && !matches!(job.kind, JobKind::WasmRetry { .. })
                    && let Some(d) = &job.process_definition_id
                {
                    out.entry(d.clone()).or_default().failed_jobs += 1;
                }
            }
        }
        if options.incidents != IncidentFilter::Off {
            for incident in store.open_incidents()? {
                if options.incidents.counts(&incident) {
                    *out.entry(incident.process_definition_id.clone())
                        .or_default()
                        .incidents
                        .entry(incident.incident_type.as_str().to_owned())
                        .or_default() += 1;
                }
            }
        }
        Ok(out)
    }

    fn statistics_key_of(&self, definition_id: &str) -> Result<Option<String>> {
        Ok(self.inner.store.definition(definition_id)?.map(|d| d.key))
    }
}
