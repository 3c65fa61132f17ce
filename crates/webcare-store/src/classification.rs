//! The classification lists and theme rules (issue 16; the rules themselves are
//! `webcare_domain::classification`), versioned like the cost model, and the theme spike
//! episodes (`webcare_domain::spikes`): the arrivals per theme in the spike windows, and an
//! episode opened with its live event (and webhook deliveries) in one transaction.

use crate::agent_events::{broadcast, insert_events, NewEvent};
use crate::db::{query, SqlCore};
use crate::time::{from_ms, to_ms};
use crate::versions::{self, NewVersion, Table};
use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use std::collections::BTreeMap;
use uuid::Uuid;
use webcare_domain::classification::Classification;

const TABLE: Table = Table {
    name: "classification_versions",
    column: "classification",
    stale: "the themes, kinds or target groups changed meanwhile",
};

/// An episode of a theme's spike.
#[derive(Debug, Clone, PartialEq)]
pub struct SpikeRecord {
    pub id: Uuid,
    pub theme: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    /// Arrivals in the hour before the start, and the usual level then.
    pub last_hour: i64,
    pub usual: f64,
}

type SpikeRow = (Uuid, String, i64, Option<i64>, i64, f64);

fn spike(r: SpikeRow) -> SpikeRecord {
    SpikeRecord {
        id: r.0,
        theme: r.1,
        started_at: from_ms(r.2),
        ended_at: r.3.map(from_ms),
        last_hour: r.4,
        usual: r.5,
    }
}

const SPIKE_COLS: &str = "id, theme, started_at, ended_at, last_hour, usual";

#[async_trait]
pub trait ClassificationStore: Send + Sync {
    /// The newest stored version and its document; `(0, defaults)` when none was stored.
    async fn classification(&self) -> Result<(i64, Classification)>;
    /// Stores `c` as the version after `after` (0: the first).
    /// [`crate::StoreError::Conflict`] when another change took that version.
    async fn save_classification(&self, after: i64, c: &Classification, actor: &str)
        -> Result<i64>;
    /// Which of `themes` a case carries.
    async fn themes_in_use(&self, themes: &[String]) -> Result<Vec<String>>;
    /// The cases that arrived in each window (`[start, end)`, by their first message) per theme:
    /// the theme an agent set, else the suggestion made at arrival (in a storm nobody tags yet).
    /// Each theme's counts are in the windows' order.
    async fn theme_arrivals(
        &self,
        windows: &[(DateTime<Utc>, DateTime<Utc>)],
    ) -> Result<BTreeMap<String, Vec<u64>>>;
    /// The episodes not yet over.
    async fn open_spikes(&self) -> Result<Vec<SpikeRecord>>;
    /// The episodes started since `since`, newest first (at most 100).
    async fn spikes_since(&self, since: DateTime<Utc>) -> Result<Vec<SpikeRecord>>;
    /// Opens an episode for `s.theme` and appends its event, in one transaction; `None` (and no
    /// event) when the theme has an open episode already (another node was first).
    async fn start_spike(&self, s: &SpikeRecord, event: NewEvent) -> Result<Option<SpikeRecord>>;
    /// Ends an open episode.
    async fn end_spike(&self, id: Uuid, at: DateTime<Utc>) -> Result<()>;
}

#[async_trait]
impl<S: SqlCore> ClassificationStore for S {
    async fn classification(&self) -> Result<(i64, Classification)> {
        let row: Option<(i64, Json<Classification>)> = query(
            "SELECT version, classification FROM classification_versions \
             ORDER BY version DESC LIMIT 1",
        )
        .fetch_optional(self.db().read())
        .await?;
        Ok(row.map_or_else(|| (0, Classification::default()), |(v, c)| (v, c.0)))
    }

    async fn save_classification(
        &self,
        after: i64,
        c: &Classification,
        actor: &str,
    ) -> Result<i64> {
        let (version, _) = versions::save(
            self.db(),
            &TABLE,
            NewVersion {
                after: (after > 0).then_some(after),
                value: c,
                effective_from: Utc::now(),
                actor,
            },
        )
        .await?;
        Ok(version)
    }

