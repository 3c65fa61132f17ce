//! The demo's citizens: a steady stream of realistic Dutch messages over every channel and theme,
//! as the platforms deliver them (Meta webhook bodies; X mentions for the fake X API). No IO here:
//! the demo posts what this module makes, and the tests parse it with the real connectors.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

pub const PAGE: &str = "104961234567890";
pub const POST: &str = "104961234567890_822112233445566";
pub const IG: &str = "17841400000000001";
pub const WA: &str = "109876543210987";
pub const X_ME: &str = "1460000000000000001";

/// The channels a message can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    FacebookComment,
    Messenger,
    Instagram,
    WhatsApp,
    X,
}

impl Channel {
    pub const ALL: [Channel; 5] = [
        Channel::FacebookComment,
        Channel::Messenger,
        Channel::Instagram,
        Channel::WhatsApp,
        Channel::X,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Channel::FacebookComment => "Facebook",
            Channel::Messenger => "Messenger",
            Channel::Instagram => "Instagram",
            Channel::WhatsApp => "WhatsApp",
            Channel::X => "X",
        }
    }
}

/// What citizens write, by theme (DESIGN section 3). Public space and traffic dominate, as in the
/// field (50-70 % and 20-40 %).
pub const CORPUS: &[(&str, &str)] = &[
    ("Openbare Ruimte & Groen", "De lantaarnpaal bij de Kerkstraat 12 is al een week kapot. Het is 's avonds echt donker."),
    ("Openbare Ruimte & Groen", "Er ligt een losse stoeptegel voor de bakker op de Voorstraat, mijn moeder is er bijna over gevallen."),
    ("Openbare Ruimte & Groen", "De bomen in het Wilhelminapark hangen over het fietspad, kan er gesnoeid worden?"),
    ("Openbare Ruimte & Groen", "Het speeltuintje aan de Lindelaan heeft een kapotte schommel."),
    ("Openbare Ruimte & Groen", "Wat ziet het park er mooi uit! Complimenten aan de groenploeg."),
    ("Openbare Ruimte & Groen", "Er is een boom omgewaaid op de Dorpsweg, de stoep is versperd."),
    ("Verkeer & Infrastructuur", "Het stoplicht bij de Catharijnesingel staat al de hele ochtend op rood voor fietsers."),
    ("Verkeer & Infrastructuur", "Wanneer zijn de werkzaamheden aan de Amsterdamsestraatweg klaar? Ik kan mijn garage niet in."),
    ("Verkeer & Infrastructuur", "Er zit een groot gat in het wegdek bij de rotonde aan de Waterlinieweg."),
    ("Verkeer & Infrastructuur", "Hoe vraag ik een parkeervergunning aan voor mijn bezoek?"),
    ("Afval", "Wanneer wordt het oud papier opgehaald? De afvalkalender laat voor de Dorpsstraat niets zien."),
    ("Afval", "De ondergrondse container op het Neude puilt uit, al sinds zaterdag."),
    ("Afval", "Hoe meld ik grofvuil aan? Ik heb een oude bank staan."),
    ("Burgerzaken", "Ik wil een afspraak maken voor een nieuw paspoort, maar er is pas plek over zes weken. Kan het eerder?"),
    ("Burgerzaken", "Mijn BSN is 123456782. Klopt mijn adres nog in de BRP na mijn verhuizing?"),
    ("Wonen", "Hoe lang duurt een omgevingsvergunning voor een dakkapel?"),
    ("Zorg & Welzijn", "Waar kan ik terecht voor hulp bij de aanvraag van huishoudelijke ondersteuning voor mijn vader?"),
    ("Werk & Inkomen", "Mijn uitkering is deze maand niet overgemaakt, wie kan me helpen?"),
    ("Openbare Orde & Veiligheid", "Er wordt al dagen geparkeerd op de stoep bij de school, gevaarlijk voor de kinderen."),
    ("Sport & Recreatie", "Is het zwembad tijdens de kerstvakantie open?"),
    ("Dienstverlening", "Ik heb vorige week een melding gedaan maar nog niets gehoord, kunt u kijken?"),
];

