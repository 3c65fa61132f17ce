//! Static files, compiled into the binary. Each name carries its version (vendored files) or a
//! hash of its content (our own), so they are cached for a year and a new build never serves a
//! stale copy.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::LazyLock;

struct Asset {
    name: String,
    bytes: &'static [u8],
    content_type: &'static str,
}

const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

const OWN_CSS: &[u8] = include_bytes!("../assets/webcare.css");
const OWN_JS: &[u8] = include_bytes!("../assets/webcare.js");

/// FNV-1a: a stable content fingerprint for cache busting (not a security hash).
fn fingerprint(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{:08x}", h >> 32)
}

/// A vendored file, served under its own (versioned) name.
macro_rules! vendored {
    ($name:literal, $content_type:expr) => {
        Asset {
            name: $name.into(),
            bytes: include_bytes!(concat!("../assets/vendor/", $name)),
            content_type: $content_type,
        }
    };
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    vec![
        vendored!("htmx-2.0.11.min.js", JS),
        vendored!("htmx-ext-sse-2.2.4.min.js", JS),
        vendored!("utrecht-component-library-css-9.0.4.css", CSS),
        vendored!("voorbeeld-design-tokens-7.4.1.css", CSS),
        Asset {
            name: format!("webcare.{}.css", fingerprint(OWN_CSS)),
            bytes: OWN_CSS,
            content_type: CSS,
        },
        Asset {
            name: format!("webcare.{}.js", fingerprint(OWN_JS)),
            bytes: OWN_JS,
            content_type: JS,
        },
    ]
});

/// The URL of our own stylesheet (its name changes with its content).
pub fn own_css() -> String {
    format!("/assets/{}", ASSETS[4].name)
}

/// The URL of our own script.
pub fn own_js() -> String {
    format!("/assets/{}", ASSETS[5].name)
}

pub async fn serve(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(a) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(a.content_type),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
            ],
            a.bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "niet gevonden").into_response(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn own_asset_names_follow_their_content() {
        assert_ne!(super::fingerprint(b"a"), super::fingerprint(b"b"));
        assert!(super::own_css().starts_with("/assets/webcare."));
        assert!(super::own_js().ends_with(".js"));
    }
}
