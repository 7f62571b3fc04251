//! What the data plane reads, cached: the current version of each script
//! it has asked for, and the routing snapshot (domain claims and route
//! tables). The manager keeps it true after its own changes; in cluster
//! mode the database's announcements ([`crate::bus`]) keep it true after
//! every other process's. A `picloud-orchestrator` holds one of its own.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use picloud_shared::routing::{DomainPattern, Methods, RoutePattern, RouteTarget, Routing};
use picloud_shared::{AppId, BoxFuture, Script, ScriptId, ScriptName, ScriptResolver};
use tokio::sync::Mutex;

use crate::bus::{Change, Subscriber};
use crate::db::Db;
use crate::error::Result;
use crate::repo::DEFAULT_APP_ID;

/// The current version of every script the data plane has asked for.
#[derive(Default)]
struct Catalog {
    scripts: RwLock<HashMap<ScriptId, Arc<Script>>>,
    /// The same scripts by app and name, for `invoke` (names never change).
    names: RwLock<HashMap<(AppId, String), ScriptId>>,
    /// Bumped on every removal, so a lazy load that raced a delete does not
    /// put the deleted script back.
    removals: AtomicU64,
    /// True while changes made by other processes may be going unannounced
    /// (the LISTEN connection is down): lookups then read the database and
    /// keep nothing (and fall back on what is held if it cannot be read).
    distrusted: AtomicBool,
}

impl Catalog {
    fn get(&self, id: ScriptId) -> Option<Arc<Script>> {
        if self.distrusted.load(Ordering::SeqCst) {
            return None;
        }
        self.get_even_distrusted(id)
    }
    fn by_name(&self, app: AppId, name: &str) -> Option<Arc<Script>> {
        if self.distrusted.load(Ordering::SeqCst) {
            return None;
        }
        self.by_name_even_distrusted(app, name)
    }
    /// What is held, trusted or not: the fallback when the database
    /// cannot be read.
    fn get_even_distrusted(&self, id: ScriptId) -> Option<Arc<Script>> {
        self.scripts
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .cloned()
    }
    fn by_name_even_distrusted(&self, app: AppId, name: &str) -> Option<Arc<Script>> {
        let id = *self
            .names
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(app, name.to_owned()))?;
        self.get_even_distrusted(id)
    }
    fn put(&self, script: Arc<Script>) {
        self.names
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert((script.app_id, script.name.to_string()), script.id);
        let mut map = self.scripts.write().unwrap_or_else(|p| p.into_inner());
        match map.get(&script.id) {
            Some(old) if old.version > script.version => {}
            _ => {
                map.insert(script.id, script);
            }
        }
    }
    /// Forgets everything (after announcements may have been lost).
    fn clear(&self) {
        self.removals.fetch_add(1, Ordering::SeqCst);
        self.scripts
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        self.names
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
    fn remove(&self, id: ScriptId) {
        self.removals.fetch_add(1, Ordering::SeqCst);
        let removed = self
            .scripts
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
        if let Some(s) = removed {
            self.names
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&(s.app_id, s.name.to_string()));
        }
    }
}

/// Scripts and routes as the data plane sees them.
pub struct DataCache {
    db: Db,
    catalog: Catalog,
    /// Domain claims and route tables, rebuilt whole after every change to
    /// them and swapped in; readers hold the lock only to clone the `Arc`.
    routing: RwLock<Arc<Routing>>,
    /// Rebuilds of `routing` take turns, so an older read of the database
    /// never replaces a newer one (a change here and an announced one from
    /// another process may rebuild at once).
    routing_reload: Mutex<()>,
    /// Script lookups the cache could not answer (read from the database):
    /// `picloud_script_cache_misses_total`. A hit never reads it.
    misses: AtomicU64,
    /// Every script lookup holds it shared; a switch of an app's whole
    /// state (a rollback) holds it alone from before its commit until the
    /// catalog and the routes hold the new state, so a lookup sees the
    /// state before or after, never a part of each.
    gate: tokio::sync::RwLock<()>,
}