/// Follow-ups a citizen sends in the same conversation.
const FOLLOW_UPS: &[&str] = &[
    "Er ligt nu ook glas op de stoep.",
    "Hallo? Ik wacht nog steeds op antwoord.",
    "Ik heb er een foto van gemaakt, zie hierboven.",
    "Dank u wel alvast!",
];

const PEOPLE: &[&str] = &[
    "Fatima El Amrani",
    "Jan de Boer",
    "Sanne Bakker",
    "Kees van Dijk",
    "Priya Ramdin",
    "Mehmet Yilmaz",
    "Anouk Jansen",
    "Wim Visser",
];

/// One delivery to make, with a line for the console (who wrote what, BSNs masked).
#[derive(Debug, Clone)]
pub struct Delivery {
    pub channel: Channel,
    pub theme: &'static str,
    pub line: String,
    pub kind: DeliveryKind,
}

#[derive(Debug, Clone)]
pub enum DeliveryKind {
    /// A signed POST to `/webhooks/meta`.
    Meta(Value),
    /// A mention for the fake X API, fetched by the real poller.
    XMention(Value),
}

/// Who wrote what where, for follow-ups in the same conversation.
#[derive(Debug, Clone)]
struct Sent {
    channel: Channel,
    person: usize,
    /// The Facebook comment id (its thread) or the X post id (its conversation).
    thread: String,
}

/// A deterministic stream of citizen messages.
pub struct Traffic {
    rng: StdRng,
    run: String,
    n: u64,
    recent: Vec<Sent>,
}

impl Traffic {
    /// `run` keeps ids unique across demo runs on the same database.
    pub fn new(seed: u64, run: &str) -> Traffic {
        Traffic {
            rng: StdRng::seed_from_u64(seed),
            run: run.to_owned(),
            n: 0,
            recent: Vec::new(),
        }
    }

    /// The next delivery at `now`: mostly new questions, sometimes a follow-up.
    pub fn next(&mut self, now: chrono::DateTime<chrono::Utc>) -> Delivery {
        self.n += 1;
        if !self.recent.is_empty() && self.rng.gen_ratio(1, 5) {
            let sent = self.recent[self.rng.gen_range(0..self.recent.len())].clone();
            let text = FOLLOW_UPS[self.rng.gen_range(0..FOLLOW_UPS.len())];
            return self.delivery(
                sent.channel,
                sent.person,
                "(vervolg)",
                text,
                Some(&sent.thread),
                now,
            );
        }
        let channel = Channel::ALL[self.rng.gen_range(0..Channel::ALL.len())];
        let (theme, text) = CORPUS[self.rng.gen_range(0..CORPUS.len())];
        let person = self.rng.gen_range(0..PEOPLE.len());
        self.delivery(channel, person, theme, text, None, now)
    }

