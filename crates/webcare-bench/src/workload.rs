//! The ingest workload: signed Meta webhook deliveries in the shapes of /work/shared/PLATFORMS.md
//! (sections 2.3, 2.4 and 3.1), a realistic mix for a municipality in a busy hour:
//!
//! - 35% Facebook page comments on the page's posts (top level: `parent_id == post_id`),
//! - 15% replies in comment threads (`parent_id` = an earlier comment on the same post),
//! - 25% Messenger DMs (some quoting an earlier message with `reply_to`),
//! - 25% WhatsApp messages (some with `context.id`), a few with an image,
//!
//! one message per delivery, and 10% duplicate deliveries (a platform retry of an earlier body,
//! byte for byte, arriving a little later). Every unique body is parsed back with the connector's
//! own parser, so the expected message count and the `--via api` / floor rows are exactly what the
//! desk must store. Deterministic (seeded), so runs compare.

use anyhow::{bail, Context};
use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use webcare_domain::inbound::{InboundEvent, InboundMessage};

/// One Meta app serves all pages and numbers of the municipality, so one app secret.
pub const APP_SECRET: &str = "bench-meta-app-secret-0f3c9a";
pub const VERIFY_TOKEN: &str = "bench-verify-token";

pub const PAGES: usize = 3;
pub const WHATSAPP_NUMBERS: usize = 2;

/// A channel account the workload addresses.
#[derive(Debug, Clone)]
pub struct AccountSpec {
    pub kind: &'static str,
    pub name: String,
    pub external_id: String,
}

impl AccountSpec {
    pub fn create_body(&self) -> serde_json::Value {
        json!({
            "kind": self.kind,
            "name": self.name,
            "externalId": self.external_id,
            "credentials": {"appSecret": APP_SECRET, "verifyToken": VERIFY_TOKEN},
            "defaultTeam": "webcare",
        })
    }
}

pub struct Delivery {
    pub body: bytes_like::Body,
    pub signature: String,
    /// Index into [`Workload::messages`].
    pub message: usize,
    pub duplicate: bool,
}

/// `reqwest` takes owned bodies; a shared `Arc<[u8]>`-like handle keeps duplicates cheap.
pub mod bytes_like {
    pub type Body = std::sync::Arc<Vec<u8>>;
}

pub struct Workload {
    pub accounts: Vec<AccountSpec>,
    pub deliveries: Vec<Delivery>,
    /// Unique messages: (account index, the normalised message).
    pub messages: Vec<(usize, InboundMessage)>,
}

const TEXTS: &[&str] = &[
    "Goedemiddag, de lantaarnpaal bij de Kerkstraat 12 is al een week kapot. Wie kan dit oplossen?",
    "Wanneer wordt het grofvuil in de Vogelwijk weer opgehaald? De container staat al vol.",
    "Hoe lang duurt het aanvragen van een nieuw paspoort op dit moment?",
    "Er ligt een omgevallen boom over het fietspad langs de Singel, gevaarlijk in het donker!",
    "Mijn melding over zwerfafval bij het winkelcentrum is nog steeds niet opgepakt.",
    "Complimenten aan de medewerkers van het stadsloket, snel en vriendelijk geholpen.",
    "Is het stadhuis morgen open in verband met Koningsdag?",
    "De stoep in de Molenstraat is opgebroken en er staan geen afzettingen. Kan iemand kijken?",
    "Waarom is de parkeervergunning zo duur geworden? Ik vind dit echt niet kunnen.",
    "Ik heb een vraag over de afvalstoffenheffing, mijn aanslag klopt volgens mij niet.",
    "Bij de speeltuin aan het Park ligt glas, kunnen jullie dat laten opruimen?",
    "Hoe meld ik een verhuizing binnen de gemeente? Ik kan het formulier niet vinden.",
    "Er staat al drie dagen een auto zonder kenteken op de hoek van de Dorpsstraat.",
    "Dank voor de snelle reactie gisteren, het gat in de weg is gerepareerd 👍",
    "Wat zijn de openingstijden van de milieustraat in het weekend?",
    "Kan ik mijn rijbewijs ook op zaterdag ophalen?",
];

fn text(rng: &mut StdRng) -> String {
    let t = TEXTS[rng.gen_range(0..TEXTS.len())];
    if rng.gen_bool(0.2) {
        format!("{t} Alvast bedankt! Groet, een bezorgde bewoner uit de wijk.")
    } else {
        t.to_owned()
    }
}

