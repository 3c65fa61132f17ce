//! The Beheer pages whose form makes a secret that is shown once, on the page that answers the
//! form, and never again: API tokens (`tokens_page`) and webhooks (`webhooks_page`). One
//! template: a list, a form with one text input (and checkboxes), the secret, or a question
//! before an action.

use crate::pages::{render, Layout};
use crate::routing_page::Opt;
use crate::session::WebUser;
use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;

/// A row: its cells, and one action on it (a link, or a form posted at once).
pub(crate) struct Row {
    pub cells: Vec<String>,
    /// How screen readers tell the rows' actions apart.
    pub name: String,
    pub verb: &'static str,
    pub action: String,
    pub post: bool,
    /// A page about the row (a link before the action), if any.
    pub more: Option<Link>,
}

pub(crate) struct Link {
    pub href: String,
    pub text: &'static str,
}

pub(crate) struct Input {
    pub key: &'static str,
    pub label: &'static str,
    pub value: String,
    pub error: String,
}

pub(crate) struct Choices {
    pub key: &'static str,
    pub legend: &'static str,
    pub options: Vec<Opt>,
    pub error: String,
}

pub(crate) struct Secret {
    pub title: String,
    pub label: &'static str,
    pub secret: String,
}

/// A question before an irreversible action.
pub(crate) struct Confirm {
    pub action: String,
    pub question: String,
    pub explain: &'static str,
    pub button: &'static str,
}

#[derive(Template)]
#[template(path = "beheer_secret.html")]
pub(crate) struct SecretPage {
    pub layout: Layout,
    pub base: &'static str,
    pub caption: &'static str,
    pub headers: &'static [&'static str],
    pub rows: Vec<Row>,
    pub new_title: &'static str,
    pub input: Input,
    pub choices: Option<Choices>,
    pub submit: &'static str,
    pub general: String,
    pub created: Option<Secret>,
    pub confirm: Option<Confirm>,
}

impl SecretPage {
    /// The page with an empty form and no rows.
    pub fn new(user: &WebUser, title: &str, base: &'static str, input: Input) -> Self {
        SecretPage {
            layout: Layout::of(user, title),
            base,
            caption: "",
            headers: &[],
            rows: Vec::new(),
            new_title: "",
            input,
            choices: None,
            submit: "",
            general: String::new(),
            created: None,
            confirm: None,
        }
    }

    /// 400 when the form has a message beside a field.
    pub fn show(self) -> Response {
        let refused = !self.input.error.is_empty()
            || self.choices.as_ref().is_some_and(|c| !c.error.is_empty());
        let status = match (&self.created, refused) {
            (Some(_), _) => StatusCode::CREATED,
            (None, true) => StatusCode::BAD_REQUEST,
            (None, false) => StatusCode::OK,
        };
        render(status, self)
    }
}
