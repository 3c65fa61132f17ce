//! Retention (issue 15, DESIGN 11): the terms per case kind (and theme), versioned with an
//! effective date; what the next run would anonymise; legal holds on cases and contacts. The
//! use cases are `webcare_desk::retention`, the rule `webcare_domain::retention` (pure).

use crate::auth::{roles, Authorized};
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, IdPath};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use webcare_desk::retention;
use webcare_domain::retention::{Terms, TermsVersion};
use webcare_domain::CaseKind;
use webcare_store::retention::HoldTarget;

/// One stored version of the terms.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetentionTermsVersion {
    pub version: i64,
    /// In force from this instant on (until a later version takes effect).
    pub effective_from: DateTime<Utc>,
    pub terms: Terms,
}

impl From<TermsVersion> for RetentionTermsVersion {
    fn from(v: TermsVersion) -> Self {
        Self {
            version: v.version,
            effective_from: v.effective_from,
            terms: v.terms,
        }
    }
}

/// The retention terms: those in force now, and every stored version.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetentionTerms {
    /// The newest stored version (0: none; the Selectielijst defaults apply). A change names it.
    pub version: i64,
    /// In days from a case's closing. Defaults (Selectielijst gemeenten 2020): a question 1
    /// year, a melding or klacht 5 years, anything else 1 year.
    pub in_force: Terms,
    /// Oldest first; a version whose `effectiveFrom` lies ahead is not yet in force.
    pub versions: Vec<RetentionTermsVersion>,
}

/// A new version of the terms.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewRetentionTerms {
    /// The newest version the caller read (0: none): a change made meanwhile is a 409.
    #[schema(minimum = 0)]
    pub version: i64,
    /// When the terms take effect: now when absent; never in the past.
    pub effective_from: Option<DateTime<Utc>>,
    pub terms: Terms,
}

/// The retention terms in force and their versions (admin and privacy officer).
#[utoipa::path(
    get, path = "/api/v1/retention/terms", tag = "retention",
    responses((status = 200, body = RetentionTerms)),
    security(("bearer" = []))
)]
pub async fn get_terms(
    State(state): State<AppState>,
    _caller: Authorized<roles::Privacy>,
) -> ApiResult<Json<RetentionTerms>> {
    let t = retention::terms(&state, Utc::now()).await?;
    Ok(Json(RetentionTerms {
        version: t.versions.last().map_or(0, |v| v.version),
        in_force: t.in_force,
        versions: t.versions.into_iter().map(Into::into).collect(),
    }))
}

/// Store a new version of the retention terms (admin).
#[utoipa::path(
    put, path = "/api/v1/retention/terms", tag = "retention", request_body = NewRetentionTerms,
    responses(
        (status = 200, body = RetentionTermsVersion),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The terms changed meanwhile: reload and try again", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn put_terms(
    State(state): State<AppState>,
    caller: Authorized<roles::AdminOnly>,
    ApiJson(body): ApiJson<NewRetentionTerms>,
) -> ApiResult<Json<RetentionTermsVersion>> {
    let seen = (body.version > 0).then_some(body.version);
    let saved =
        retention::set_terms(&state, &caller, seen, body.terms, body.effective_from).await?;
    Ok(Json(saved.into()))
}

/// The cases of one kind the next run would anonymise.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetentionKindCount {
    /// `null`: cases without a kind.
    pub kind: Option<CaseKind>,
    pub cases: u64,
    pub oldest_closing: DateTime<Utc>,
}

/// What the next retention run would anonymise, were it to run now.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetentionPreview {
    pub at: DateTime<Utc>,
    pub cases: u64,
    pub kinds: Vec<RetentionKindCount>,
    /// Raw platform deliveries in the journal past their (short) term, to be emptied.
    pub journal_entries: u64,
    /// Audit rows past the audit's own term (`auditDays`), to be deleted; the record of an erase
    /// is kept for good.
    pub audit_rows: u64,
}

/// What the next retention run would anonymise, per kind; changes nothing (admin and privacy
/// officer).
#[utoipa::path(
    get, path = "/api/v1/retention/preview", tag = "retention",
    responses((status = 200, body = RetentionPreview)),
    security(("bearer" = []))
)]
pub async fn preview(
    State(state): State<AppState>,
    _caller: Authorized<roles::Privacy>,
) -> ApiResult<Json<RetentionPreview>> {
    let p = retention::preview(&state, Utc::now(), state.settings.journal_days).await?;
    Ok(Json(RetentionPreview {
        at: p.at,
        cases: p.kinds.iter().map(|k| k.cases).sum(),
        kinds: p
            .kinds
            .into_iter()
            .map(|k| RetentionKindCount {
                kind: k.kind,
                cases: k.cases,
                oldest_closing: k.oldest_closing,
            })
            .collect(),
        journal_entries: p.journal_entries,
        audit_rows: p.audit_rows,
    }))
}

/// Why the data must be kept.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LegalHold {
    /// 1 to 500 characters (e.g. "formele klacht in behandeling"); kept in the audit trail.
    pub reason: String,
}

/// The two legal-hold handlers (set and lift) of one kind of target: one body each, the route
/// and its documentation per target (utoipa reads both from the handler).
macro_rules! legal_hold {
    ($target:ident, $path:tt, $hold:ident, $hold_doc:tt, $release:ident, $release_doc:tt) => {
        #[doc = $hold_doc]
        #[utoipa::path(
                    post, path = $path, tag = "retention",
                    params(("id" = Uuid, Path)), request_body = LegalHold,
                    responses(
                        (status = 204, description = "Held"),
                        (status = 400, body = Problem, content_type = "application/problem+json"),
                        (status = 404, body = Problem, content_type = "application/problem+json"),
                    ),
                    security(("bearer" = []))
                )]
        pub async fn $hold(
            State(state): State<AppState>,
            caller: Authorized<roles::Privacy>,
            IdPath(id): IdPath,
            ApiJson(body): ApiJson<LegalHold>,
        ) -> ApiResult<StatusCode> {
            retention::set_hold(&state, &caller, HoldTarget::$target(id), Some(&body.reason))
                .await?;
            Ok(StatusCode::NO_CONTENT)
        }

        #[doc = $release_doc]
        #[utoipa::path(
                    delete, path = $path, tag = "retention",
                    params(("id" = Uuid, Path)),
                    responses(
                        (status = 204, description = "No longer held"),
                        (status = 404, body = Problem, content_type = "application/problem+json"),
                    ),
                    security(("bearer" = []))
                )]
        pub async fn $release(
            State(state): State<AppState>,
            caller: Authorized<roles::Privacy>,
            IdPath(id): IdPath,
        ) -> ApiResult<StatusCode> {
            retention::set_hold(&state, &caller, HoldTarget::$target(id), None).await?;
            Ok(StatusCode::NO_CONTENT)
        }
    };
}

legal_hold!(
    Case,
    "/api/v1/cases/{id}/legal-hold",
    hold_case,
    " Put a legal hold on a case: it is never anonymised while held (admin and privacy officer;\naudited).",
    release_case,
    " Lift a case's legal hold (admin and privacy officer; audited)."
);

legal_hold!(
    Contact,
    "/api/v1/contacts/{id}/legal-hold",
    hold_contact,
    " Put a legal hold on a contact: none of its cases is anonymised, and it cannot be erased\n(409), while held (admin and privacy officer; audited).",
    release_contact,
    " Lift a contact's legal hold (admin and privacy officer; audited)."
);
