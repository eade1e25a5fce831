//! [`IncidentStore`] on sled: open incidents in `Incidents` (+ `IncidentsByInstance`), every
//! incident, open or resolved, in `HistoricIncidents`.

use super::index;
use super::{Result, Store, Tree, WriteSet};
use crate::records::Incident;
use crate::store::{Accept, IncidentStore};

impl IncidentStore for Store {
    fn open_incident(&self, id: &str) -> Result<Option<Incident>> {
        self.get(Tree::Incidents, &index::id_key(id))
    }

    fn open_incidents(&self) -> Result<Vec<Incident>> {
        self.scan(Tree::Incidents, b"")
    }

    fn open_incidents_of_instance(&self, instance_id: &str) -> Result<Vec<Incident>> {
        index::owned_by_instance(
            self,
            Tree::IncidentsByInstance,
            Tree::Incidents,
            instance_id,
        )
    }

    fn historic_incidents(&self) -> Result<Vec<Incident>> {
        self.scan(Tree::HistoricIncidents, b"")
    }

    fn stage_incident(&self, ws: &mut WriteSet, incident: &Incident) {
        ws.put(Tree::Incidents, index::id_key(&incident.id), incident);
        ws.index(
            Tree::IncidentsByInstance,
            index::pair_key(&incident.process_instance_id, &incident.id),
        );
        ws.put(
            Tree::HistoricIncidents,
            index::id_key(&incident.id),
            incident,
        );
    }

    fn stage_incident_resolved(&self, ws: &mut WriteSet, incident: &Incident) {
        ws.delete(Tree::Incidents, index::id_key(&incident.id));
        ws.delete(
            Tree::IncidentsByInstance,
            index::pair_key(&incident.process_instance_id, &incident.id),
        );
        ws.put(
            Tree::HistoricIncidents,
            index::id_key(&incident.id),
            incident,
        );
    }

    fn count_open_incidents(&self) -> Result<usize> {
        self.count(Tree::Incidents)
    }

    fn open_incidents_where(
        &self,
        process_instance_id: Option<&str>,
        keep: &mut dyn FnMut(&Incident) -> Accept,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<Incident>> {
        match process_instance_id {
            Some(pi) => super::query::page(
                self.indexed(
                    Tree::IncidentsByInstance,
                    &index::field_prefix(pi),
                    Tree::Incidents,
                ),
                keep,
                skip,
                limit,
            ),
            None => super::query::page(self.records(Tree::Incidents, b""), keep, skip, limit),
        }
    }
}
