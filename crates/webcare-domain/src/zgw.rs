//! What the desk sends to a zaaksysteem (ZGW Zaken API 1.5.1, as Open Zaak serves it): the request
//! bodies of a zaak, a status, a resultaat and a rol, and the JWT-ZGW claims, built from a case
//! without IO. The limits are the standard's: `omschrijving` <= 80 characters, `toelichting` <= 1000,
//! `identificatie` <= 40 and unique per bronorganisatie, RSINs of nine digits passing the 11-proef.
//!
//! The desk chooses the zaak's `identificatie` itself (`WC-` + the case id), so a retry after a crash
//! between sending and recording finds the zaak it already made instead of making a second one.

use crate::{bsn, personal_data};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Europe::Amsterdam;
use serde::Serialize;
use std::collections::BTreeMap;
use uuid::Uuid;

pub const OMSCHRIJVING_MAX: usize = 80;
pub const TOELICHTING_MAX: usize = 1000;
pub const IDENTIFICATIE_MAX: usize = 40;

/// The vertrouwelijkheidaanduidingen of the Zaken API.
pub const VERTROUWELIJKHEID: [&str; 8] = [
    "openbaar",
    "beperkt_openbaar",
    "intern",
    "zaakvertrouwelijk",
    "vertrouwelijk",
    "confidentieel",
    "geheim",
    "zeer_geheim",
];

/// True when `s` is an RSIN: nine digits passing the same 11-proef as a BSN.
pub fn is_valid_rsin(s: &str) -> bool {
    bsn::is_valid_bsn(s)
}

/// The zaak's `identificatie` for a case: deterministic, so the desk can look it up before
/// creating (35 characters: `WC-` and the case id's 32 hex digits, upper case).
pub fn identificatie(case_id: Uuid) -> String {
    format!("WC-{}", case_id.simple().to_string().to_uppercase())
}

/// `text` cut to at most `max` characters: on the last word boundary that leaves room for `…`
/// (or mid-word when the first word alone is too long). Whitespace runs become one space.
pub fn cut_on_word(text: &str, max: usize) -> String {
    let clean = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if clean.chars().count() <= max {
        return clean;
    }
    if max == 0 {
        return String::new();
    }
    // Room for the ellipsis.
    let head: String = clean.chars().take(max - 1).collect();
    let next_is_space = clean.chars().nth(max - 1) == Some(' ');
    let cut = if next_is_space {
        head.trim_end().to_owned()
    } else {
        match head.rfind(' ') {
            Some(i) if i > 0 => head[..i].trim_end().to_owned(),
            _ => head,
        }
    };
    format!("{cut}…")
}

/// The zaak's `omschrijving`: `Webcare: ` and the start of the citizen's text, at most 80 characters.
pub fn omschrijving(text: &str) -> String {
    let clean = personal_data::mask(text);
    let clean = clean.trim();
    let full = if clean.is_empty() {
        "Webcare: vraag via sociale media".to_owned()
    } else {
        format!("Webcare: {clean}")
    };
    cut_on_word(&full, OMSCHRIJVING_MAX)
}

/// The zaak's `toelichting`: who wrote what on which channel, BSNs, IBANs and phone numbers masked, at most 1000 characters.
pub fn toelichting(channel: &str, author: &str, text: &str) -> String {
    let body = format!("Bericht van {author} via {channel}: {text}");
    cut_on_word(&personal_data::mask(&body), TOELICHTING_MAX)
}

/// The zaak's `startdatum`: the day the case started, in Europe/Amsterdam.
pub fn startdatum(started_at: DateTime<Utc>) -> NaiveDate {
    started_at.with_timezone(&Amsterdam).date_naive()
}

/// The case facts a zaak is made of.
#[derive(Debug, Clone)]
pub struct ZaakInput<'a> {
    pub case_id: Uuid,
    pub started_at: DateTime<Utc>,
    /// The channel's name as a citizen knows it ("X", "Facebook", ...).
    pub channel: &'a str,
    /// The citizen's handle or name on that channel.
    pub author: &'a str,
    /// The citizen's first message.
    pub text: &'a str,
}

