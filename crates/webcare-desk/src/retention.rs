//! Retention (issue 15, DESIGN 11): the admin's terms (versioned, each in force from its
//! effective date), what the next run would anonymise (the preview), one run (the retention
//! worker calls it under its lease; it is also what the preview counts, page by page the same
//! way), and legal holds. The rule that decides is `webcare_domain::retention`; the SQL is in
//! `webcare_store::retention`.

use crate::error::{DeskError, DeskResult, InvalidParam};
use crate::principal::Principal;
use crate::Desk;
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;
use webcare_domain::retention::{in_force, Terms, TermsVersion};
use webcare_domain::CaseKind;
use webcare_store::retention::{kinds, Anonymised, ExpiryQuery, HoldTarget};
use webcare_store::versions::NewVersion;

/// Cases read per page of the pre-selection (and anonymised per transaction).
pub const PAGE: u32 = 1000;

/// The stored versions and the terms in force now (the defaults when none was ever stored).
#[derive(Debug, Clone)]
pub struct TermsNow {
    pub in_force: Terms,
    pub versions: Vec<TermsVersion>,
}

/// The terms, every version and the one in force at `now`.
pub async fn terms(desk: &Desk, now: DateTime<Utc>) -> DeskResult<TermsNow> {
    let versions = desk.store.retention_terms().await?;
    Ok(TermsNow {
        in_force: in_force(&versions, now),
        versions,
    })
}

/// Stores `terms` as the next version after `seen` (the newest version the caller saw; `None`
/// when it saw none), in force from `effective_from` (now when absent; never in the past, so
/// what earlier runs decided stays decided).
pub async fn set_terms(
    desk: &Desk,
    p: &Principal,
    seen: Option<i64>,
    terms: Terms,
    effective_from: Option<DateTime<Utc>>,
) -> DeskResult<TermsVersion> {
    let now = Utc::now();
    let mut bad: Vec<InvalidParam> = terms
        .check()
        .into_iter()
        .map(|e| InvalidParam::new(format!("terms.{}", e.field), "invalid", e.reason))
        .collect();
    if effective_from.is_some_and(|t| t < now - Duration::minutes(1)) {
        bad.push(InvalidParam::new(
            "effectiveFrom",
            "invalid",
            "now or later: a term cannot change what earlier runs decided",
        ));
    }
    if !bad.is_empty() {
        return Err(DeskError::Invalid(bad));
    }
    let newest = desk
        .store
        .retention_terms()
        .await?
        .last()
        .map(|v| v.version);
    if newest != seen {
        return Err(DeskError::Conflict(format!(
            "the retention terms changed meanwhile (the newest version is {})",
            newest.unwrap_or(0)
        )));
    }
    Ok(desk
        .store
        .save_retention_terms(NewVersion {
            after: seen,
            value: &terms,
            effective_from: effective_from.unwrap_or(now),
            actor: &p.actor(),
        })
        .await?)
}

/// How many cases of one kind a run would anonymise, and the oldest closing among them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindCount {
    pub kind: Option<CaseKind>,
    pub cases: u64,
    pub oldest_closing: DateTime<Utc>,
}

/// What a run at `at` would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    pub at: DateTime<Utc>,
    pub kinds: Vec<KindCount>,
    /// Raw journal deliveries past their term.
    pub journal_entries: u64,
    /// Audit rows past the audit's term.
    pub audit_rows: u64,
}

/// What the next run (at `now`) would anonymise; changes nothing.
pub async fn preview(desk: &Desk, now: DateTime<Utc>, journal_days: u32) -> DeskResult<Preview> {
    let terms = terms(desk, now).await?.in_force;
    let mut counts: BTreeMap<Option<CaseKind>, KindCount> = BTreeMap::new();
    for kind in kinds() {
        let mut q = ExpiryQuery::first(kind, &terms, now, PAGE);
        loop {
            let (page, next) = desk.store.expired_cases(&q).await?;
            for c in page {
                let e = counts.entry(c.kind).or_insert(KindCount {
                    kind: c.kind,
                    cases: 0,
                    oldest_closing: c.closing,
                });
                e.cases += 1;
                e.oldest_closing = e.oldest_closing.min(c.closing);
            }
            match next {
                Some(n) => q.after = Some(n),
                None => break,
            }
        }
    }
    let journal_entries = desk
        .store
        .journal_bodies_before(now - Duration::days(i64::from(journal_days)))
        .await?;
    let audit_rows = desk
        .store
        .audit_rows_before(now - Duration::days(i64::from(terms.audit_days)))
        .await?;
    Ok(Preview {
        at: now,
        kinds: counts.into_values().collect(),
        journal_entries,
        audit_rows,
    })
}

