//! Incidents: reading, resolving, annotating, and raising an incident on an instance.

use super::events::EngineEvent;
use super::executor::AfterCommit;
use super::{ProcessEngine, ProcessEngineError, Result};
use crate::records::{Incident, IncidentType, ProcessInstance};
use crate::store::{Accept, IncidentStore, InstanceStore, JobStore, Store, WriteSet};
use std::sync::atomic::Ordering;

/// Resolve an open incident (it stays in history with its end time).
pub(crate) fn close_incident(
    store: &Store,
    ws: &mut WriteSet,
    mut incident: Incident,
    now: i64,
    after: &mut AfterCommit,
) {
    incident.end_time = Some(now);
    store.stage_incident_resolved(ws, &incident);
    super::notifications::stage_incident(
        store,
        ws,
        &incident,
        super::notifications::EventKind::IncidentResolved,
        now,
    );
    after.notify = true;
    after.events.push(EngineEvent::IncidentResolved {
        incident_id: incident.id.clone(),
        process_instance_id: incident.process_instance_id.clone(),
    });
}

/// Open an incident.
pub(crate) fn open_incident(
    store: &Store,
    ws: &mut WriteSet,
    incident: &Incident,
    after: &mut AfterCommit,
) {
    store.stage_incident(ws, incident);
    super::notifications::stage_incident(
        store,
        ws,
        incident,
        super::notifications::EventKind::IncidentCreated,
        incident.timestamp,
    );
    after.notify = true;
    after.events.push(EngineEvent::IncidentRaised {
        incident_id: incident.id.clone(),
        process_instance_id: incident.process_instance_id.clone(),
        activity_id: incident.activity_id.clone(),
        incident_type: incident.incident_type.as_str().to_owned(),
        message: incident.message.clone(),
    });
}
impl ProcessEngine {
    /// Raise an incident on an activity instance that has no task (failed call activity start).
    pub(crate) async fn raise_instance_incident(
        &self,
        instance_id: &str,
        activity_instance_id: &str,
        activity_id: &str,
        kind: IncidentType,
        message: String,
        configuration: Option<String>,
    ) -> Result<()> {
        let instance = self.inner.store.running_instance(instance_id)?;
        let Some(instance) = instance else {
            return Ok(());
        };
        let incident = Incident {
            id: super::core::new_id(),
            incident_type: kind,
            message: Some(message),
            timestamp: self.now(),
            activity_id: activity_id.to_owned(),
            activity_instance_id: activity_instance_id.to_owned(),
            execution_id: activity_instance_id.to_owned(),
            process_instance_id: instance_id.to_owned(),
            process_definition_id: instance.definition_id.clone(),
            configuration,
            annotation: None,
            tenant_id: instance.tenant_id.clone(),
            end_time: None,
        };
        self.commit_new_incident(&incident).await
    }

    /// Create an incident of any type on an execution of a running instance (Camunda's
    /// `RuntimeService.createIncident`); it stays open until it is resolved
    /// (`DELETE /incident/{id}`). `BadUserRequest` with Camunda's texts when the type is
    /// missing or the execution is not in the instance.
    pub async fn create_incident(
        &self,
        instance: &ProcessInstance,
        execution_id: &str,
        incident_type: &str,
        configuration: Option<String>,
        message: Option<String>,
    ) -> Result<Incident> {
        if incident_type.is_empty() {
            return Err(ProcessEngineError::BadUserRequest(
                "incidentType is null".into(),
            ));
        }
        let _guard = self.lock_instance(instance.id()).await;
        let no_execution = || {
            ProcessEngineError::BadUserRequest(format!(
                "Cannot find an execution with executionId '{execution_id}': execution is null"
            ))
        };
        // Read again under the lock: the instance may have moved on or ended.
        let instance = self
            .inner
            .store
            .running_instance(instance.id())?
            .ok_or_else(no_execution)?;
        let ai = instance
            .state
            .activity_instances
            .values()
            .find(|ai| ai.execution_id == execution_id && ai.id == execution_id)
            .or_else(|| {
                instance
                    .state
                    .activity_instances
                    .values()
                    .find(|ai| ai.execution_id == execution_id)
            })
            .ok_or_else(no_execution)?;
        let incident = Incident {
            id: super::core::new_id(),
            incident_type: IncidentType::from_name(incident_type),
            message,
            timestamp: self.now(),
            activity_id: ai.activity_id.clone(),
            activity_instance_id: ai.id.clone(),
            execution_id: execution_id.to_owned(),
            process_instance_id: instance.id().to_owned(),
            process_definition_id: instance.definition_id.clone(),
            configuration,
            annotation: None,
            tenant_id: instance.tenant_id.clone(),
            end_time: None,
        };
        self.commit_new_incident(&incident).await?;
        Ok(incident)
    }

