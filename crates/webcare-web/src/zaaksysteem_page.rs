//! Beheer: the zaaksysteem link (`/beheer/zaaksysteem`, admin). One form over the use cases the
//! API's `GET/PUT /api/v1/zgw/settings` call (`webcare_desk::zgw_admin`), so the same settings
//! are refused, here in Dutch beside the field. The secret and the callback's auth are
//! write-only: the page says whether each is set, and a box left empty keeps it. The theme ->
//! zaaktype map is a table of rows (a few empty ones to add one; a row left empty is left out).
//! Beside the form: the abonnement at Open Notificaties with a button to register it, and the Open
//! Klant configuration as read-only facts (never its token).

use crate::format;
use crate::pages::{api_error_page, render, Layout};
use crate::routing_page::{get, Fields};
use crate::session::WebUser;
use crate::WebState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use std::collections::{BTreeMap, HashMap};
use webcare_api::auth::{roles, Authorized};
use webcare_desk::zgw_admin::{
    self, AbonnementView, ZgwSettingsInput, ZgwSettingsView, ZgwStatustypen,
};
use webcare_desk::{DeskError, STALE};
use webcare_domain::zgw::VERTROUWELIJKHEID;
use webcare_domain::CaseKind;

const BASE: &str = "/beheer/zaaksysteem";
/// Empty rows offered for new zaaktypen.
const EMPTY_ROWS: usize = 2;

/// The single-valued inputs: (key, label, kind). The keys are the API's field names, so a
/// refusal lands beside its input by name.
const INPUTS: [(&str, &str, &str); 12] = [
    (
        "zakenUrl",
        "Zaken API (bijvoorbeeld https://openzaak.gemeente.nl/zaken/api/v1)",
        "text",
    ),
    ("catalogiUrl", "Catalogi API", "text"),
    ("clientId", "Client id (JWT-ZGW)", "text"),
    ("secret", "Secret (JWT-ZGW)", "password"),
    ("rsin", "RSIN van de gemeente (bronorganisatie)", "text"),
    (
        "vertrouwelijkheid",
        "Vertrouwelijkheid van nieuwe zaken",
        "select",
    ),
    ("ontvangen", "Statustype „ontvangen”", "text"),
    ("inBehandeling", "Statustype „in behandeling”", "text"),
    ("afgerond", "Statustype „afgerond” (eindstatus)", "text"),
    ("resultaattype", "Resultaattype bij afhandelen", "text"),
    (
        "roltypeAfdeling",
        "Roltype van de vakafdeling (organisatorische eenheid)",
        "text",
    ),
    (
        "notificatiesUrl",
        "Notificaties API (voor het abonnement)",
        "text",
    ),
];

/// Inputs that are not in the list above but on the form: the callback's auth and the public URL.
const CALLBACK_INPUTS: [(&str, &str, &str); 2] = [
    (
        "callbackAuth",
        "Authorization-waarde die Open Notificaties meestuurt",
        "password",
    ),
    (
        "publicUrl",
        "Publiek adres van de desk (het abonnement belt /api/v1/notificaties daaronder)",
        "text",
    ),
];

/// One input with what is shown in it.
struct Input {
    key: &'static str,
    label: &'static str,
    kind: &'static str,
    value: String,
    error: String,
    /// A write-only input: whether a value is set now.
    set: Option<bool>,
}

/// One row of the theme -> zaaktype map.
#[derive(Default)]
struct ZaaktypeRow {
    index: usize,
    theme: String,
    url: String,
    error: String,
}

/// The zaaktype for one kind (rubriek): it wins over the theme's (a klacht is a klacht zaak).
struct KindRow {
    code: &'static str,
    label: &'static str,
    url: String,
    error: String,
}

#[derive(Template)]
#[template(path = "zaaksysteem.html")]
struct ZaaksysteemPage {
    layout: Layout,
    general: String,
    /// The settings' version the form was filled from (a stale save is refused).
    version: String,
    source: String,
    inputs: Vec<Input>,
    callback: Vec<Input>,
    vertrouwelijkheid: Vec<&'static str>,
    rows: Vec<ZaaktypeRow>,
    kinds: Vec<KindRow>,
    zaaktypen_error: String,
    abonnement: AbonnementView,
    registered_at: String,
    openklant: Option<OpenKlant>,
}