/// The municipality's part of a zaak (from configuration).
#[derive(Debug, Clone)]
pub struct ZaakSettings<'a> {
    pub rsin: &'a str,
    pub zaaktype: &'a str,
    pub vertrouwelijkheid: &'a str,
}

/// `POST /zaken/api/v1/zaken`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ZaakRequest {
    pub identificatie: String,
    pub bronorganisatie: String,
    pub verantwoordelijke_organisatie: String,
    pub zaaktype: String,
    pub startdatum: NaiveDate,
    pub omschrijving: String,
    pub toelichting: String,
    pub vertrouwelijkheidaanduiding: String,
}

pub fn zaak_request(case: &ZaakInput<'_>, settings: &ZaakSettings<'_>) -> ZaakRequest {
    ZaakRequest {
        identificatie: identificatie(case.case_id),
        bronorganisatie: settings.rsin.to_owned(),
        verantwoordelijke_organisatie: settings.rsin.to_owned(),
        zaaktype: settings.zaaktype.to_owned(),
        startdatum: startdatum(case.started_at),
        omschrijving: omschrijving(case.text),
        toelichting: toelichting(case.channel, case.author, case.text),
        vertrouwelijkheidaanduiding: settings.vertrouwelijkheid.to_owned(),
    }
}

/// `POST /zaken/api/v1/statussen`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StatusRequest {
    pub zaak: String,
    pub statustype: String,
    /// RFC 3339 in UTC, whole seconds.
    pub datum_status_gezet: String,
    pub statustoelichting: String,
}

pub fn status_request(
    zaak_url: &str,
    statustype: &str,
    at: DateTime<Utc>,
    toelichting: &str,
) -> StatusRequest {
    StatusRequest {
        zaak: zaak_url.to_owned(),
        statustype: statustype.to_owned(),
        datum_status_gezet: at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        statustoelichting: cut_on_word(&personal_data::mask(toelichting), TOELICHTING_MAX),
    }
}

/// `POST /zaken/api/v1/resultaten`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ResultaatRequest {
    pub zaak: String,
    pub resultaattype: String,
    pub toelichting: String,
}

pub fn resultaat_request(
    zaak_url: &str,
    resultaattype: &str,
    toelichting: &str,
) -> ResultaatRequest {
    ResultaatRequest {
        zaak: zaak_url.to_owned(),
        resultaattype: resultaattype.to_owned(),
        toelichting: cut_on_word(&personal_data::mask(toelichting), TOELICHTING_MAX),
    }
}

/// `POST /zaken/api/v1/rollen` for a department (an organisatorische eenheid).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RolRequest {
    pub zaak: String,
    pub roltype: String,
    pub betrokkene_type: &'static str,
    pub roltoelichting: String,
    pub betrokkene_identificatie: OrganisatorischeEenheid,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OrganisatorischeEenheid {
    /// At most 24 characters.
    pub identificatie: String,
    /// At most 50 characters.
    pub naam: String,
    pub is_gehuisvest_in: String,
}

pub fn rol_request(zaak_url: &str, roltype: &str, department_id: Uuid, name: &str) -> RolRequest {
    RolRequest {
        zaak: zaak_url.to_owned(),
        roltype: roltype.to_owned(),
        betrokkene_type: "organisatorische_eenheid",
        roltoelichting: cut_on_word(&format!("Doorgezet via webcare naar {name}"), 1000),
        betrokkene_identificatie: OrganisatorischeEenheid {
            // The first 24 hex digits of the department id: stable and within the limit.
            identificatie: department_id.simple().to_string()[..24].to_owned(),
            naam: cut_on_word(name, 50),
            is_gehuisvest_in: String::new(),
        },
    }
}

/// The JWT-ZGW claims: `iss` and `client_id` the desk's client id, `iat` now (a fresh token per
/// call: Open Zaak expires them an hour after `iat`), the agent for the zaaksysteem's audit trail.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct JwtClaims {
    pub iss: String,
    pub iat: i64,
    pub client_id: String,
    pub user_id: String,
    pub user_representation: String,
}

