//! Paged reads for the typed queries: candidates come from an index (ids in key order) or a
//! whole tree (records in key order); the engine's filter (`keep`) judges each, and the page
//! (`skip`, `limit`) is cut while reading, so a page of a selective or small query reads only
//! what it returns (plus what the filter refused on the way).

use super::codec;
use super::keys::last_str;
use super::{Result, Store, Tree};
use crate::store::Accept;
use serde::de::DeserializeOwned;

/// Take records from `candidates` in order: `keep` judges each, the first `skip` taken are
/// passed over, at most `limit` are returned; [`Accept::Abort`] ends the read.
pub(super) fn page<T>(
    candidates: impl Iterator<Item = Result<Option<T>>>,
    keep: &mut dyn FnMut(&T) -> Accept,
    skip: usize,
    limit: usize,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    let mut skipped = 0;
    if limit == 0 {
        return Ok(out);
    }
    for candidate in candidates {
        let Some(record) = candidate? else { continue };
        match keep(&record) {
            Accept::Take => {}
            Accept::Skip => continue,
            Accept::Abort => break,
        }
        if skipped < skip {
            skipped += 1;
            continue;
        }
        out.push(record);
        if out.len() >= limit {
            break;
        }
    }
    Ok(out)
}

impl Store {
    /// The records an index names under `prefix` (`(field, id)` entries), read from
    /// `records` in index order; an entry whose record is gone yields `None`.
    pub(super) fn indexed<'a, T: DeserializeOwned + 'a>(
        &'a self,
        index: Tree,
        prefix: &[u8],
        records: Tree,
    ) -> impl Iterator<Item = Result<Option<T>>> + 'a {
        self.scan_prefix(index, prefix).map(move |kv| {
            let (key, _) = kv?;
            match last_str(&key) {
                Some(id) => self.get::<T>(records, id.as_bytes()),
                None => Ok(None),
            }
        })
    }

    /// Every record of a tree under `prefix`, in key order.
    pub(super) fn records<'a, T: DeserializeOwned + 'a>(
        &'a self,
        tree: Tree,
        prefix: &[u8],
    ) -> impl Iterator<Item = Result<Option<T>>> + 'a {
        self.scan_prefix(tree, prefix)
            .map(move |kv| Ok(Some(codec::decode(tree.name(), &kv?.1)?)))
    }
}