/// The Open Klant configuration as facts.
struct OpenKlant {
    url: String,
    actoren: Vec<(String, String)>,
}

/// The form's values for the settings in force.
fn form_of(v: &ZgwSettingsView) -> Fields {
    let s = |o: &Option<String>| o.clone().unwrap_or_default();
    let t = v.statustypen.as_ref();
    let mut f: Fields = [
        ("zakenUrl", s(&v.zaken_url)),
        ("catalogiUrl", s(&v.catalogi_url)),
        ("clientId", s(&v.client_id)),
        ("rsin", s(&v.rsin)),
        (
            "vertrouwelijkheid",
            v.vertrouwelijkheid
                .clone()
                .unwrap_or_else(|| "zaakvertrouwelijk".into()),
        ),
        (
            "ontvangen",
            t.map(|t| t.ontvangen.clone()).unwrap_or_default(),
        ),
        (
            "inBehandeling",
            t.map(|t| t.in_behandeling.clone()).unwrap_or_default(),
        ),
        (
            "afgerond",
            t.map(|t| t.afgerond.clone()).unwrap_or_default(),
        ),
        ("resultaattype", s(&v.resultaattype)),
        ("roltypeAfdeling", s(&v.roltype_afdeling)),
        ("notificatiesUrl", s(&v.notificaties_url)),
        ("publicUrl", s(&v.public_url)),
        ("versie", v.version.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (i, (theme, url)) in v.zaaktypen.iter().enumerate() {
        f.push((format!("thema_{i}"), theme.clone()));
        f.push((format!("zaaktype_{i}"), url.clone()));
    }
    for (kind, url) in &v.zaaktypen_per_kind {
        f.push((format!("soort_{kind}"), url.clone()));
    }
    f
}

/// The zaaktype rows of a form, numbered, with empty rows added.
fn rows_of(f: &Fields) -> Vec<ZaaktypeRow> {
    let mut rows: Vec<ZaaktypeRow> = (0..)
        .map_while(|i| {
            let theme = f.iter().find(|(k, _)| *k == format!("thema_{i}"))?;
            Some(ZaaktypeRow {
                theme: theme.1.clone(),
                url: get(f, &format!("zaaktype_{i}")).to_owned(),
                ..Default::default()
            })
        })
        .filter(|r| !(r.theme.trim().is_empty() && r.url.trim().is_empty()))
        .collect();
    rows.extend((0..EMPTY_ROWS).map(|_| ZaaktypeRow::default()));
    for (i, r) in rows.iter_mut().enumerate() {
        r.index = i;
    }
    rows
}

fn inputs(
    list: &[(&'static str, &'static str, &'static str)],
    f: &Fields,
    errors: &HashMap<String, String>,
    v: &ZgwSettingsView,
) -> Vec<Input> {
    list.iter()
        .map(|&(key, label, kind)| Input {
            key,
            label,
            kind,
            // A password is never sent back to the browser.
            value: if kind == "password" {
                String::new()
            } else {
                get(f, key).to_owned()
            },
            error: errors.get(key).cloned().unwrap_or_default(),
            set: match key {
                "secret" => Some(v.secret_set),
                "callbackAuth" => Some(v.callback_auth_set),
                _ => None,
            },
        })
        .collect()
}

fn source(v: &ZgwSettingsView) -> String {
    match v.source {
        "database" => format!(
            "Ingesteld op deze pagina of via de API (versie {}{}{}).",
            v.version,
            v.updated_at
                .map(|t| format!(", {}", format::datetime(t)))
                .unwrap_or_default(),
            v.updated_by
                .as_ref()
                .map(|b| format!(", door {b}"))
                .unwrap_or_default(),
        ),
        "config" => "Uit het configuratiebestand; opslaan hier gaat daarvoor.".into(),
        _ => "Nog geen zaaksysteem gekoppeld: zaken worden niet aangemaakt.".into(),
    }
}

/// The page for `f` (the form as shown) with `errors` beside the inputs.
async fn page_of(
    web: &WebState,
    user: &WebUser,
    f: Option<Fields>,
    errors: HashMap<String, String>,
) -> Result<ZaaksysteemPage, Response> {
    let v = zgw_admin::settings(&web.app)
        .await
        .map_err(|e| api_error_page(e.into()))?;
    let abonnement = zgw_admin::abonnement(&web.app)
        .await
        .map_err(|e| api_error_page(e.into()))?;
    let f = f.unwrap_or_else(|| form_of(&v));
    let mut rows = rows_of(&f);
    for r in &mut rows {
        if let Some(e) = errors.get(&format!("zaaktypen.{}", r.theme.trim())) {
            r.error = e.clone();
        }
    }
    Ok(ZaaksysteemPage {
        layout: Layout::of(user, "Zaaksysteem"),
        general: String::new(),
        version: get(&f, "versie").to_owned(),
        source: source(&v),
        inputs: inputs(&INPUTS, &f, &errors, &v),
        callback: inputs(&CALLBACK_INPUTS, &f, &errors, &v),
        vertrouwelijkheid: VERTROUWELIJKHEID.to_vec(),
        rows,
        kinds: CaseKind::ALL
            .iter()
            .map(|k| KindRow {
                code: k.as_str(),
                label: format::kind(*k),
                url: get(&f, &format!("soort_{}", k.as_str())).to_owned(),
                error: errors
                    .get(&format!("zaaktypenPerKind.{}", k.as_str()))
                    .cloned()
                    .unwrap_or_default(),
            })
            .collect(),
        zaaktypen_error: errors.get("zaaktypen").cloned().unwrap_or_default(),
        registered_at: abonnement
            .registered_at
            .map(format::datetime)
            .unwrap_or_default(),
        abonnement,
        openklant: web.app.openklant.as_ref().map(|o| OpenKlant {
            url: o.url.clone(),
            actoren: o
                .actoren
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }),
    })
}

/// `GET /beheer/zaaksysteem`.
pub async fn page(State(web): State<WebState>, user: WebUser) -> Response {
    if let Err(e) = Authorized::<roles::AdminOnly>::check(user.principal.clone()) {
        return api_error_page(e);
    }
    match page_of(&web, &user, None, HashMap::new()).await {
        Ok(p) => render(StatusCode::OK, p),
        Err(r) => r,
    }
}

fn optional(f: &Fields, key: &str) -> Option<String> {
    crate::channel_settings::optional(get(f, key))
}

/// The use case's input from the form: an empty write-only box keeps the value in force; all
/// three statustypen empty means "look them up in the Catalogi API".
fn input_of(f: &Fields) -> ZgwSettingsInput {
    let text = |k: &str| get(f, k).trim().to_owned();
    let statustypen = ["ontvangen", "inBehandeling", "afgerond"]
        .iter()
        .any(|k| !text(k).is_empty())
        .then(|| ZgwStatustypen {
            ontvangen: text("ontvangen"),
            in_behandeling: text("inBehandeling"),
            afgerond: text("afgerond"),
        });
    let zaaktypen: BTreeMap<String, String> = rows_of(f)
        .into_iter()
        .filter(|r| !(r.theme.trim().is_empty() && r.url.trim().is_empty()))
        .map(|r| (r.theme.trim().to_owned(), r.url.trim().to_owned()))
        .collect();
    // Only the kinds with a zaaktype filled in are listed; the others follow their theme.
    let zaaktypen_per_kind: BTreeMap<String, String> = CaseKind::ALL
        .iter()
        .map(|k| {
            (
                k.as_str().to_owned(),
                text(&format!("soort_{}", k.as_str())),
            )
        })
        .filter(|(_, url)| !url.is_empty())
        .collect();
    ZgwSettingsInput {
        zaken_url: text("zakenUrl"),
        catalogi_url: text("catalogiUrl"),
        client_id: text("clientId"),
        secret: optional(f, "secret"),
        rsin: text("rsin"),
        vertrouwelijkheid: optional(f, "vertrouwelijkheid"),
        zaaktypen,
        zaaktypen_per_kind,
        statustypen,
        resultaattype: text("resultaattype"),
        roltype_afdeling: text("roltypeAfdeling"),
        notificaties_url: optional(f, "notificatiesUrl"),
        callback_auth: optional(f, "callbackAuth"),
        public_url: optional(f, "publicUrl"),
        version: get(f, "versie").trim().parse().ok(),
    }
}

/// A refusal of the settings, in Dutch, under the input's key.
fn dutch(name: &str, code: &str) -> (String, &'static str) {
    let key = name.strip_prefix("statustypen.").unwrap_or(name).to_owned();
    let text = match key.as_str() {
        "rsin" => "Vul een RSIN in: negen cijfers die de elfproef doorstaan.",
        "clientId" => "Vul de client id in (zonder tabs of regeleinden).",
        "secret" if code == "required" => "Vul een secret in: er is er nog geen ingesteld.",
        "secret" => "Gebruik geen tabs of regeleinden in het secret.",
        "callbackAuth" => "Vul 1 tot 1000 tekens in, zonder tabs of regeleinden.",
        "vertrouwelijkheid" => "Kies een vertrouwelijkheidaanduiding uit de lijst.",
        "zaaktypen" => "Geef een zaaktype voor het thema „default” (elk ander thema).",
        k if k.starts_with("zaaktypen.") => {
            "Vul een volledig http- of https-adres in (zonder tabs of regeleinden)."
        }
        _ => "Vul een volledig http- of https-adres in.",
    };
    (key, text)
}

/// `POST /beheer/zaaksysteem`: the settings as the next version.
pub async fn save(State(web): State<WebState>, user: WebUser, Form(f): Form<Fields>) -> Response {
    let caller = match Authorized::<roles::AdminOnly>::check(user.principal.clone()) {
        Ok(c) => c,
        Err(e) => return api_error_page(e),
    };
    let (status, errors) = match zgw_admin::put_settings(&web.app, &caller.0, input_of(&f)).await {
        Ok(_) => return Redirect::to(BASE).into_response(),
        // Someone saved after this form was opened: nothing changed; the settings in force are
        // shown instead of the form's.
        Err(DeskError::Conflict(m)) if m == STALE => {
            return match page_of(&web, &user, None, HashMap::new()).await {
                Ok(mut p) => {
                    p.general = "Iemand anders heeft dit intussen gewijzigd. Er is niets \
                                 opgeslagen; hieronder staan de instellingen zoals ze nu zijn. \
                                 Breng uw wijziging opnieuw aan."
                        .into();
                    render(StatusCode::CONFLICT, p)
                }
                Err(r) => r,
            };
        }
        Err(DeskError::Invalid(ps)) => {
            let mut errors = HashMap::new();
            for p in ps {
                let (key, text) = dutch(&p.name, &p.code);
                errors.entry(key).or_insert_with(|| text.to_owned());
            }
            (StatusCode::BAD_REQUEST, errors)
        }
        Err(e) => return api_error_page(e.into()),
    };
    match page_of(&web, &user, Some(f), errors).await {
        Ok(mut p) => {
            p.general = "Niet opgeslagen; zie de meldingen bij de velden.".into();
            render(status, p)
        }
        Err(r) => r,
    }
}

/// `POST /beheer/zaaksysteem/abonnement`: registers (or updates) the abonnement at Open
/// Notificaties; a refusal is told on the page.
pub async fn register(State(web): State<WebState>, user: WebUser) -> Response {
    let caller = match Authorized::<roles::AdminOnly>::check(user.principal.clone()) {
        Ok(c) => c,
        Err(e) => return api_error_page(e),
    };
    let (status, general) = match zgw_admin::register_abonnement(&web.app, &caller.0).await {
        Ok(_) => return Redirect::to(BASE).into_response(),
        Err(DeskError::Conflict(m)) => (
            StatusCode::CONFLICT,
            format!("Het abonnement is niet geregistreerd: {m}."),
        ),
        Err(DeskError::Unavailable(m)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("Open Notificaties is nu niet bereikbaar; probeer het later opnieuw ({m})."),
        ),
        Err(e) => return api_error_page(e.into()),
    };
    match page_of(&web, &user, None, HashMap::new()).await {
        Ok(mut p) => {
            p.general = general;
            render(status, p)
        }
        Err(r) => r,
    }
}
