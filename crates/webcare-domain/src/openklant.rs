//! What the desk registers in the municipality's klantbeeld (Open Klant 2, Klantinteracties API
//! 0.9; issue 14): each social message as a `klantcontact`, the citizen as a `partij` (found again
//! by a digitaal adres), the zaak as an `onderwerpobject`, a forward as an `internetaak`. Pure:
//! the request bodies and the keys the worker looks them up by, so a retry finds what an earlier
//! attempt made instead of making it twice.

use crate::personal_data::mask as mask_personal_data;
use crate::zgw::cut_on_word;
use crate::{ChannelKind, Direction, Visibility};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

/// The `kanaal` of a channel (free text in Open Klant unless checked against the
/// Referentielijsten API; at most 50 characters).
pub fn kanaal(kind: Option<ChannelKind>) -> &'static str {
    match kind {
        Some(ChannelKind::X) => "X",
        Some(ChannelKind::FacebookPage) => "Facebook",
        Some(ChannelKind::Instagram) => "Instagram",
        Some(ChannelKind::Whatsapp) => "WhatsApp",
        Some(ChannelKind::Api) | None => "Sociale media",
    }
}

/// One message to register.
#[derive(Debug, Clone)]
pub struct ContactInput<'a> {
    pub kind: Option<ChannelKind>,
    pub platform_message_id: &'a str,
    pub direction: Direction,
    pub visibility: Visibility,
    pub text: &'a str,
    pub sent_at: DateTime<Utc>,
    pub case_id: Uuid,
}

/// The klantcontact's `onderwerp`: the channel, the direction and the platform's message id.
/// Open Klant has no filter on `metadata`, so this is also the key the worker finds an earlier
/// attempt's klantcontact by (with `kanaal`); at most 200 characters.
pub fn onderwerp(c: &ContactInput<'_>) -> String {
    let what = match c.direction {
        Direction::Inbound => "Bericht van inwoner",
        Direction::Outbound => "Antwoord van de gemeente",
    };
    let s = format!("{what} via {} ({})", kanaal(c.kind), c.platform_message_id);
    s.chars().take(200).collect()
}

/// The body of `POST /klantcontacten`. A private message (DM) is `vertrouwelijk`; BSNs, IBANs
/// and phone numbers in the text are masked (the klantbeeld needs the question, not the number).
pub fn klantcontact_request(c: &ContactInput<'_>) -> Value {
    let richting = match c.direction {
        Direction::Inbound => "inkomend",
        Direction::Outbound => "uitgaand",
    };
    let inhoud = cut_on_word(&mask_personal_data(c.text), 1000);
    let pmid: String = c.platform_message_id.chars().take(255).collect();
    json!({
        "kanaal": kanaal(c.kind),
        "onderwerp": onderwerp(c),
        "inhoud": inhoud,
        "indicatieContactGelukt": true,
        "taal": "nld",
        "vertrouwelijk": c.visibility == Visibility::Private,
        "plaatsgevondenOp": c.sent_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        "metadata": {
            "platformMessageId": pmid,
            "webcareCaseId": c.case_id.to_string(),
            "richting": richting,
        },
    })
}

/// The citizen's digitaal adres: the platform and the platform's user id (stable, unlike a
/// handle); at most 80 characters. Also the key a partij is found again by.
pub fn digitaal_adres(kind: Option<ChannelKind>, platform_user_id: &str) -> String {
    let platform = kind.map_or("sociaal", |k| k.as_str());
    format!("{platform}:{platform_user_id}")
        .chars()
        .take(80)
        .collect()
}

/// The body of `POST /partijen`: a persoon, without a name (personal data minimal: the
/// klantbeeld knows the citizen by the digitaal adres the worker adds next). Open Klant demands
/// the four address and account keys although the document does not list them as required
/// (its `test_create_partij_only_required`); empty, as its own tests send them.
pub fn partij_request() -> Value {
    json!({
        "soortPartij": "persoon",
        "indicatieActief": true,
        "voorkeurstaal": "nld",
        "digitaleAdressen": [],
        "voorkeursDigitaalAdres": null,
        "rekeningnummers": [],
        "voorkeursRekeningnummer": null,
    })
}

/// The body of `POST /digitaleadressen` for the partij `partij_uuid`.
pub fn digitaal_adres_request(partij_uuid: &str, kind: Option<ChannelKind>, adres: &str) -> Value {
    json!({
        "verstrektDoorBetrokkene": null,
        "verstrektDoorPartij": {"uuid": partij_uuid},
        "adres": adres,
        "soortDigitaalAdres": "overig",
        "omschrijving": kanaal(kind),
    })
}

/// The body of `POST /betrokkenen`: the citizen took part in the klantcontact (its initiator
/// when the message was theirs).
pub fn betrokkene_request(klantcontact_uuid: &str, partij_uuid: &str, initiator: bool) -> Value {
    json!({
        "wasPartij": {"uuid": partij_uuid},
        "hadKlantcontact": {"uuid": klantcontact_uuid},
        "rol": "klant",
        "initiator": initiator,
    })
}

/// The last path segment of a resource URL (its uuid in the ZGW APIs).
pub fn uuid_of(url: &str) -> &str {
    url.trim_end_matches('/').rsplit('/').next().unwrap_or(url)
}