pub fn jwt_claims(
    client_id: &str,
    user_id: &str,
    user_name: &str,
    now: DateTime<Utc>,
) -> JwtClaims {
    JwtClaims {
        iss: client_id.to_owned(),
        iat: now.timestamp(),
        client_id: client_id.to_owned(),
        user_id: user_id.to_owned(),
        user_representation: user_name.to_owned(),
    }
}

/// The zaaktype of a case's zaak from the municipality's mappings: the case's kind when it is
/// listed (a klacht is handled as a klacht whatever its theme), else its theme, else `default`.
/// `None` when none of them is mapped.
pub fn zaaktype_for<'a>(
    per_kind: &'a BTreeMap<String, String>,
    per_theme: &'a BTreeMap<String, String>,
    kind: Option<&str>,
    theme: Option<&str>,
) -> Option<&'a str> {
    kind.and_then(|k| per_kind.get(k))
        .or_else(|| theme.and_then(|t| per_theme.get(t)))
        .or_else(|| per_theme.get("default"))
        .map(String::as_str)
}

/// The statustypen a zaaktype's Catalogi lists, chosen by volgnummer: the first is "ontvangen",
/// the second "in behandeling", the last the eindstatus ("afgerond"; the Catalogi API makes the
/// highest volgnummer the eindstatus). `None` for fewer than three distinct statustypen.
/// Answers (ontvangen, in behandeling, afgerond).
pub fn pick_statustypen(types: &[(i64, String)]) -> Option<(String, String, String)> {
    let mut sorted: Vec<&(i64, String)> = types.iter().collect();
    sorted.sort_by_key(|t| t.0);
    sorted.dedup_by_key(|t| t.0);
    if sorted.len() < 3 {
        return None;
    }
    let last = sorted.len() - 1;
    Some((
        sorted[0].1.clone(),
        sorted[1].1.clone(),
        sorted[last].1.clone(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    #[test]
    fn rsin_is_nine_digits_passing_the_11_proef() {
        // Gemeente Utrecht's RSIN and the one of the Open Zaak docs.
        assert!(is_valid_rsin("002220647"));
        assert!(is_valid_rsin("001005650"));
        assert!(!is_valid_rsin("002220648"));
        assert!(!is_valid_rsin("00222064"));
        assert!(!is_valid_rsin("00222064a"));
        assert!(!is_valid_rsin("000000000"));
    }

    fn check_digit(first8: &[u8]) -> Option<u8> {
        let sum: u32 = first8
            .iter()
            .enumerate()
            .map(|(i, d)| u32::from(*d) * (9 - i as u32))
            .sum();
        let c = sum % 11;
        (c < 10).then_some(c as u8)
    }

    proptest! {
        #[test]
        fn a_number_with_its_check_digit_passes(first8 in proptest::collection::vec(0u8..10, 8)) {
            if let Some(c) = check_digit(&first8) {
                let s: String = first8.iter().chain(std::iter::once(&c)).map(|d| char::from(b'0' + d)).collect();
                prop_assert_eq!(is_valid_rsin(&s), s != "000000000");
            }
        }

        #[test]
        fn one_changed_digit_fails(first8 in proptest::collection::vec(0u8..10, 8), pos in 0usize..9, delta in 1u8..10) {
            if let Some(c) = check_digit(&first8) {
                let mut digits: Vec<u8> = first8.clone();
                digits.push(c);
                digits[pos] = (digits[pos] + delta) % 10;
                let s: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
                prop_assert!(!is_valid_rsin(&s), "{s}");
            }
        }

        #[test]
        fn cut_on_word_fits_and_is_a_prefix(text in "[a-zé ]{0,200}", max in 1usize..100) {
            let out = cut_on_word(&text, max);
            prop_assert!(out.chars().count() <= max);
            let clean = text.split_whitespace().collect::<Vec<_>>().join(" ");
            let stem = out.trim_end_matches('…');
            prop_assert!(clean.starts_with(stem));
            if clean.chars().count() <= max {
                prop_assert_eq!(out, clean);
            } else {
                prop_assert!(out.ends_with('…'));
            }
        }

        #[test]
        fn omschrijving_and_toelichting_keep_their_limits(text in "\\PC{0,3000}") {
            prop_assert!(omschrijving(&text).chars().count() <= OMSCHRIJVING_MAX);
            prop_assert!(toelichting("X", "@burger", &text).chars().count() <= TOELICHTING_MAX);
        }
    }

    proptest! {
        #[test]
        fn statustypen_are_picked_by_volgnummer(mut nums in proptest::collection::btree_set(1i64..100, 0..8), shuffle in any::<u64>()) {
            let sorted: Vec<i64> = std::mem::take(&mut nums).into_iter().collect();
            let mut types: Vec<(i64, String)> = sorted.iter().map(|n| (*n, format!("st/{n}"))).collect();
            // The order the Catalogi API answers in does not matter.
            let k = types.len().max(1);
            types.rotate_left((shuffle as usize) % k);
            match pick_statustypen(&types) {
                None => prop_assert!(sorted.len() < 3),
                Some((o, b, a)) => {
                    prop_assert!(sorted.len() >= 3);
                    prop_assert_eq!(o, format!("st/{}", sorted[0]));
                    prop_assert_eq!(b, format!("st/{}", sorted[1]));
                    prop_assert_eq!(a, format!("st/{}", sorted[sorted.len() - 1]));
                }
            }
        }
    }

    #[test]
    fn omschrijving_cuts_on_a_word() {
        let text = "De stoeptegel voor ons huis aan de Oudegracht ligt al drie weken los en er is \
                    vandaag iemand over gestruikeld";
        let o = omschrijving(text);
        assert_eq!(
            o,
            "Webcare: De stoeptegel voor ons huis aan de Oudegracht ligt al drie weken los…"
        );
        assert_eq!(omschrijving("  "), "Webcare: vraag via sociale media");
    }

    #[test]
    fn toelichting_masks_bsns() {
        let t = toelichting(
            "X",
            "@burger",
            "Mijn BSN is 123456782, waar blijft mijn pas?",
        );
        assert_eq!(
            t,
            "Bericht van @burger via X: Mijn BSN is *********, waar blijft mijn pas?"
        );
        assert!(!omschrijving("bsn 123456782").contains("123456782"));
    }

    #[test]
    fn toelichting_masks_ibans_and_phone_numbers_too() {
        let t = toelichting(
            "Facebook",
            "Jan",
            "Terugstorten op NL91ABNA0417164300, bel 06-12345678",
        );
        assert_eq!(
            t,
            "Bericht van Jan via Facebook: Terugstorten op NL****************, bel **-********"
        );
        assert_eq!(
            omschrijving("bel 020 123 4567"),
            "Webcare: bel *** *** ****"
        );
    }

    #[test]
    fn startdatum_is_the_amsterdam_day() {
        // 23:30 UTC on 31 August is already 1 September in Amsterdam (summer time).
        let at = Utc.with_ymd_and_hms(2026, 8, 31, 23, 30, 0).unwrap();
        assert_eq!(startdatum(at), NaiveDate::from_ymd_opt(2026, 9, 1).unwrap());
        let winter = Utc.with_ymd_and_hms(2026, 12, 31, 22, 59, 0).unwrap();
        assert_eq!(
            startdatum(winter),
            NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()
        );
    }

    #[test]
    fn identificatie_is_stable_and_within_40() {
        let id = Uuid::now_v7();
        assert_eq!(identificatie(id), identificatie(id));
        assert_ne!(identificatie(id), identificatie(Uuid::now_v7()));
        assert!(identificatie(id).len() <= IDENTIFICATIE_MAX);
        assert!(identificatie(id).starts_with("WC-"));
    }

    #[test]
    fn bodies_have_the_zaken_api_field_names() {
        let at = Utc.with_ymd_and_hms(2026, 9, 1, 7, 30, 0).unwrap();
        let case_id = Uuid::nil();
        let z = zaak_request(
            &ZaakInput {
                case_id,
                started_at: at,
                channel: "X",
                author: "@burger",
                text: "Losliggende stoeptegel",
            },
            &ZaakSettings {
                rsin: "002220647",
                zaaktype: "https://oz/catalogi/api/v1/zaaktypen/1",
                vertrouwelijkheid: "zaakvertrouwelijk",
            },
        );
        let v = serde_json::to_value(&z).unwrap();
        assert_eq!(v["verantwoordelijkeOrganisatie"], "002220647");
        assert_eq!(v["startdatum"], "2026-09-01");
        assert_eq!(v["omschrijving"], "Webcare: Losliggende stoeptegel");
        assert_eq!(v["identificatie"], "WC-00000000000000000000000000000000");
        let s = serde_json::to_value(status_request("z", "st", at, "Ontvangen")).unwrap();
        assert_eq!(s["datumStatusGezet"], "2026-09-01T07:30:00Z");
        let r = serde_json::to_value(rol_request("z", "rt", Uuid::nil(), "Stadsbeheer")).unwrap();
        assert_eq!(r["betrokkeneType"], "organisatorische_eenheid");
        assert_eq!(r["betrokkeneIdentificatie"]["naam"], "Stadsbeheer");
        assert_eq!(
            r["betrokkeneIdentificatie"]["identificatie"]
                .as_str()
                .unwrap()
                .len(),
            24
        );
    }

    #[test]
    fn claims_are_fresh_and_name_the_agent() {
        let t1 = Utc.with_ymd_and_hms(2026, 9, 1, 7, 30, 0).unwrap();
        let c = jwt_claims("webcare", "agent-1", "Mark de Vries", t1);
        assert_eq!(c.iss, "webcare");
        assert_eq!(c.client_id, "webcare");
        assert_eq!(c.iat, t1.timestamp());
        assert_eq!(c.user_representation, "Mark de Vries");
        let later = jwt_claims(
            "webcare",
            "agent-1",
            "Mark",
            t1 + chrono::Duration::seconds(5),
        );
        assert_eq!(later.iat, c.iat + 5);
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_listed_kind_wins_over_the_theme_then_the_theme_then_default() {
        let kinds = map(&[("klacht", "zt/klacht")]);
        let themes = map(&[("afval", "zt/afval"), ("default", "zt/default")]);
        let pick = |k, t| zaaktype_for(&kinds, &themes, k, t);
        assert_eq!(pick(Some("klacht"), Some("afval")), Some("zt/klacht"));
        assert_eq!(pick(Some("klacht"), None), Some("zt/klacht"));
        assert_eq!(pick(Some("melding"), Some("afval")), Some("zt/afval"));
        assert_eq!(pick(None, Some("afval")), Some("zt/afval"));
        assert_eq!(pick(Some("melding"), Some("groen")), Some("zt/default"));
        assert_eq!(pick(None, None), Some("zt/default"));
        assert_eq!(zaaktype_for(&kinds, &map(&[]), Some("vraag"), None), None);
    }

    proptest! {
        #[test]
        fn the_choice_is_the_first_mapped_of_kind_theme_default(
            kinds in proptest::collection::btree_map("[a-c]", "[x-z]", 0..3),
            themes in proptest::collection::btree_map("[a-c]|default", "[x-z]", 0..4),
            kind in proptest::option::of("[a-d]"),
            theme in proptest::option::of("[a-d]"),
        ) {
            let got = zaaktype_for(&kinds, &themes, kind.as_deref(), theme.as_deref());
            let reference = [
                kind.as_ref().and_then(|k| kinds.get(k)),
                theme.as_ref().and_then(|t| themes.get(t)),
                themes.get("default"),
            ]
            .into_iter()
            .flatten()
            .next()
            .map(String::as_str);
            prop_assert_eq!(got, reference);
        }
    }
}