    fn delivery(
        &mut self,
        channel: Channel,
        person: usize,
        theme: &'static str,
        text: &str,
        thread: Option<&str>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Delivery {
        let name = PEOPLE[person];
        let (run, n) = (&self.run, self.n);
        let user = format!("{}{:03}", 6_150_000 + person, person);
        let secs = now.timestamp();
        let ms = now.timestamp_millis();
        let (kind, id) = match channel {
            Channel::FacebookComment => {
                let id = format!("822112233445566_{run}{n}");
                let parent = thread.unwrap_or(POST);
                let body = json!({"object": "page", "entry": [{"id": PAGE, "time": secs, "changes": [{"field": "feed", "value": {
                    "item": "comment", "verb": "add", "comment_id": id, "post_id": POST, "parent_id": parent,
                    "from": {"id": user, "name": name}, "message": text, "created_time": secs,
                    "post": {"id": POST, "status_type": "added_photos", "is_published": true}}}]}]});
                // A reply to the citizen's own comment stays in their thread.
                (DeliveryKind::Meta(body), thread.map_or(id, str::to_owned))
            }
            Channel::Messenger | Channel::Instagram => {
                let (object, recipient, prefix) = if channel == Channel::Messenger {
                    ("page", PAGE, "m_")
                } else {
                    ("instagram", IG, "aWdf")
                };
                let body = json!({"object": object, "entry": [{"id": recipient, "time": ms, "messaging": [{
                    "sender": {"id": format!("24{user}")}, "recipient": {"id": recipient}, "timestamp": ms,
                    "message": {"mid": format!("{prefix}{run}_{n}"), "text": text}}]}]});
                (DeliveryKind::Meta(body), String::new())
            }
            Channel::WhatsApp => {
                let wa_id = format!("316{:08}", 12_345_000 + person);
                let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
                    "messaging_product": "whatsapp", "metadata": {"display_phone_number": "31308001400", "phone_number_id": WA},
                    "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
                    "messages": [{"from": wa_id, "id": format!("wamid.{run}{n}"), "timestamp": secs.to_string(), "type": "text",
                        "text": {"body": text}}]}}]}]});
                (DeliveryKind::Meta(body), String::new())
            }
            Channel::X => {
                // Snowflake-like ids that grow with time, as the poller's since_id expects.
                let id = (1_900_000_000_000_000_000u64
                    + (ms as u64 % 100_000_000_000) * 1_000
                    + n % 1_000)
                    .to_string();
                let conversation = thread.map_or_else(|| id.clone(), str::to_owned);
                let mention = json!({"id": id, "text": format!("@gemeente {text}"), "author_id": format!("80{person}"),
                    "conversation_id": conversation, "created_at": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    "edit_history_tweet_ids": [id], "in_reply_to_user_id": X_ME});
                (DeliveryKind::XMention(mention), conversation)
            }
        };
        if thread.is_none() {
            self.recent.push(Sent {
                channel,
                person,
                thread: id,
            });
            if self.recent.len() > 20 {
                self.recent.remove(0);
            }
        }
        Delivery {
            channel,
            theme,
            line: format!("{name}: {}", webcare_domain::bsn::mask_bsns(text)),
            kind,
        }
    }
}

/// The X users the fake X API knows, so the poller can name the authors.
pub fn x_users() -> impl Iterator<Item = (String, String, &'static str)> {
    PEOPLE.iter().enumerate().map(|(i, name)| {
        let handle = name.to_lowercase().replace(' ', "_");
        (format!("80{i}"), handle, *name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use webcare_connectors::meta::parse_meta_webhook;
    use webcare_connectors::x::parse_mentions_page;

    #[test]
    fn the_stream_covers_every_channel_and_theme_in_the_real_wire_formats() {
        let mut t = Traffic::new(7, "t1");
        let now = chrono::Utc::now();
        let (mut channels, mut themes) = (HashSet::new(), HashSet::new());
        let mut ids = HashSet::new();
        for _ in 0..400 {
            let d = t.next(now);
            channels.insert(d.channel);
            themes.insert(d.theme);
            let events = match &d.kind {
                DeliveryKind::Meta(body) => parse_meta_webhook(body.to_string().as_bytes(), now)
                    .expect("Meta body parses")
                    .into_iter()
                    .map(|a| a.event)
                    .collect::<Vec<_>>(),
                DeliveryKind::XMention(m) => {
                    let page = json!({"data": [m], "meta": {"result_count": 1, "newest_id": m["id"], "oldest_id": m["id"]}});
                    parse_mentions_page(page.to_string().as_bytes(), X_ME)
                        .expect("X page parses")
                        .events
                }
            };
            assert_eq!(events.len(), 1, "{:?}: one message per delivery", d.channel);
            let webcare_domain::inbound::InboundEvent::Message(m) = &events[0] else {
                panic!("{:?} is not a message: {:?}", d.channel, events[0]);
            };
            assert!(ids.insert(m.platform_message_id.clone()), "ids are unique");
            assert!(!m.author.platform_user_id.is_empty());
        }
        assert_eq!(channels.len(), Channel::ALL.len());
        let all: HashSet<&str> = CORPUS.iter().map(|(t, _)| *t).collect();
        assert!(
            all.is_subset(&themes),
            "missing themes: {:?}",
            all.difference(&themes)
        );
    }

    #[test]
    fn console_lines_never_show_a_bsn() {
        let mut t = Traffic::new(1, "t2");
        let now = chrono::Utc::now();
        let lines: Vec<String> = (0..500).map(|_| t.next(now).line).collect();
        assert!(
            lines.iter().any(|l| l.contains("Mijn BSN is")),
            "the BSN message was drawn"
        );
        assert!(lines.iter().all(|l| !webcare_domain::bsn::contains_bsn(l)));
    }
}