/// The body of `POST /onderwerpobjecten`: the klantcontact was about the zaak at `zaak_url`
/// (identified as the spec's example does: object type `zaak`, register `open-zaak`, by uuid).
pub fn onderwerpobject_request(klantcontact_uuid: &str, zaak_url: &str) -> Value {
    json!({
        "klantcontact": {"uuid": klantcontact_uuid},
        "wasKlantcontact": null,
        "onderwerpobjectidentificator": {
            "objectId": uuid_of(zaak_url),
            "codeObjecttype": "zaak",
            "codeRegister": "open-zaak",
            "codeSoortObjectId": "uuid",
        },
    })
}

/// The body of `POST /internetaken`: the department (its actor) is asked to handle the
/// citizen's question of the klantcontact.
pub fn internetaak_request(
    klantcontact_uuid: &str,
    actor_uuid: &str,
    department: &str,
    question: Option<&str>,
) -> Value {
    let handeling = cut_on_word(
        &format!("Beantwoord de vraag van de inwoner (doorgezet naar {department})"),
        200,
    );
    let toelichting = cut_on_word(
        &mask_personal_data(question.unwrap_or("Doorgezet vanuit webcare")),
        1000,
    );
    json!({
        "gevraagdeHandeling": handeling,
        "aanleidinggevendKlantcontact": {"uuid": klantcontact_uuid},
        "toegewezenAanActoren": [{"uuid": actor_uuid}],
        "toelichting": toelichting,
        "status": "te_verwerken",
    })
}

/// Whether a klantcontact (as Open Klant answers it) is one the desk registered itself: its
/// metadata names the desk's case ([`klantcontact_request`]).
pub fn registered_by_desk(klantcontact: &Value) -> bool {
    klantcontact["metadata"]["webcareCaseId"].is_string()
}

/// The note on a contact's case for a klantcontact registered in Open Klant by another channel
/// (a phone call, the counter): its kanaal and onderwerp, BSNs, IBANs and phone numbers masked.
pub fn klantcontact_note(klantcontact: &Value) -> String {
    let field = |k: &str| {
        klantcontact[k]
            .as_str()
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let mut text = format!(
        "Klantcontact via {} geregistreerd in Open Klant",
        field("kanaal").unwrap_or("een ander kanaal")
    );
    if let Some(o) = field("onderwerp") {
        text.push_str(": ");
        text.push_str(o);
    }
    cut_on_word(&mask_personal_data(&text), 500)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(text: &str) -> ContactInput<'_> {
        ContactInput {
            kind: Some(ChannelKind::X),
            platform_message_id: "1790000000000000001",
            direction: Direction::Inbound,
            visibility: Visibility::Private,
            text,
            sent_at: "2026-12-07T09:30:00Z".parse().unwrap(),
            case_id: Uuid::nil(),
        }
    }

    #[test]
    fn a_klantcontact_names_its_channel_message_and_confidentiality() {
        let b = klantcontact_request(&input("Mijn BSN is 123456782, de lamp is kapot"));
        assert_eq!(b["kanaal"], "X");
        assert_eq!(b["taal"], "nld");
        assert_eq!(b["vertrouwelijk"], true);
        assert_eq!(b["plaatsgevondenOp"], "2026-12-07T09:30:00Z");
        assert_eq!(b["metadata"]["platformMessageId"], "1790000000000000001");
        assert_eq!(
            b["onderwerp"],
            "Bericht van inwoner via X (1790000000000000001)"
        );
        assert!(!b["inhoud"].as_str().unwrap().contains("123456782"));
    }

    #[test]
    fn limits_are_kept_for_long_texts_and_ids() {
        let long = "woord ".repeat(400);
        let id = "9".repeat(300);
        let mut c = input(&long);
        c.platform_message_id = &id;
        let b = klantcontact_request(&c);
        assert!(b["inhoud"].as_str().unwrap().chars().count() <= 1000);
        assert!(b["onderwerp"].as_str().unwrap().chars().count() <= 200);
        assert!(
            b["metadata"]["platformMessageId"]
                .as_str()
                .unwrap()
                .chars()
                .count()
                <= 255
        );
        assert!(digitaal_adres(Some(ChannelKind::X), &id).chars().count() <= 80);
    }

    #[test]
    fn the_zaak_is_named_by_its_uuid() {
        let b = onderwerpobject_request("k", "https://oz.example.nl/zaken/api/v1/zaken/abc-1");
        assert_eq!(b["onderwerpobjectidentificator"]["objectId"], "abc-1");
    }

    #[test]
    fn the_desks_own_klantcontact_is_known_by_its_metadata_and_others_become_a_note() {
        let c = ContactInput {
            kind: None,
            platform_message_id: "m-1",
            direction: Direction::Inbound,
            visibility: Visibility::Public,
            text: "x",
            sent_at: Utc::now(),
            case_id: Uuid::nil(),
        };
        assert!(registered_by_desk(&klantcontact_request(&c)));
        let phone = json!({"kanaal": "Telefoon", "onderwerp": "Belde over BSN 123456782"});
        assert!(!registered_by_desk(&phone));
        assert_eq!(
            klantcontact_note(&phone),
            "Klantcontact via Telefoon geregistreerd in Open Klant: Belde over BSN *********"
        );
        assert_eq!(
            klantcontact_note(&json!({"kanaal": " ", "onderwerp": null})),
            "Klantcontact via een ander kanaal geregistreerd in Open Klant"
        );
    }
}
