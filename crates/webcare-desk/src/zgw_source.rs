//! Where the desk's current `[zgw]` settings come from: the admin API's stored settings when
//! there are any, else the configuration file's. Each node caches them with their version and
//! re-reads the version (one small query) at most once a second, so a change made on any node
//! applies everywhere without a restart. The statustypen looked up in the Catalogi API are cached
//! here too, per zaaktype.

use crate::zgw::{Statustypen, ZgwSettings};
use crate::zgw_client::{Call, CallError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use webcare_store::Store;

/// How stale a node's copy of the settings may be.
const RECHECK: Duration = Duration::from_secs(1);
/// How long looked-up statustypen are kept (a catalogue changes rarely; a new version of the
/// settings empties the cache at once).
const STATUSTYPEN_TTL: Duration = Duration::from_secs(600);

#[derive(Clone, Default)]
struct Cached {
    /// The stored version the settings are from; 0: the configuration file's.
    version: i64,
    settings: Option<Arc<ZgwSettings>>,
    checked: Option<Instant>,
}

pub struct ZgwSource {
    file: Option<Arc<ZgwSettings>>,
    cached: Mutex<Cached>,
    statustypen: Mutex<HashMap<String, (Statustypen, Instant)>>,
    client: reqwest::Client,
}

/// Where the settings in force come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingsSource {
    None,
    ConfigFile,
    Database,
}

impl ZgwSource {
    pub fn new(file: Option<ZgwSettings>) -> Self {
        Self {
            file: file.map(Arc::new),
            cached: Mutex::new(Cached::default()),
            statustypen: Mutex::new(HashMap::new()),
            client: crate::zgw_client::http_client(Duration::from_secs(15)),
        }
    }

    /// The HTTP client for the zaaksysteem's APIs (admin calls).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The configuration file's settings.
    pub fn file(&self) -> Option<Arc<ZgwSettings>> {
        self.file.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cached> {
        self.cached.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The settings in force, at most [`RECHECK`] old.
    pub async fn current(&self, store: &dyn Store) -> Option<Arc<ZgwSettings>> {
        self.current_with_source(store).await.0
    }

    /// The settings in force and where they come from.
    pub async fn current_with_source(
        &self,
        store: &dyn Store,
    ) -> (Option<Arc<ZgwSettings>>, SettingsSource) {
        let c = self.lock().clone();
        let source = |c: &Cached| match (c.version, &c.settings) {
            (_, None) => SettingsSource::None,
            (0, Some(_)) => SettingsSource::ConfigFile,
            _ => SettingsSource::Database,
        };
        if c.checked.is_some_and(|t| t.elapsed() < RECHECK) {
            return (c.settings.clone(), source(&c));
        }
        let version = match store.zgw_settings_version().await {
            Ok(v) => v,
            Err(e) => {
                // The database is away for a moment: keep what we have.
                tracing::warn!(error = %e, "zgw settings: version check failed");
                let s = if c.checked.is_some() {
                    c.settings.clone()
                } else {
                    self.file.clone()
                };
                let src = if c.checked.is_some() {
                    source(&c)
                } else if s.is_some() {
                    SettingsSource::ConfigFile
                } else {
                    SettingsSource::None
                };
                return (s, src);
            }
        };
        if c.checked.is_some() && version == c.version {
            self.lock().checked = Some(Instant::now());
            return (c.settings.clone(), source(&c));
        }
        let settings = if version == 0 {
            self.file.clone()
        } else {
            match store.zgw_settings().await {
                Ok(Some(stored)) => match serde_json::from_value::<ZgwSettings>(stored.settings) {
                    Ok(s) => Some(Arc::new(s)),
                    Err(e) => {
                        tracing::warn!(error = %e, "zgw settings: the stored settings do not read; the configuration file's apply");
                        self.file.clone()
                    }
                },
                Ok(None) => self.file.clone(),
                Err(e) => {
                    tracing::warn!(error = %e, "zgw settings: read failed");
                    return (c.settings.clone(), source(&c));
                }
            }
        };
        let fresh = Cached {
            version,
            settings,
            checked: Some(Instant::now()),
        };
        if c.checked.is_some() {
            tracing::info!(version, "zgw settings changed");
        }
        self.statustypen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        let src = source(&fresh);
        let s = fresh.settings.clone();
        *self.lock() = fresh;
        (s, src)
    }

    /// This node stored a new version: in force here at once.
    pub fn stored(&self, version: i64, settings: ZgwSettings) {
        *self.lock() = Cached {
            version,
            settings: Some(Arc::new(settings)),
            checked: Some(Instant::now()),
        };
        self.statustypen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// The statustypen for a zaak of `zaaktype`: the configured ones, else looked up in the
    /// Catalogi API (`GET /statustypen?zaaktype=`) and cached.
    pub async fn statustypen(
        &self,
        settings: &ZgwSettings,
        zaaktype: &str,
    ) -> Result<Statustypen, CallError> {
        if let Some(t) = &settings.statustypen {
            return Ok(t.clone());
        }
        if let Some((t, at)) = self
            .statustypen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(zaaktype)
        {
            if at.elapsed() < STATUSTYPEN_TTL {
                return Ok(t.clone());
            }
        }
        let call = Call {
            client: &self.client,
            settings,
            user: "webcare",
            user_name: "webcare",
        };
        let encoded: String = url::form_urlencoded::byte_serialize(zaaktype.as_bytes()).collect();
        let mut url = format!(
            "{}/statustypen?zaaktype={encoded}",
            settings.catalogi_url.trim_end_matches('/')
        );
        let mut types: Vec<(i64, String)> = Vec::new();
        // A zaaktype has a handful of statustypen; a few pages at most.
        for _ in 0..10 {
            let page = call.get(&url).await?;
            for t in page["results"].as_array().into_iter().flatten() {
                if let (Some(n), Some(u)) = (t["volgnummer"].as_i64(), t["url"].as_str()) {
                    types.push((n, u.to_owned()));
                }
            }
            match page["next"].as_str() {
                Some(next) if !next.is_empty() => url = next.to_owned(),
                _ => break,
            }
        }
        let Some((ontvangen, in_behandeling, afgerond)) =
            webcare_domain::zgw::pick_statustypen(&types)
        else {
            return Err(CallError::Refused(format!(
                "the Catalogi API lists {} statustypen for zaaktype {zaaktype}; the desk needs at \
                 least three (ontvangen, in behandeling, afgerond), or zgw.statustypen",
                types.len()
            )));
        };
        let t = Statustypen {
            ontvangen,
            in_behandeling,
            afgerond,
        };
        self.statustypen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(zaaktype.to_owned(), (t.clone(), Instant::now()));
        Ok(t)
    }
}