/// What a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunReport {
    pub anonymised: Anonymised,
    pub journal_entries: u64,
    /// Audit rows deleted past the audit's term.
    pub audit_rows: u64,
    /// The run stopped early (`keep_going` said no): the next one goes on.
    pub interrupted: bool,
}

/// How a run goes: the hash key, the journal's term, how many cases per transaction.
#[derive(Debug, Clone)]
pub struct RunSettings {
    pub key: Vec<u8>,
    pub journal_days: u32,
    pub batch: u32,
}

/// One run at `now`: every expired case, a batch per transaction (so the inbox's writes
/// interleave), then the raw journal deliveries past their term. `keep_going` is asked before
/// each batch (the worker's window and cancellation).
pub async fn run(
    desk: &Desk,
    settings: &RunSettings,
    now: DateTime<Utc>,
    keep_going: &(dyn Fn() -> bool + Send + Sync),
) -> DeskResult<RunReport> {
    run_paced(desk, settings, std::time::Duration::ZERO, now, keep_going).await
}

/// [`run`], pausing `pause` after each batch of cases that anonymised something: a run that
/// would otherwise keep a core busy leaves the inbox's requests room between its batches.
pub async fn run_paced(
    desk: &Desk,
    settings: &RunSettings,
    pause: std::time::Duration,
    now: DateTime<Utc>,
    keep_going: &(dyn Fn() -> bool + Send + Sync),
) -> DeskResult<RunReport> {
    let terms = terms(desk, now).await?.in_force;
    let mut out = RunReport::default();
    let batch = settings.batch.clamp(1, 5000);
    for kind in kinds() {
        let mut q = ExpiryQuery::first(kind, &terms, now, batch);
        loop {
            if !keep_going() {
                out.interrupted = true;
                return Ok(out);
            }
            // Anonymised cases leave the pre-selection, so the page after the last one read
            // starts where the unexpired (a longer theme term) or skipped ones end.
            let (page, next) = desk.store.expired_cases(&q).await?;
            let ids: Vec<_> = page.iter().map(|c| c.id).collect();
            out.anonymised += desk.store.anonymise_cases(&ids, &settings.key, now).await?;
            if !pause.is_zero() && !ids.is_empty() {
                tokio::time::sleep(pause).await;
            }
            match next {
                Some(n) => q.after = Some(n),
                None => break,
            }
        }
    }
    let before = now - Duration::days(i64::from(settings.journal_days));
    loop {
        if !keep_going() {
            out.interrupted = true;
            return Ok(out);
        }
        let n = desk.store.scrub_journal_before(before, batch).await?;
        out.journal_entries += n;
        if n < u64::from(batch) {
            break;
        }
    }
    let before = now - Duration::days(i64::from(terms.audit_days));
    loop {
        if !keep_going() {
            out.interrupted = true;
            return Ok(out);
        }
        let n = desk.store.delete_audit_before(before, batch).await?;
        out.audit_rows += n;
        if n < u64::from(batch) {
            break;
        }
    }
    Ok(out)
}

/// Puts a legal hold on a case or a contact (`reason`: why, 1 to 500 characters), or lifts it
/// (`None`). A held case, and every case of a held contact, is never anonymised; a held
/// contact cannot be erased.
pub async fn set_hold(
    desk: &Desk,
    p: &Principal,
    target: HoldTarget,
    reason: Option<&str>,
) -> DeskResult<()> {
    let reason = reason.map(str::trim);
    if reason.is_some_and(|r| r.is_empty() || r.chars().count() > 500) {
        return Err(DeskError::invalid(
            "reason",
            "invalid",
            "1 to 500 characters: why the data must be kept (e.g. a formal klacht in progress)",
        ));
    }
    Ok(desk
        .store
        .set_legal_hold(target, reason, &p.actor())
        .await?)
}
