//! [`BatchStore`] on sled: `Batches` (id → Batch), `BatchWork` (id → BatchWork) and
//! `HistoricBatches` (id → HistoricBatch). Batch ids are UUID v7, so id order is creation
//! order.

use super::index;
use super::{Result, Store, Tree, WriteSet};
use crate::store::batches::{Batch, BatchStore, BatchWork, HistoricBatch};

impl BatchStore for Store {
    fn batches(&self) -> Result<Vec<Batch>> {
        self.scan(Tree::Batches, b"")
    }

    fn batch(&self, id: &str) -> Result<Option<Batch>> {
        self.get(Tree::Batches, &index::id_key(id))
    }

    fn batch_work(&self, id: &str) -> Result<Option<BatchWork>> {
        self.get(Tree::BatchWork, &index::id_key(id))
    }

    fn stage_batch(&self, ws: &mut WriteSet, batch: &Batch) {
        ws.put(Tree::Batches, index::id_key(&batch.id), batch);
    }

    fn stage_batch_work(&self, ws: &mut WriteSet, id: &str, work: &BatchWork) {
        ws.put(Tree::BatchWork, index::id_key(id), work);
    }

    fn stage_batch_removal(&self, ws: &mut WriteSet, id: &str) {
        ws.delete(Tree::Batches, index::id_key(id));
        ws.delete(Tree::BatchWork, index::id_key(id));
    }

    fn historic_batches(&self) -> Result<Vec<HistoricBatch>> {
        self.scan(Tree::HistoricBatches, b"")
    }

    fn historic_batch(&self, id: &str) -> Result<Option<HistoricBatch>> {
        self.get(Tree::HistoricBatches, &index::id_key(id))
    }

    fn stage_historic_batch(&self, ws: &mut WriteSet, batch: &HistoricBatch) {
        ws.put(Tree::HistoricBatches, index::id_key(&batch.batch.id), batch);
    }

    fn stage_historic_batch_removal(&self, ws: &mut WriteSet, id: &str) {
        ws.delete(Tree::HistoricBatches, index::id_key(id));
    }
}
