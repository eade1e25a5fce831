//! [`JobStore`] on sled: `Jobs` by id, `JobsDue` (due time, id) for the scheduler and
//! `JobsByInstance`. A due entry without its job (left by a crash between two commits of an
//! older release) is dropped when the scheduler meets it.

use super::index;
use super::{Result, Store, Tree, WriteSet};
use crate::records::Job;
use crate::store::{JobStore, Version};

impl JobStore for Store {
    fn job(&self, id: &str) -> Result<Option<(Job, Version)>> {
        self.get_versioned(Tree::Jobs, &index::id_key(id))
    }

    fn jobs(&self) -> Result<Vec<Job>> {
        self.scan(Tree::Jobs, b"")
    }

    fn due_jobs(&self, now: i64, limit: usize) -> Result<Vec<Job>> {
        let end = index::job_due_key(now.saturating_add(1), "");
        let mut due = Vec::new();
        for key in self.range_keys(Tree::JobsDue, &[], &end, limit)? {
            let Some(id) = index::timed_key_id(&key) else {
                continue;
            };
            match self.get::<Job>(Tree::Jobs, &index::id_key(&id))? {
                Some(job) if job.due <= now => due.push(job),
                Some(_) => {}
                None => {
                    let mut ws = WriteSet::new();
                    ws.delete(Tree::JobsDue, key);
                    self.commit(&ws)?;
                }
            }
        }
        Ok(due)
    }

    fn next_job_due(&self) -> Result<Option<i64>> {
        Ok(self
            .first_key(Tree::JobsDue)?
            .and_then(|k| super::keys::from_ord_i64(&k)))
    }

    fn stage_job(&self, ws: &mut WriteSet, job: &Job, old: Option<&Job>, read_at: Option<Version>) {
        if let Some(v) = read_at {
            ws.guard(Tree::Jobs, index::id_key(&job.id), Some(v.0));
        }
        index::put_job(ws, job, old);
    }

    fn stage_job_parked(&self, ws: &mut WriteSet, job: &Job, old: &Job, read_at: Option<Version>) {
        if let Some(v) = read_at {
            ws.guard(Tree::Jobs, index::id_key(&job.id), Some(v.0));
        }
        ws.delete(Tree::JobsDue, index::job_due_key(old.due, &old.id));
        ws.put(Tree::Jobs, index::id_key(&job.id), job);
    }

    fn jobs_of_instance(&self, instance_id: &str) -> Result<Vec<Job>> {
        index::owned_by_instance(self, Tree::JobsByInstance, Tree::Jobs, instance_id)
    }

    fn stage_job_removal(&self, ws: &mut WriteSet, job: &Job, read_at: Option<Version>) {
        if let Some(v) = read_at {
            ws.guard(Tree::Jobs, index::id_key(&job.id), Some(v.0));
        }
        index::delete_job(ws, job);
    }
}
