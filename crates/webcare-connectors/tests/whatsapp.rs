mod common;

use common::*;
use webcare_connectors::meta::parse_meta_webhook;
use webcare_domain::inbound::{Attachment, DeliveryState, InboundEvent};
use webcare_domain::model::{Direction, Visibility};

const PNID: &str = "109876543210987";
const WA: &str = "31612345678";
const TS: i64 = 1773136107;

fn messages() -> Vec<webcare_domain::inbound::AddressedEvent> {
    parse_meta_webhook(&fixture("whatsapp_messages.json"), received_at()).unwrap()
}

fn wamid(i: u32) -> String {
    format!("wamid.HBgLMzE2MTIzNDU2NzgVAgASGBQzQTk{i:03}")
}

#[test]
fn addressed_by_phone_number_id_one_event_per_message() {
    let b = messages();
    assert_eq!(b.len(), 17);
    assert!(b.iter().all(|a| a.account_external_id == PNID));
}

#[test]
fn text_message_with_context_contact_name_and_emoji() {
    let b = messages();
    let m = message(&b[0].event);
    assert_eq!(m.platform_message_id, wamid(1));
    assert_eq!(m.in_reply_to.as_deref(), Some("wamid.OURS001"));
    assert_eq!(m.conversation_key.as_deref(), Some("whatsapp:31612345678"));
    assert_eq!(m.visibility, Visibility::Private);
    assert_eq!(m.direction, Direction::Inbound);
    assert_eq!(m.author.platform_user_id, WA);
    assert_eq!(
        m.author.display_name.as_deref(),
        Some(format!("Sanne Bakker {NL_FLAG}").as_str())
    );
    assert_eq!(
        m.text,
        format!("Hoi! Mijn container is niet geleegd {FAMILY}")
    );
    assert_eq!(
        m.sent_at,
        secs(TS + 1),
        "timestamp is epoch seconds as a string"
    );
}

#[test]
fn media_messages_keep_media_id_mime_caption_filename() {
    let b = messages();
    let image = message(&b[1].event);
    assert_eq!(image.text, "Zie foto");
    assert_eq!(
        image.attachments,
        vec![Attachment {
            kind: "image".into(),
            url: None,
            mime_type: Some("image/jpeg".into()),
            platform_media_id: Some("1403111111111111".into()),
            caption: Some("Zie foto".into()),
            filename: None,
        }]
    );
    let doc = message(&b[2].event);
    assert_eq!(doc.text, "");
    assert_eq!(
        doc.attachments[0].filename.as_deref(),
        Some("bezwaarschrift.pdf")
    );
    assert_eq!(doc.attachments[0].kind, "document");
    let audio = message(&b[3].event);
    assert_eq!(audio.attachments[0].kind, "audio");
    assert_eq!(
        audio.attachments[0].mime_type.as_deref(),
        Some("audio/ogg; codecs=opus")
    );
    assert_eq!(message(&b[4].event).attachments[0].kind, "sticker");
}

#[test]
fn location_and_contacts() {
    let b = messages();
    let loc = message(&b[5].event);
    assert_eq!(loc.text, "Stadhuis, Amstel 1, Amsterdam");
    assert_eq!(loc.attachments[0].kind, "location");
    assert_eq!(
        loc.attachments[0].url.as_deref(),
        Some("geo:52.3676,4.9041")
    );
    let contacts = message(&b[6].event);
    assert_eq!(contacts.text, "Buurman Henk: +31 6 98765432");
    assert_eq!(contacts.attachments[0].kind, "contacts");
    assert_eq!(
        contacts.attachments[0].caption.as_deref(),
        Some("Buurman Henk")
    );
}

#[test]
fn interactive_and_button_replies_are_their_titles() {
    let b = messages();
    assert_eq!(message(&b[7].event).text, "Ja, graag");
    assert_eq!(message(&b[8].event).text, "Afval");
    assert_eq!(message(&b[9].event).text, "Afspraak bevestigen");
}

#[test]
fn reaction_system_and_unsupported_are_ignored_with_reasons() {
    let b = messages();
    assert!(ignored_reason(&b[10].event).contains("reaction"));
    let system = ignored_reason(&b[11].event);
    assert!(system.contains("user_changed_number"));
    assert!(
        !system.contains("31600000000"),
        "no phone numbers in log reasons"
    );
    let unsupported = ignored_reason(&b[12].event);
    assert!(
        unsupported.contains("unsupported") && unsupported.contains("131051"),
        "{unsupported}"
    );
}

#[test]
fn order_referral_and_business_scoped_user() {
    let b = messages();
    assert_eq!(message(&b[13].event).text, "[order: 1 item(s)]");
    let referral = message(&b[14].event);
    assert_eq!(referral.text, "Ik zag uw advertentie over de afvalpas");
    assert_eq!(referral.attachments[0].kind, "referral");
    assert_eq!(
        referral.attachments[0].url.as_deref(),
        Some("https://fb.me/abc")
    );
    let bsuid = message(&b[15].event);
    assert_eq!(bsuid.author.platform_user_id, "NL.1234567890abcdef");
    assert_eq!(bsuid.author.display_name.as_deref(), Some("Username User"));
    assert_eq!(
        bsuid.conversation_key.as_deref(),
        Some("whatsapp:NL.1234567890abcdef")
    );
}

#[test]
fn duplicate_message_in_one_body_is_kept() {
    let b = messages();
    assert_eq!(b[16].event, b[0].event);
}

#[test]
fn statuses_map_to_delivery_states_with_readable_errors() {
    let b = parse_meta_webhook(&fixture("whatsapp_statuses.json"), received_at()).unwrap();
    assert_eq!(b.len(), 8);
    let states: Vec<_> = b[..6]
        .iter()
        .map(|a| match &a.event {
            InboundEvent::Status { state, .. } => *state,
            other => panic!("{other:?}"),
        })
        .collect();
    use DeliveryState::*;
    assert_eq!(states, vec![Sent, Delivered, Read, Delivered, Read, Failed]);
    // Out-of-order and duplicate statuses fold to the highest state.
    let folded = states[..4].iter().fold(Pending, |s, r| s.merge(*r));
    assert_eq!(folded, Read);
    match &b[5].event {
        InboundEvent::Status {
            platform_message_id,
            error,
            at,
            ..
        } => {
            assert_eq!(platform_message_id, "wamid.OURS003");
            assert_eq!(*at, secs(TS + 103));
            assert_eq!(
                error.as_deref(),
                Some("131047 Re-engagement message: Message failed to send because more than 24 hours have passed since the customer last replied to this number.")
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(ignored_reason(&b[6].event).contains("deleted"));
    assert_eq!(
        b[7].account_external_id, "102290129340398",
        "WABA-level change: WABA id"
    );
    assert!(ignored_reason(&b[7].event).contains("message_template_status_update"));
}

#[test]
fn message_without_sender_or_id_is_ignored() {
    let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
        "metadata":{"phone_number_id":"2"},
        "messages":[{"id":"wamid.x","type":"text","text":{"body":"?"}},{"from":"3","type":"text"},{"from":"3","id":"w","type":"image"}]}}]}]}"#;
    let b = parse_meta_webhook(body, received_at()).unwrap();
    assert_eq!(b.len(), 3);
    assert!(is_ignored(&b[0].event));
    assert!(is_ignored(&b[1].event));
    // An image without its media object still is a (media) message, timed at received_at.
    let m = message(&b[2].event);
    assert_eq!(m.attachments[0].kind, "image");
    assert_eq!(m.sent_at, received_at());
}
