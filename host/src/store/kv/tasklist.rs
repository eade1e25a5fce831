//! [`TasklistStore`] and [`TenantStore`] on sled: `Filters` (id → Filter), `Comments`
//! (id → Comment) with `CommentsByOwner` (task or instance id, comment id → ()),
//! `Attachments` (id → Attachment) with `AttachmentsByOwner` and `AttachmentContent`
//! (id → raw bytes), `Tenants` (id → Tenant). Comment and attachment ids are UUID v7, so an
//! owner's entries come in creation order.

use super::index;
use super::{Result, Store, Tree, WriteSet};
use crate::store::tasklist::{Attachment, Comment, Filter, TasklistStore};
use crate::store::tenants::{Tenant, TenantStore};

fn owners<'a>(task: &'a Option<String>, instance: &'a Option<String>) -> Vec<&'a str> {
    task.iter()
        .chain(instance.iter())
        .map(String::as_str)
        .collect()
}

impl Store {
    fn owned<T: serde::de::DeserializeOwned>(
        &self,
        by_owner: Tree,
        records: Tree,
        owner: &str,
    ) -> Result<Vec<T>> {
        index::owned_by_instance(self, by_owner, records, owner)
    }
}

impl TasklistStore for Store {
    fn filters(&self) -> Result<Vec<Filter>> {
        self.scan(Tree::Filters, b"")
    }

    fn filter(&self, id: &str) -> Result<Option<Filter>> {
        self.get(Tree::Filters, &index::id_key(id))
    }

    fn stage_filter(&self, ws: &mut WriteSet, filter: &Filter) {
        ws.put(Tree::Filters, index::id_key(&filter.id), filter);
    }

    fn stage_filter_removal(&self, ws: &mut WriteSet, id: &str) {
        ws.delete(Tree::Filters, index::id_key(id));
    }

    fn comment(&self, id: &str) -> Result<Option<Comment>> {
        self.get(Tree::Comments, &index::id_key(id))
    }

    fn comments_of(&self, owner: &str) -> Result<Vec<Comment>> {
        self.owned(Tree::CommentsByOwner, Tree::Comments, owner)
    }

    fn stage_comment(&self, ws: &mut WriteSet, comment: &Comment) {
        ws.put(Tree::Comments, index::id_key(&comment.id), comment);
        for owner in owners(&comment.task_id, &comment.process_instance_id) {
            ws.index(Tree::CommentsByOwner, index::pair_key(owner, &comment.id));
        }
    }

    fn stage_comment_removal(&self, ws: &mut WriteSet, comment: &Comment) {
        ws.delete(Tree::Comments, index::id_key(&comment.id));
        for owner in owners(&comment.task_id, &comment.process_instance_id) {
            ws.delete(Tree::CommentsByOwner, index::pair_key(owner, &comment.id));
        }
    }

    fn attachment(&self, id: &str) -> Result<Option<Attachment>> {
        self.get(Tree::Attachments, &index::id_key(id))
    }

    fn attachments_of(&self, owner: &str) -> Result<Vec<Attachment>> {
        self.owned(Tree::AttachmentsByOwner, Tree::Attachments, owner)
    }

    fn attachment_content(&self, id: &str) -> Result<Option<Vec<u8>>> {
        self.get_raw(Tree::AttachmentContent, &index::id_key(id))
    }

    fn stage_attachment(&self, ws: &mut WriteSet, attachment: &Attachment, content: Option<&[u8]>) {
        ws.put(Tree::Attachments, index::id_key(&attachment.id), attachment);
        if let Some(bytes) = content {
            ws.put_raw(
                Tree::AttachmentContent,
                index::id_key(&attachment.id),
                bytes,
            );
        }
        for owner in owners(&attachment.task_id, &attachment.process_instance_id) {
            ws.index(
                Tree::AttachmentsByOwner,
                index::pair_key(owner, &attachment.id),
            );
        }
    }

    fn stage_attachment_removal(&self, ws: &mut WriteSet, attachment: &Attachment) {
        ws.delete(Tree::Attachments, index::id_key(&attachment.id));
        ws.delete(Tree::AttachmentContent, index::id_key(&attachment.id));
        for owner in owners(&attachment.task_id, &attachment.process_instance_id) {
            ws.delete(
                Tree::AttachmentsByOwner,
                index::pair_key(owner, &attachment.id),
            );
        }
    }

    fn stage_tasklist_removal(&self, ws: &mut WriteSet, owner: &str) -> Result<()> {
        for c in self.comments_of(owner)? {
            self.stage_comment_removal(ws, &c);
        }
        for a in self.attachments_of(owner)? {
            self.stage_attachment_removal(ws, &a);
        }
        Ok(())
    }
}

impl TenantStore for Store {
    fn tenants(&self) -> Result<Vec<Tenant>> {
        self.scan(Tree::Tenants, b"")
    }

    fn tenant(&self, id: &str) -> Result<Option<Tenant>> {
        self.get(Tree::Tenants, &index::id_key(id))
    }

    fn stage_tenant(&self, ws: &mut WriteSet, tenant: &Tenant) {
        ws.put(Tree::Tenants, index::id_key(&tenant.id), tenant);
    }

    fn stage_tenant_removal(&self, ws: &mut WriteSet, id: &str) {
        ws.delete(Tree::Tenants, index::id_key(id));
    }
}