impl DataCache {
    /// An empty cache on `db`; [`DataCache::reload_routing`] loads routes.
    pub fn new(db: Db) -> Self {
        DataCache {
            db,
            catalog: Catalog::default(),
            routing: RwLock::new(Arc::new(Routing::empty(DEFAULT_APP_ID))),
            routing_reload: Mutex::new(()),
            misses: AtomicU64::new(0),
            gate: tokio::sync::RwLock::new(()),
        }
    }

    /// How many script lookups went to the database.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// The current version of a script: from memory, or read once.
    pub async fn script(&self, id: ScriptId) -> Result<Option<Arc<Script>>> {
        let _open = self.gate.read().await;
        if let Some(s) = self.catalog.get(id) {
            return Ok(Some(s));
        }
        let epoch = self.catalog.removals.load(Ordering::SeqCst);
        self.misses.fetch_add(1, Ordering::Relaxed);
        let read = self.db.script_by_id(id).await;
        let Some(script) = self.or_held(read, || self.catalog.get_even_distrusted(id))? else {
            return Ok(None);
        };
        Ok(Some(self.keep(script, epoch)))
    }

    /// The current version of the script named `name` in `app` (`invoke`).
    pub async fn script_named(&self, app: AppId, name: &str) -> Result<Option<Arc<Script>>> {
        let _open = self.gate.read().await;
        if let Some(s) = self.catalog.by_name(app, name) {
            return Ok(Some(s));
        }
        if ScriptName::parse(name).is_err() {
            return Ok(None);
        }
        let epoch = self.catalog.removals.load(Ordering::SeqCst);
        self.misses.fetch_add(1, Ordering::Relaxed);
        let read = self.db.script_by_name(app, name).await;
        let Some(script) =
            self.or_held(read, || self.catalog.by_name_even_distrusted(app, name))?
        else {
            return Ok(None);
        };
        Ok(Some(self.keep(script, epoch)))
    }

    /// A read of the database, or, when it failed and the cache still
    /// holds a version it no longer trusts (the LISTEN connection went
    /// with the database), that version: while PostgreSQL is down nobody
    /// can change a script, so serving the last one seen beats failing.
    fn or_held(
        &self,
        read: Result<Option<Script>>,
        held: impl FnOnce() -> Option<Arc<Script>>,
    ) -> Result<Option<Script>> {
        match read {
            Err(e) => match held() {
                Some(script) => {
                    tracing::warn!(error = %e, script = %script.id, "the database cannot be read: serving the version cached before it was lost");
                    Ok(Some(Script::clone(&script)))
                }
                None => Err(e),
            },
            read => read,
        }
    }

    /// Caches what was read, unless a removal (or a loss of announcements)
    /// happened since the read began: it may be stale.
    fn keep(&self, script: Script, epoch: u64) -> Arc<Script> {
        let script = Arc::new(script);
        if self.catalog.removals.load(Ordering::SeqCst) == epoch
            && !self.catalog.distrusted.load(Ordering::SeqCst)
        {
            self.catalog.put(Arc::clone(&script));
        }
        script
    }

    /// A version just stored by this process.
    pub(crate) fn put(&self, script: Arc<Script>) {
        self.catalog.put(script);
    }