/// Builds `unique` messages plus 10% duplicate deliveries.
pub fn build(unique: usize, seed: u64) -> anyhow::Result<Workload> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut accounts = Vec::new();
    for p in 0..PAGES {
        accounts.push(AccountSpec {
            kind: "facebook_page",
            name: format!("Gemeente Bench pagina {p}"),
            external_id: format!("10{p}4567890123"),
        });
    }
    for w in 0..WHATSAPP_NUMBERS {
        accounts.push(AccountSpec {
            kind: "whatsapp",
            name: format!("Gemeente Bench WhatsApp {w}"),
            external_id: format!("1098765432{w}0987"),
        });
    }
    let citizens = (unique / 4).max(50);
    let start: DateTime<Utc> = Utc::now() - Duration::hours(2);
    let secs_per_msg = (3600.0 / unique as f64).max(0.001);

    // Earlier ids to reply to, per account.
    let mut comments: Vec<Vec<(String, String)>> = vec![Vec::new(); PAGES]; // (comment id, post id)
    let mut mids: Vec<Vec<String>> = vec![Vec::new(); PAGES];
    let mut wamids: Vec<Vec<String>> = vec![Vec::new(); WHATSAPP_NUMBERS];

    let mut bodies: Vec<(usize, Vec<u8>)> = Vec::with_capacity(unique);
    for i in 0..unique {
        let at = start + Duration::milliseconds((i as f64 * secs_per_msg * 1000.0) as i64);
        let secs = at.timestamp();
        let ms = at.timestamp_millis();
        let roll: f64 = rng.gen();
        let citizen = rng.gen_range(0..citizens);
        let name = format!("Burger {citizen}");
        let (account, body) = if roll < 0.50 {
            // Facebook page feed: a comment, or a reply in a comment thread.
            let p = rng.gen_range(0..PAGES);
            let page = &accounts[p].external_id;
            let reply = roll >= 0.35 && !comments[p].is_empty();
            let (parent, post_id) = if reply {
                let n = comments[p].len();
                let back = rng.gen_range(0..n.min(500));
                comments[p][n - 1 - back].clone()
            } else {
                let post_id = format!("{page}_{}", 9000 + rng.gen_range(0..40));
                (post_id.clone(), post_id)
            };
            let postpart = post_id.split('_').nth(1).unwrap_or("0").to_owned();
            let comment_id = format!("{postpart}_{}", 100_000 + i);
            comments[p].push((comment_id.clone(), post_id.clone()));
            let mut value = json!({
                "item": "comment", "verb": "add", "comment_id": comment_id, "post_id": post_id,
                "parent_id": parent, "from": {"id": format!("77{citizen:08}"), "name": name},
                "message": text(&mut rng), "created_time": secs,
                "post": {"id": post_id, "status_type": "added_photos", "is_published": true,
                         "updated_time": at.to_rfc3339(), "permalink_url": format!("https://www.facebook.com/{post_id}"),
                         "promotion_status": "inactive"}
            });
            if rng.gen_bool(0.05) {
                value["photo"] = json!(format!("https://scontent.example/photo/{i}.jpg"));
            }
            (
                p,
                json!({"object": "page", "entry": [{"id": page, "time": secs,
                    "changes": [{"field": "feed", "value": value}]}]}),
            )
        } else if roll < 0.75 {
            // Messenger DM to a page.
            let p = rng.gen_range(0..PAGES);
            let page = &accounts[p].external_id;
            let mid = format!("m_bench{i:010}");
            let mut message = json!({"mid": mid, "text": text(&mut rng)});
            if !mids[p].is_empty() && rng.gen_bool(0.1) {
                let n = mids[p].len();
                message["reply_to"] = json!({"mid": mids[p][n - 1 - rng.gen_range(0..n.min(200))]});
            }
            if rng.gen_bool(0.05) {
                message["attachments"] = json!([{"type": "image", "payload": {"url": format!("https://cdn.example/m/{i}.jpg")}}]);
            }
            mids[p].push(mid);
            (
                p,
                json!({"object": "page", "entry": [{"id": page, "time": ms, "messaging": [{
                    "sender": {"id": format!("55{citizen:08}")}, "recipient": {"id": page},
                    "timestamp": ms, "message": message}]}]}),
            )
        } else {
            // WhatsApp Cloud API message.
            let w = rng.gen_range(0..WHATSAPP_NUMBERS);
            let phone_id = &accounts[PAGES + w].external_id;
            let wa_id = format!("316{citizen:08}");
            let wamid = format!("wamid.HBgLMzE2NDAwMDAwMDAVAgASGBQz{i:012}");
            let mut msg = if rng.gen_bool(0.06) {
                json!({"from": wa_id, "id": wamid, "timestamp": secs.to_string(), "type": "image",
                       "image": {"id": format!("media{i}"), "mime_type": "image/jpeg", "sha256": "abc", "caption": text(&mut rng)}})
            } else {
                json!({"from": wa_id, "id": wamid, "timestamp": secs.to_string(), "type": "text",
                       "text": {"body": text(&mut rng)}})
            };
            if !wamids[w].is_empty() && rng.gen_bool(0.1) {
                let n = wamids[w].len();
                msg["context"] = json!({"from": "31308001400", "id": wamids[w][n - 1 - rng.gen_range(0..n.min(200))]});
            }
            wamids[w].push(wamid);
            (
                PAGES + w,
                json!({"object": "whatsapp_business_account", "entry": [{"id": "1029384756", "changes": [{
                    "field": "messages", "value": {
                        "messaging_product": "whatsapp",
                        "metadata": {"display_phone_number": "31308001400", "phone_number_id": phone_id},
                        "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
                        "messages": [msg]}}]}]}),
            )
        };
        bodies.push((account, serde_json::to_vec(&body)?));
    }

    // Parse every body back with the connector, exactly as the desk will.
    let mut messages = Vec::with_capacity(unique);
    for (i, (account, body)) in bodies.iter().enumerate() {
        let events = webcare_connectors::meta::parse_meta_webhook(body, Utc::now())
            .with_context(|| format!("generated delivery {i} does not parse"))?;
        let mut found = None;
        for ev in events {
            if let InboundEvent::Message(m) = ev.event {
                if ev.account_external_id != accounts[*account].external_id {
                    bail!(
                        "delivery {i} addressed to {} not {}",
                        ev.account_external_id,
                        accounts[*account].external_id
                    );
                }
                found = Some(m);
            }
        }
        let Some(m) = found else {
            bail!(
                "generated delivery {i} holds no message: {}",
                String::from_utf8_lossy(body)
            );
        };
        messages.push((*account, m));
    }

    // Deliveries: every body once, plus 10% retries of an earlier body, a little later.
    let mut keyed: Vec<(f64, usize, bool)> = (0..unique).map(|i| (i as f64, i, false)).collect();
    for _ in 0..unique / 10 {
        let i = rng.gen_range(0..unique);
        keyed.push((i as f64 + rng.gen_range(1.0..300.0), i, true));
    }
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
    let shared: Vec<bytes_like::Body> = bodies
        .into_iter()
        .map(|(_, b)| std::sync::Arc::new(b))
        .collect();
    let deliveries = keyed
        .into_iter()
        .map(|(_, i, duplicate)| Delivery {
            signature: webcare_connectors::signature::sign_meta(APP_SECRET.as_bytes(), &shared[i]),
            body: shared[i].clone(),
            message: i,
            duplicate,
        })
        .collect();
    Ok(Workload {
        accounts,
        deliveries,
        messages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workload_parses_back_and_has_ten_percent_duplicates() {
        let w = build(2_000, 7).unwrap();
        assert_eq!(w.messages.len(), 2_000);
        assert_eq!(w.deliveries.len(), 2_200);
        assert_eq!(w.deliveries.iter().filter(|d| d.duplicate).count(), 200);
        let ids: std::collections::HashSet<_> = w
            .messages
            .iter()
            .map(|(a, m)| (*a, m.platform_message_id.clone()))
            .collect();
        assert_eq!(ids.len(), 2_000, "platform ids are unique per account");
        // Replies in threads exist in every family.
        assert!(w
            .messages
            .iter()
            .any(|(a, m)| *a < PAGES && m.in_reply_to.is_some()));
        assert!(w
            .messages
            .iter()
            .any(|(a, m)| *a >= PAGES && m.in_reply_to.is_some()));
        for d in w.deliveries.iter().take(50) {
            assert!(webcare_connectors::signature::verify_meta_signature(
                APP_SECRET.as_bytes(),
                &d.body,
                Some(&d.signature)
            )
            .is_ok());
        }
    }
}
