//! The one cache of channel accounts on the ingest side. The webhook handlers look an account up
//! by (kind, external id) on every delivery to check its signature, and the out-of-hours
//! auto-reply asks after every batch which accounts answer by themselves: both read one
//! short-lived snapshot of all accounts instead of the database.
//!
//! * A miss reloads the snapshot at once (one reload at a time), so an account created a moment
//!   ago is found; a miss is never remembered.
//! * A change through this node applies at once ([`AccountCache::forget`]); through another node,
//!   within [`ACCOUNT_TTL`].

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use uuid::Uuid;
use webcare_domain::ChannelKind;
use webcare_store::{ChannelAccount, PageRequest, Store, StoreError};

/// How long a snapshot is trusted.
pub const ACCOUNT_TTL: Duration = Duration::from_secs(2);

/// Every live channel account, by id and by (kind, external id).
#[derive(Debug, Default)]
pub struct Snapshot {
    by_id: HashMap<Uuid, ChannelAccount>,
    by_external: HashMap<(ChannelKind, String), Uuid>,
}

impl Snapshot {
    pub fn get(&self, id: &Uuid) -> Option<&ChannelAccount> {
        self.by_id.get(id)
    }

    pub fn contains(&self, id: &Uuid) -> bool {
        self.by_id.contains_key(id)
    }

    fn find(&self, kind: ChannelKind, external_id: &str) -> Option<&ChannelAccount> {
        self.by_external
            .get(&(kind, external_id.to_owned()))
            .and_then(|id| self.by_id.get(id))
    }
}

/// A snapshot with the instant it was loaded.
type Loaded = Option<(Instant, Arc<Snapshot>)>;

/// Cheap to clone: every clone shares the snapshot.
#[derive(Clone)]
pub struct AccountCache {
    store: Arc<dyn Store>,
    current: Arc<RwLock<Loaded>>,
    reload: Arc<tokio::sync::Mutex<()>>,
}

impl AccountCache {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            current: Default::default(),
            reload: Default::default(),
        }
    }

    /// The snapshot if it is fresh; no IO (the ingest writer calls this between batches).
    pub fn fresh(&self) -> Option<Arc<Snapshot>> {
        let guard = self.current.read().unwrap_or_else(|p| p.into_inner());
        guard
            .as_ref()
            .filter(|(at, _)| at.elapsed() < ACCOUNT_TTL)
            .map(|(_, s)| s.clone())
    }

    /// A fresh snapshot that satisfies `usable`, reloading (once, shared) when needed.
    async fn snapshot(
        &self,
        usable: impl Fn(&Snapshot) -> bool,
    ) -> Result<Arc<Snapshot>, StoreError> {
        if let Some(s) = self.fresh().filter(|s| usable(s)) {
            return Ok(s);
        }
        let _one = self.reload.lock().await;
        // Another task may have reloaded while this one waited.
        if let Some(s) = self.fresh().filter(|s| usable(s)) {
            return Ok(s);
        }
        let mut snap = Snapshot::default();
        let mut after = None;
        loop {
            let page = self
                .store
                .list_channel_accounts(PageRequest {
                    after,
                    limit: 200,
                    ..Default::default()
                })
                .await?;
            for a in page.items {
                snap.by_external
                    .insert((a.kind, a.external_id.clone()), a.id);
                snap.by_id.insert(a.id, a);
            }
            match page.next_after {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        let snap = Arc::new(snap);
        *self.current.write().unwrap_or_else(|p| p.into_inner()) =
            Some((Instant::now(), snap.clone()));
        Ok(snap)
    }

    /// The live account with this external id.
    pub async fn by_external(
        &self,
        kind: ChannelKind,
        external_id: &str,
    ) -> Result<Option<ChannelAccount>, StoreError> {
        let snap = self
            .snapshot(|s| s.find(kind, external_id).is_some())
            .await?;
        Ok(snap.find(kind, external_id).cloned())
    }

    /// A snapshot that knows every one of `ids` that exists.
    pub async fn with_ids(&self, ids: &[Uuid]) -> Result<Arc<Snapshot>, StoreError> {
        self.snapshot(|s| ids.iter().all(|id| s.contains(id))).await
    }

    /// Forgets the snapshot: after an account is changed or removed through this node.
    pub fn forget(&self) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = None;
    }
}
