//! The classification lists and theme rules (issue 16, DESIGN 3 and 10): the admin's themes
//! (with UPL URIs), kinds and target groups, "a theme before resolving", and the spike rule.
//! The rules are `webcare_domain::classification`; what a case may be set to is checked here
//! for every door that changes a case (PATCH, bulk resolve, the web app's forms).

use crate::error::{DeskError, DeskResult, InvalidParam};
use crate::principal::Principal;
use crate::Desk;
use webcare_domain::classification::{
    check_list, check_spike, Classification, Entry, ListName, Problem, SpikeRule,
};
use webcare_store::CaseRecord;

/// The stored document and its version (0: none stored, the defaults).
pub async fn current(desk: &Desk) -> DeskResult<(i64, Classification)> {
    Ok(desk.store.classification().await?)
}

fn invalid(problems: Vec<Problem>) -> DeskError {
    DeskError::Invalid(
        problems
            .into_iter()
            .map(|p| InvalidParam::new(&p.field, p.code, p.reason))
            .collect(),
    )
}

/// `seen` is the version the caller read; a change made meanwhile is a 409.
async fn save(
    desk: &Desk,
    p: &Principal,
    seen: Option<i64>,
    change: impl FnOnce(&mut Classification) -> DeskResult<()>,
) -> DeskResult<(i64, Classification)> {
    let (version, mut c) = current(desk).await?;
    if seen.is_some_and(|s| s != version) {
        return Err(DeskError::Conflict(format!(
            "the themes, kinds or target groups changed meanwhile (the newest version is {version})"
        )));
    }
    change(&mut c)?;
    let v = desk
        .store
        .save_classification(version, &c, &p.actor())
        .await?;
    Ok((v, c))
}

/// Replaces list `l`. A theme carried by a case cannot be removed (retire it instead: hidden
/// from the pickers, kept on its cases and in the reports).
pub async fn set_list(
    desk: &Desk,
    p: &Principal,
    seen: Option<i64>,
    l: ListName,
    items: Vec<Entry>,
) -> DeskResult<(i64, Classification)> {
    let problems = check_list(l, &items);
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    let (_, before) = current(desk).await?;
    let removed: Vec<String> = before
        .list(l)
        .iter()
        .filter(|old| !items.iter().any(|e| e.name == old.name))
        .map(|e| e.name.clone())
        .collect();
    if l == ListName::Themes {
        let used = desk.store.themes_in_use(&removed).await?;
        if !used.is_empty() {
            return Err(DeskError::invalid(
                "items",
                "in_use",
                format!(
                    "cases carry {}: retire a theme in use (retired: true) instead of removing it",
                    used.join(", ")
                ),
            ));
        }
    }
    save(desk, p, seen, |c| {
        *c.list_mut(l) = items;
        Ok(())
    })
    .await
}

/// Sets the desk-wide theme rules.
pub async fn set_rules(
    desk: &Desk,
    p: &Principal,
    seen: Option<i64>,
    require_theme_to_resolve: bool,
    spike: SpikeRule,
) -> DeskResult<(i64, Classification)> {
    let problems = check_spike(&spike);
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    save(desk, p, seen, |c| {
        c.require_theme_to_resolve = require_theme_to_resolve;
        c.spike = spike;
        Ok(())
    })
    .await
}

/// Checks a case's classification as a change leaves it: each value on its list (or unchanged),
/// and a theme when the change resolves the case and the desk requires one.
pub fn check_case(
    c: &Classification,
    before: &CaseRecord,
    after: &CaseRecord,
    resolves: bool,
) -> DeskResult<()> {
    let mut bad = Vec::new();
    let mut field = |l: ListName, now: Option<&str>, was: Option<&str>| {
        if let Some(v) = now.filter(|v| Some(*v) != was) {
            if !c.allows(l, v, was) {
                bad.push(InvalidParam::new(
                    l.field(),
                    "unknown_value",
                    format!("'{v}' is not on the list; one of: {}", c.active_names(l)),
                ));
            }
        }
    };
    field(
        ListName::Themes,
        after.theme.as_deref(),
        before.theme.as_deref(),
    );
    field(
        ListName::Kinds,
        after.kind.map(|k| k.as_str()),
        before.kind.map(|k| k.as_str()),
    );
    field(
        ListName::TargetGroups,
        after.target_group.map(|g| g.as_str()),
        before.target_group.map(|g| g.as_str()),
    );
    if resolves && c.require_theme_to_resolve && after.theme.is_none() {
        bad.push(InvalidParam::new(
            "theme",
            "theme_required",
            "choose a theme before resolving the case (kies eerst een thema)",
        ));
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(DeskError::Invalid(bad))
    }
}