    /// Open `incident` in a write set of its own and acknowledge it durably.
    async fn commit_new_incident(&self, incident: &Incident) -> Result<()> {
        let mut ws = WriteSet::new();
        let mut after = AfterCommit::default();
        open_incident(&self.inner.store, &mut ws, incident, &mut after);
        self.inner
            .metrics
            .incidents_raised
            .fetch_add(1, Ordering::Relaxed);
        self.inner.store.commit_durable(&ws).await?;
        self.after_commit(after).await;
        Ok(())
    }

    /// The open incidents (of one instance, if given) that `keep` takes, paged while reading.
    pub fn incidents_where(
        &self,
        process_instance_id: Option<&str>,
        keep: &mut dyn FnMut(&Incident) -> Accept,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<Incident>> {
        Ok(self
            .inner
            .store
            .open_incidents_where(process_instance_id, keep, skip, limit)?)
    }

    /// How many incidents are open (kept count, no read).
    pub fn count_incidents(&self) -> Result<usize> {
        Ok(self.inner.store.count_open_incidents()?)
    }

    /// All open incidents.
    pub async fn incidents(&self) -> Result<Vec<Incident>> {
        let mut all = self.inner.store.open_incidents()?;
        all.sort_by(|a, b| a.timestamp.cmp(&b.timestamp).then(a.id.cmp(&b.id)));
        Ok(all)
    }

    /// One open incident.
    pub async fn incident(&self, id: &str) -> Result<Incident> {
        self.inner.store.open_incident(id)?.ok_or_else(|| {
            ProcessEngineError::NotFound(format!("Incident with id {id} does not exist"))
        })
    }

    /// Resolve an incident (for external tasks: retries back to 1).
    pub async fn resolve_incident(&self, id: &str) -> Result<()> {
        let incident = self.incident(id).await?;
        match (&incident.incident_type, &incident.configuration) {
            (
                IncidentType::FailedExternalTask | IncidentType::UnhandledBpmnError,
                Some(task_id),
            ) => self.set_external_task_retries(task_id, 1).await,
            (IncidentType::FailedJob, Some(job_id)) => {
                let job = self.inner.store.job(job_id)?;
                let mut ws = WriteSet::new();
                let mut after = AfterCommit::default();
                if let Some((mut job, _)) = job {
                    // An incident's job has no due entry: it is re-armed, not moved.
                    job.retries = 1;
                    job.due = self.now();
                    self.inner.store.stage_job(&mut ws, &job, None, None);
                    after.wake_scheduler = true;
                }
                close_incident(&self.inner.store, &mut ws, incident, self.now(), &mut after);
                self.inner.store.commit_durable(&ws).await?;
                self.after_commit(after).await;
                Ok(())
            }
            _ => {
                let mut ws = WriteSet::new();
                let mut after = AfterCommit::default();
                close_incident(&self.inner.store, &mut ws, incident, self.now(), &mut after);
                self.inner.store.commit_durable(&ws).await?;
                self.after_commit(after).await;
                Ok(())
            }
        }
    }

    /// Set or clear an incident's annotation.
    pub async fn set_incident_annotation(
        &self,
        id: &str,
        annotation: Option<String>,
    ) -> Result<()> {
        let mut incident = self.incident(id).await?;
        incident.annotation = annotation;
        let mut ws = WriteSet::new();
        self.inner.store.stage_incident(&mut ws, &incident);
        self.inner.store.commit_durable(&ws).await?;
        Ok(())
    }
}