    /// Closes the gate: script lookups wait until the guard is dropped.
    /// Taken before a change of an app's whole state is committed; the
    /// new state is put in ([`DataCache::put`], [`DataCache::remove`],
    /// [`DataCache::reload_routing`]) before it is dropped.
    pub(crate) async fn close_gate(&self) -> tokio::sync::RwLockWriteGuard<'_, ()> {
        self.gate.write().await
    }

    /// A script changed or went: read it again when next asked for.
    pub(crate) fn remove(&self, id: ScriptId) {
        self.catalog.remove(id);
    }

    /// An app's name (for the metrics of its scripts' first records);
    /// `None` for an app deleted meanwhile.
    pub async fn app_name(&self, app: AppId) -> Result<Option<String>> {
        Ok(self.db.app_by_id(app).await?.map(|a| a.name))
    }

    pub fn routing(&self) -> Arc<Routing> {
        Arc::clone(&self.routing.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Rebuilds the routing snapshot from the database and swaps it in.
    /// Called at start-up and, under the write lock, after every change.
    pub async fn reload_routing(&self) -> Result<()> {
        let _turn = self.routing_reload.lock().await;
        let routes = self.db.routes().await?;
        let domains = self.db.domains().await?;
        let mut claims = Vec::with_capacity(domains.len());
        for d in domains {
            match DomainPattern::parse(&d.pattern) {
                Ok(p) => claims.push((p, d.app_id)),
                Err(e) => {
                    tracing::error!(domain = %d.pattern, error = %e, "a stored domain claim no longer parses; ignored")
                }
            }
        }
        let mut entries = Vec::with_capacity(routes.len());
        for r in routes {
            let parsed = RoutePattern::parse(&r.path)
                .and_then(|p| Methods::parse(r.methods.as_deref()).map(|m| (p, m)));
            match parsed {
                Ok((pattern, methods)) => entries.push((
                    r.app_id,
                    pattern,
                    methods,
                    RouteTarget {
                        route_id: r.id,
                        script_id: r.script_id,
                        path: r.path,
                        methods: r.methods,
                    },
                )),
                Err(e) => {
                    tracing::error!(route = %r.id, error = %e, "a stored route no longer parses; ignored")
                }
            }
        }
        let recording = self.db.app_recordings().await?;
        let (routing, skipped) = Routing::new(DEFAULT_APP_ID, claims, entries);
        let routing = routing.with_recording(recording);
        for s in skipped {
            tracing::error!(route = %s.route_id, "a stored route conflicts with an older one; ignored");
        }
        *self.routing.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(routing);
        Ok(())
    }
}

/// Announcements about scripts and routes (others are not this cache's).
impl Subscriber for DataCache {
    fn changed(&self, change: Change) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            match change {
                Change::Script {
                    id,
                    version: Some(version),
                } => {
                    // This process's own writes are announced too: a version
                    // already cached is kept.
                    if self
                        .catalog
                        .get_even_distrusted(id)
                        .is_none_or(|s| s.version < version)
                    {
                        self.catalog.remove(id);
                    }
                }
                Change::Script { id, version: None } => self.catalog.remove(id),
                Change::Routing => {
                    if let Err(e) = self.reload_routing().await {
                        tracing::error!(error = %e, "reloading routes after a change announced by the database failed");
                    }
                }
                Change::Triggers | Change::Events => {}
            }
        })
    }

    fn untrusted(&self) {
        self.catalog.distrusted.store(true, Ordering::SeqCst);
    }

    fn resync(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.catalog.clear();
            self.catalog.distrusted.store(false, Ordering::SeqCst);
            if let Err(e) = self.reload_routing().await {
                tracing::error!(error = %e, "reloading routes after the LISTEN connection came back failed");
            }
        })
    }
}

/// The data plane's view of the cache.
pub struct Resolver(pub Arc<DataCache>);

impl ScriptResolver for Resolver {
    fn resolve(&self, id: ScriptId) -> BoxFuture<'_, picloud_shared::Result<Option<Arc<Script>>>> {
        Box::pin(async move {
            self.0
                .script(id)
                .await
                .map_err(|e| e.into_shared("the script store"))
        })
    }

    fn resolve_name<'a>(
        &'a self,
        app: AppId,
        name: &'a str,
    ) -> BoxFuture<'a, picloud_shared::Result<Option<Arc<Script>>>> {
        Box::pin(async move {
            self.0
                .script_named(app, name)
                .await
                .map_err(|e| e.into_shared("the script store"))
        })
    }

    fn routing(&self) -> Arc<Routing> {
        self.0.routing()
    }
}
