//! Platform actions other than a reply, pure part: hiding a citizen's public comment (Facebook
//! `POST /{comment-id}` with `is_hidden=true`, Instagram `POST /{ig-comment-id}` with
//! `hide=true`) and deleting the desk's own public reply (Graph `DELETE /{comment-id}`, X
//! `DELETE /2/tweets/{id}`). X has no way to hide a reply of someone else's, and WhatsApp and
//! private messages have nothing public to hide.

use super::request::{path_id, Credentials, PlatformRequest};
use crate::x::XAuth;
use serde_json::{json, Value};
use webcare_domain::model::ChannelKind;

/// What the desk asks of the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlatformAction {
    /// Hide a citizen's public comment (it stays visible to its author and the page).
    Hide,
    /// Delete one of the desk's own public replies.
    Delete,
}

/// Why the platform cannot be asked, in words for the agent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unsupported(pub String);

/// Whether `kind` allows `action` on a public message at all.
pub fn supported(kind: ChannelKind, action: PlatformAction) -> Result<(), Unsupported> {
    match (kind, action) {
        (ChannelKind::FacebookPage | ChannelKind::Instagram, _) => Ok(()),
        (ChannelKind::X, PlatformAction::Delete) => Ok(()),
        (ChannelKind::X, PlatformAction::Hide) => Err(Unsupported(
            "X cannot hide a reply by someone else; ask the citizen to delete the post".into(),
        )),
        (other, _) => Err(Unsupported(format!(
            "{other} has no public message the desk can hide or delete"
        ))),
    }
}

/// The request for `action` on the platform object `platform_id`; `base_url` and
/// `graph_version` as for [`super::build_request`].
pub fn build_action_request(
    kind: ChannelKind,
    action: PlatformAction,
    platform_id: &str,
    base_url: &str,
    graph_version: &str,
    credentials: &Credentials,
) -> Result<PlatformRequest, Unsupported> {
    supported(kind, action)?;
    let id = path_id(Some(platform_id))
        .ok_or_else(|| Unsupported("no valid platform id for the message".into()))?;
    let base = base_url.trim_end_matches('/');
    let graph = format!("{base}/{}", graph_version.trim_matches('/'));
    let (method, url, body): (&'static str, String, Value) = match (kind, action) {
        (ChannelKind::FacebookPage, PlatformAction::Hide) => {
            ("POST", format!("{graph}/{id}"), json!({"is_hidden": true}))
        }
        (ChannelKind::Instagram, PlatformAction::Hide) => {
            ("POST", format!("{graph}/{id}"), json!({"hide": true}))
        }
        (ChannelKind::X, _) => ("DELETE", format!("{base}/2/tweets/{id}"), Value::Null),
        (_, _) => ("DELETE", format!("{graph}/{id}"), Value::Null),
    };
    let authorization = match (&credentials.x_oauth1, kind) {
        (Some(keys), ChannelKind::X) => XAuth::OAuth1(keys.clone()).header(method, &url),
        _ => format!("Bearer {}", credentials.access_token),
    };
    let mut headers = vec![("Authorization".to_owned(), authorization)];
    if !body.is_null() {
        headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
    }
    Ok(PlatformRequest {
        method,
        url,
        headers,
        json_body: body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(
        kind: ChannelKind,
        action: PlatformAction,
        id: &str,
    ) -> Result<PlatformRequest, Unsupported> {
        build_action_request(
            kind,
            action,
            id,
            "https://graph.test/",
            "v21.0",
            &Credentials::bearer("t"),
        )
    }

    #[test]
    fn hide_is_a_post_on_the_comment_with_each_platforms_field() {
        let fb = req(ChannelKind::FacebookPage, PlatformAction::Hide, "1_2").unwrap();
        assert_eq!(
            (fb.method, fb.url.as_str()),
            ("POST", "https://graph.test/v21.0/1_2")
        );
        assert_eq!(fb.json_body, json!({"is_hidden": true}));
        let ig = req(ChannelKind::Instagram, PlatformAction::Hide, "178").unwrap();
        assert_eq!(ig.json_body, json!({"hide": true}));
        assert!(req(ChannelKind::X, PlatformAction::Hide, "1").is_err());
        assert!(req(ChannelKind::Whatsapp, PlatformAction::Hide, "wamid").is_err());
    }

    #[test]
    fn delete_is_a_delete_of_the_object() {
        let fb = req(ChannelKind::FacebookPage, PlatformAction::Delete, "1_9").unwrap();
        assert_eq!(
            (fb.method, fb.url.as_str()),
            ("DELETE", "https://graph.test/v21.0/1_9")
        );
        let x = req(ChannelKind::X, PlatformAction::Delete, "186").unwrap();
        assert_eq!(
            (x.method, x.url.as_str()),
            ("DELETE", "https://graph.test/2/tweets/186")
        );
        assert!(x.json_body.is_null());
    }

    #[test]
    fn an_id_that_would_change_the_path_is_refused() {
        assert!(req(ChannelKind::FacebookPage, PlatformAction::Hide, "1/../me").is_err());
        assert!(req(ChannelKind::FacebookPage, PlatformAction::Hide, "").is_err());
    }
}
