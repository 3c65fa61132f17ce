//! The theme suggestion model in the database (issue 16; the model itself is
//! `webcare_domain::themes`). An agent's tag teaches it in the case change's own transaction
//! ([`tagged`], from `AgentStore::write_case`): the case's first citizen message becomes an
//! example of the new theme, and what an earlier tag of the case taught is taken back. The
//! counts are kept summed per theme and feature, so a node loads the model in one read of a
//! bounded size, and only when the version moved ([`model`], from the ingest transaction).

use crate::db::{query, Arg, Conn, SqlCore};
use crate::time::to_ms;
use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use uuid::Uuid;
use webcare_domain::themes::{counted, features, Model};

/// How long a node trusts its cached model before it asks for the version again (one cheap
/// read): a tag on another node reaches this node's suggestions after at most this long.
const CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(2);
/// Rows per multi-row statement.
const ROWS: usize = 300;
/// The held-out report reads at most this many of the newest examples.
const MAX_EXAMPLES: i64 = 50_000;

/// This node's model: when it was checked, its version, the seeds plus the learned counts.
#[derive(Default)]
pub(crate) struct ThemeCache {
    entry: Mutex<Option<(Instant, i64, Arc<Model>)>>,
}

impl ThemeCache {
    fn get(&self) -> Option<(Instant, i64, Arc<Model>)> {
        self.entry.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn put(&self, version: i64, m: Arc<Model>) {
        *self.entry.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), version, m));
    }

    /// Forgets the cached model (a tag saved on this node is suggested from at once).
    pub(crate) fn invalidate(&self) {
        *self.entry.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// The model in force: the seeds plus what the desk's tagging taught, cached per node and
/// reloaded only when its version changed.
pub(crate) async fn model(conn: &mut Conn<'_>, cache: &ThemeCache) -> Result<Arc<Model>> {
    let cached = cache.get();
    if let Some((at, _, m)) = &cached {
        if at.elapsed() < CACHE_TTL {
            return Ok(m.clone());
        }
    }
    let version: i64 = query("SELECT version FROM theme_model_version WHERE id = 1")
        .scalar_optional(&mut *conn)
        .await?
        .unwrap_or(0);
    if let Some((_, v, m)) = cached.filter(|(_, v, _)| *v == version) {
        cache.put(v, m.clone());
        return Ok(m);
    }
    let mut learned = Model::empty();
    let themes: Vec<(String, i64, i64)> =
        query("SELECT theme, examples, total FROM theme_model_themes")
            .fetch_all(&mut *conn)
            .await?;
    for (t, examples, total) in themes {
        learned.set(&t, examples.max(0) as u64, total.max(0) as u64);
    }
    let feats: Vec<(String, i64, i64)> =
        query("SELECT theme, feature, count FROM theme_model_features")
            .fetch_all(&mut *conn)
            .await?;
    for (t, f, n) in feats {
        if let (Ok(f), Ok(n)) = (u32::try_from(f), u64::try_from(n)) {
            learned.set_feature(&t, f, n);
        }
    }
    let mut m = Model::seeded();
    m.merge(&learned);
    let m = Arc::new(m);
    cache.put(version, m.clone());
    Ok(m)
}

/// Adds (`sign` 1) or takes back (-1) one example's counts to a theme's sums.
async fn apply(conn: &mut Conn<'_>, theme: &str, counts: &[(u32, u64)], sign: i64) -> Result<()> {
    let total: i64 = counts.iter().map(|(_, n)| *n as i64).sum();
    query(
        "INSERT INTO theme_model_themes (theme, examples, total) VALUES ($1, $2, $3) \
         ON CONFLICT (theme) DO UPDATE SET examples = theme_model_themes.examples + \
         excluded.examples, total = theme_model_themes.total + excluded.total",
    )
    .bind(theme)
    .bind(sign)
    .bind(sign * total)
    .execute(&mut *conn)
    .await?;
    for chunk in counts.chunks(ROWS) {
        let mut q = query("INSERT INTO theme_model_features (theme, feature, count) ");
        q.push_values(chunk.iter().map(|(f, n)| -> [Arg; 3] {
            [
                theme.into(),
                i64::from(*f).into(),
                (sign * *n as i64).into(),
            ]
        }))
        .push(
            " ON CONFLICT (theme, feature) DO UPDATE SET \
             count = theme_model_features.count + excluded.count",
        );
        q.execute(&mut *conn).await?;
    }
    if sign < 0 {
        query("DELETE FROM theme_model_features WHERE theme = $1 AND count <= 0")
            .bind(theme)
            .execute(&mut *conn)
            .await?;
        query("DELETE FROM theme_model_themes WHERE theme = $1 AND examples <= 0")
            .bind(theme)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// A case's theme changed from `before` to `after` by an agent, inside the change's
/// transaction: what the case taught before is taken back, and its first citizen message
/// becomes an example of `after`. Answers whether the model changed.
pub(crate) async fn tagged(
    conn: &mut Conn<'_>,
    case_id: Uuid,
    before: Option<&str>,
    after: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool> {
    if before == after {
        return Ok(false);
    }
    // The version row first: concurrent tags (PostgreSQL) queue on it rather than locking
    // theme rows in opposite orders (a retag A -> B beside one B -> A would deadlock).
    query("UPDATE theme_model_version SET version = version + 1 WHERE id = 1")
        .execute(&mut *conn)
        .await?;
    let mut changed = false;
    let old: Option<(String, String)> =
        query("SELECT theme, features FROM theme_examples WHERE case_id = $1")
            .bind(case_id)
            .fetch_optional(&mut *conn)
            .await?;
    if let Some((theme, stored)) = old {
        let counts: Vec<(u32, u64)> = serde_json::from_str(&stored).unwrap_or_default();
        apply(conn, &theme, &counts, -1).await?;
        query("DELETE FROM theme_examples WHERE case_id = $1")
            .bind(case_id)
            .execute(&mut *conn)
            .await?;
        changed = true;
    }
    if let Some(theme) = after {
        let text: Option<String> = query(
            "SELECT text FROM messages WHERE case_id = $1 AND direction = 'inbound' \
             ORDER BY sent_at, id LIMIT 1",
        )
        .bind(case_id)
        .scalar_optional(&mut *conn)
        .await?;
        let counts = counted(&features(text.as_deref().unwrap_or("")));
        // A case with no words to learn from (an echo, a photo) teaches nothing.
        if !counts.is_empty() {
            query(
                "INSERT INTO theme_examples (case_id, theme, features, tagged_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(case_id)
            .bind(theme)
            .bind(serde_json::to_string(&counts).unwrap_or_else(|_| "[]".into()))
            .bind(to_ms(now))
            .execute(&mut *conn)
            .await?;
            apply(conn, theme, &counts, 1).await?;
            changed = true;
        }
    }
    Ok(changed)
}

/// The suggestion for each new case: its first citizen message in the batch, classified.
pub(crate) fn suggestions<'a>(
    model: &Model,
    first_texts: impl IntoIterator<Item = (Uuid, &'a str)>,
) -> BTreeMap<Uuid, webcare_domain::themes::Suggestion> {
    first_texts
        .into_iter()
        .filter_map(|(id, text)| model.suggest(text).map(|s| (id, s)))
        .collect()
}

/// How well the suggestions do on the desk's own tagging: the newest share of the tagged cases
/// held out, the model (seeds plus the older examples) trained on the rest.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ThemeAccuracy {
    /// Tagged cases read (at most the newest 50,000).
    pub examples: u64,
    /// Examples the model was trained on (the older ones).
    pub trained: u64,
    /// Examples held out (the newest), and how many the model suggested right.
    pub tested: u64,
    pub correct: u64,
    /// `correct / tested`; absent when nothing was held out.
    pub accuracy: Option<f64>,
    /// Per theme of the held-out cases.
    pub themes: Vec<ThemeAccuracyRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ThemeAccuracyRow {
    pub theme: String,
    pub tested: u64,
    pub correct: u64,
}

/// The theme model's store.
#[async_trait]
pub trait ThemeModels: Send + Sync {
    /// Held-out accuracy, `holdout_percent` (1 to 90) of the newest tagged cases held out.
    async fn theme_accuracy(&self, holdout_percent: u32) -> Result<ThemeAccuracy>;
}

#[async_trait]
impl<S: SqlCore> ThemeModels for S {
    async fn theme_accuracy(&self, holdout_percent: u32) -> Result<ThemeAccuracy> {
        let mut rows: Vec<(String, String)> = query(
            "SELECT theme, features FROM theme_examples ORDER BY tagged_at DESC, case_id DESC \
             LIMIT $1",
        )
        .bind(MAX_EXAMPLES)
        .fetch_all(self.db().read())
        .await?;
        rows.reverse();
        let examples: Vec<(String, Vec<(u32, u64)>)> = rows
            .into_iter()
            .map(|(t, f)| (t, serde_json::from_str(&f).unwrap_or_default()))
            .collect();
        let n = examples.len();
        let held = (n * holdout_percent.clamp(1, 90) as usize).div_ceil(100);
        let (train, test) = examples.split_at(n - held);
        let per = webcare_domain::themes::held_out(train, test);
        let correct: usize = per.values().map(|(_, c)| c).sum();
        Ok(ThemeAccuracy {
            examples: n as u64,
            trained: train.len() as u64,
            tested: test.len() as u64,
            correct: correct as u64,
            accuracy: (!test.is_empty()).then(|| correct as f64 / test.len() as f64),
            themes: per
                .into_iter()
                .map(|(theme, (tested, correct))| ThemeAccuracyRow {
                    theme,
                    tested: tested as u64,
                    correct: correct as u64,
                })
                .collect(),
        })
    }
}
