//! [`InstanceStore`] on sled: the `Instances` tree, keyed by instance id.

use super::index;
use super::{Result, Store, Tree, WriteSet};
use crate::records::ProcessInstance;
use crate::store::InstanceStore;

impl InstanceStore for Store {
    fn running_instance(&self, id: &str) -> Result<Option<ProcessInstance>> {
        self.get(Tree::Instances, &index::id_key(id))
    }

    fn running_instances(&self) -> Result<Vec<ProcessInstance>> {
        self.scan(Tree::Instances, b"")
    }

    fn count_running_instances(&self) -> usize {
        self.count(Tree::Instances)
    }

    fn stage_instance(&self, ws: &mut WriteSet, instance: &ProcessInstance) {
        ws.put(Tree::Instances, index::id_key(&instance.state.id), instance);
    }

    fn stage_instance_end(&self, ws: &mut WriteSet, id: &str) {
        ws.delete(Tree::Instances, index::id_key(id));
    }

    fn stage_instance_records_removal(
        &self,
        ws: &mut WriteSet,
        instance_id: &str,
        skip_external: &dyn Fn(&str) -> bool,
    ) -> Result<()> {
        index::delete_instance_records(self, ws, instance_id, skip_external)
    }
}