    async fn themes_in_use(&self, themes: &[String]) -> Result<Vec<String>> {
        if themes.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = query("SELECT DISTINCT theme FROM cases WHERE theme IN ");
        q.push_list(themes.iter().map(String::as_str));
        q.push(" ORDER BY theme");
        q.scalars(self.db().read()).await
    }

    async fn theme_arrivals(
        &self,
        windows: &[(DateTime<Utc>, DateTime<Utc>)],
    ) -> Result<BTreeMap<String, Vec<u64>>> {
        let mut out: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        if windows.is_empty() {
            return Ok(out);
        }
        // One range per window, each a probe of `cases_arrival`.
        let mut q = query("SELECT COALESCE(theme, suggested_theme) AS t, CASE");
        for (i, (from, to)) in windows.iter().enumerate() {
            q.push(" WHEN first_message_at >= ")
                .push_bind(to_ms(*from))
                .push(" AND first_message_at < ")
                .push_bind(to_ms(*to))
                .push(&format!(" THEN {i}"));
        }
        q.push(" END AS w, COUNT(*) FROM cases WHERE (");
        for (i, (from, to)) in windows.iter().enumerate() {
            q.push(if i == 0 { "" } else { " OR " })
                .push("(first_message_at >= ")
                .push_bind(to_ms(*from))
                .push(" AND first_message_at < ")
                .push_bind(to_ms(*to))
                .push(")");
        }
        q.push(") AND COALESCE(theme, suggested_theme) IS NOT NULL GROUP BY 1, 2");
        let rows: Vec<(String, i32, i64)> = q.fetch_all(self.db().read()).await?;
        for (theme, w, n) in rows {
            let counts = out.entry(theme).or_insert_with(|| vec![0; windows.len()]);
            if let Some(c) = usize::try_from(w).ok().and_then(|w| counts.get_mut(w)) {
                *c += n.max(0) as u64;
            }
        }
        Ok(out)
    }

    async fn open_spikes(&self) -> Result<Vec<SpikeRecord>> {
        let rows: Vec<SpikeRow> = query(format!(
            "SELECT {SPIKE_COLS} FROM theme_spikes WHERE ended_at IS NULL ORDER BY theme"
        ))
        .fetch_all(self.db().read())
        .await?;
        Ok(rows.into_iter().map(spike).collect())
    }

    async fn spikes_since(&self, since: DateTime<Utc>) -> Result<Vec<SpikeRecord>> {
        let rows: Vec<SpikeRow> = query(format!(
            "SELECT {SPIKE_COLS} FROM theme_spikes WHERE started_at >= $1 \
             ORDER BY started_at DESC, id DESC LIMIT 100"
        ))
        .bind(to_ms(since))
        .fetch_all(self.db().read())
        .await?;
        Ok(rows.into_iter().map(spike).collect())
    }

    async fn start_spike(&self, s: &SpikeRecord, event: NewEvent) -> Result<Option<SpikeRecord>> {
        let mut tx = self.db().begin().await?;
        let row: Option<SpikeRow> = query(format!(
            "INSERT INTO theme_spikes ({SPIKE_COLS}) VALUES ($1, $2, $3, NULL, $4, $5) \
             ON CONFLICT (theme) WHERE ended_at IS NULL DO NOTHING RETURNING {SPIKE_COLS}"
        ))
        .bind(s.id)
        .bind(&s.theme)
        .bind(to_ms(s.started_at))
        .bind(s.last_hour)
        .bind(s.usual)
        .fetch_optional(&mut tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let recs = insert_events(&mut tx.conn(), &[event]).await?;
        tx.commit().await?;
        broadcast(self.events(), &recs);
        Ok(Some(spike(row)))
    }

    async fn end_spike(&self, id: Uuid, at: DateTime<Utc>) -> Result<()> {
        query("UPDATE theme_spikes SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL")
            .bind(to_ms(at))
            .bind(id)
            .execute(self.db().write())
            .await?;
        Ok(())
    }
}
