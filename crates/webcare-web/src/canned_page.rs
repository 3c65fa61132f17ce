//! Beheer: canned answers (`/beheer/standaardantwoorden`). Team leads and admins read, add,
//! change and delete them, as through the API's `/canned-answers` (which lets a team lead change
//! every team's answers, so this page does too), via the same use cases
//! (`webcare_desk::canned`). The page is the Beheer list template (`people_page`).

use crate::people_page::{page, post, remove, Kind};
use crate::routing_page::{get, Fields};
use crate::session::WebUser;
use crate::WebState;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::Form;
use std::collections::HashMap;
use uuid::Uuid;
use webcare_api::auth::{roles, Principal};
use webcare_desk::canned::{self, CannedChange};
use webcare_desk::DeskResult;
use webcare_store::agent::CannedRecord;

/// The team select's value for a desk-wide answer.
const DESK_WIDE: &str = "";

impl Kind for CannedRecord {
    type Readers = roles::Lead;
    type Writers = roles::Lead;
    const DELETABLE: bool = true;
    const BASE: &'static str = "/beheer/standaardantwoorden";
    const TITLE: &'static str = "Standaardantwoorden";
    const CAPTION: &'static str = "Standaardantwoorden voor het antwoordvak";
    const NEW: &'static str = "Nieuw standaardantwoord";
    const EDIT: &'static str = "Standaardantwoord bewerken";
    const HEADERS: &'static [&'static str] = &["Titel", "Team", "Tekst"];
    const INPUTS: &'static [(&'static str, &'static str, &'static str)] = &[
        ("titel", "Titel", "text"),
        ("team", "Team", "select"),
        (
            "tekst",
            "Tekst; variabelen: {{voornaam}}, {{openingstijden}}, {{agent}}, {{zaaknummer}}, {{afdeling}}",
            "textarea",
        ),
    ];

    async fn list(web: &WebState) -> DeskResult<Vec<Self>> {
        Ok(web
            .app
            .store
            .list_canned(None, None, None, 200)
            .await?
            .items)
    }

    fn id(&self) -> Uuid {
        self.id
    }

    fn name(&self) -> String {
        self.title.clone()
    }

    fn cells(&self) -> Vec<String> {
        let team = self.team.clone().unwrap_or_else(|| "Hele desk".into());
        vec![self.title.clone(), team, self.text.clone()]
    }

    fn fields(&self) -> Fields {
        vec![
            ("titel".into(), self.title.clone()),
            ("team".into(), self.team.clone().unwrap_or_default()),
            ("tekst".into(), self.text.clone()),
        ]
    }

    async fn options(web: &WebState, key: &str) -> DeskResult<Vec<(String, String)>> {
        if key != "team" {
            return Ok(Vec::new());
        }
        let teams = web.app.store.list_teams(None, 200).await?.items;
        Ok(
            std::iter::once((DESK_WIDE.to_owned(), "Hele desk".to_owned()))
                .chain(teams.into_iter().map(|t| (t.name.clone(), t.name)))
                .collect(),
        )
    }

    fn field_of(name: &str) -> &'static str {
        match name {
            "team" => "team",
            "text" | "tekst" => "tekst",
            _ => "titel",
        }
    }

    async fn save(web: &WebState, p: &Principal, id: Option<Uuid>, f: &Fields) -> DeskResult<()> {
        let team = match get(f, "team") {
            DESK_WIDE => None,
            t => Some(t.to_owned()),
        };
        let change = CannedChange {
            team: Some(team),
            title: Some(get(f, "titel").to_owned()),
            text: Some(get(f, "tekst").to_owned()),
        };
        match id {
            None => canned::create_canned(&web.app, p, change).await?,
            Some(id) => canned::update_canned(&web.app, p, id, change).await?,
        };
        Ok(())
    }

    async fn delete(web: &WebState, p: &Principal, id: Uuid) -> DeskResult<()> {
        canned::delete_canned(&web.app, p, id).await
    }
}

pub async fn list(
    State(web): State<WebState>,
    user: WebUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    page::<CannedRecord>(web, user, q).await
}

/// `POST /beheer/standaardantwoorden` (a new answer) and `POST /beheer/standaardantwoorden/{id}`
/// (a change).
pub async fn save(
    State(web): State<WebState>,
    user: WebUser,
    id: Option<Path<String>>,
    Form(f): Form<Fields>,
) -> Response {
    post::<CannedRecord>(web, user, id.map(|Path(id)| id), f).await
}

/// `POST /beheer/standaardantwoorden/{id}/verwijder`.
pub async fn delete(
    State(web): State<WebState>,
    user: WebUser,
    Path(id): Path<String>,
) -> Response {
    remove::<CannedRecord>(web, user, id).await
}
