//! Which contacts are probably the same citizen. The desk suggests, an agent decides: nothing here
//! links anything. Two rules, each a reason an agent can check at a glance:
//!
//! * **Same phone number**: a WhatsApp id is the citizen's phone number; a number the desk
//!   recorded on another contact (e.g. from a Facebook profile or a phone call) that is the same
//!   number, however it was typed (`06-12345678`, `+31 6 1234 5678`, `0031612345678`), matches.
//! * **Same display name and handle across X and Instagram**: people often keep one handle on
//!   both; a handle alone is too weak (handles are reused by others), so the display name must
//!   agree too (case and spacing aside).

use crate::ChannelKind;
use std::collections::BTreeSet;
use uuid::Uuid;

/// One identity of a contact, as far as matching needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityFacts {
    pub channel: ChannelKind,
    pub platform_user_id: String,
    pub handle: Option<String>,
    pub display_name: Option<String>,
}

/// A contact, as far as matching needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactFacts {
    pub id: Uuid,
    /// The phone number the desk recorded, in any notation.
    pub phone: Option<String>,
    pub identities: Vec<IdentityFacts>,
}

/// Why two contacts may be one citizen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchReason {
    SamePhoneNumber,
    SameNameAndHandle,
}

impl MatchReason {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchReason::SamePhoneNumber => "same_phone_number",
            MatchReason::SameNameAndHandle => "same_name_and_handle",
        }
    }
}

/// A suggested match: the other contact and every reason, in a fixed order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    pub contact_id: Uuid,
    pub reasons: Vec<MatchReason>,
}

/// A phone number as digits with the country code (the form of a WhatsApp id), or `None` when
/// `raw` is not a phone number. A national Dutch number (`0` and nine digits) gets `31`; `+` and
/// `00` introduce an international number; separators (spaces, `-`, `.`, `/`, brackets) and the
/// `(0)` people write after `+31` are ignored. Anything with letters is not a number.
pub fn normalise_phone(raw: &str) -> Option<String> {
    let t = raw.trim().replace("(0)", "");
    let (international, rest) = match t.strip_prefix('+') {
        Some(r) => (true, r),
        None => (false, t.as_str()),
    };
    let mut digits = String::with_capacity(rest.len());
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '/' | '(' | ')' => {}
            _ => return None,
        }
    }
    let full = if international {
        digits
    } else if let Some(r) = digits.strip_prefix("00") {
        r.to_owned()
    } else if digits.len() == 10 && digits.starts_with('0') {
        format!("31{}", &digits[1..])
    } else {
        // Already with a country code, as WhatsApp ids are.
        digits
    };
    // E.164: at most 15 digits; a country code never starts with 0.
    if (8..=15).contains(&full.len()) && !full.starts_with('0') {
        Some(full)
    } else {
        None
    }
}

/// A handle for comparison: without a leading `@`, lower case; `None` when empty.
pub fn normalise_handle(raw: &str) -> Option<String> {
    let h = raw.trim().trim_start_matches('@').to_lowercase();
    (!h.is_empty()).then_some(h)
}

/// A display name for comparison: words joined by one space, lower case; `None` when empty.
pub fn normalise_name(raw: &str) -> Option<String> {
    let n = raw
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    (!n.is_empty()).then_some(n)
}

/// The contact's phone numbers, normalised: its WhatsApp ids and the recorded number.
pub fn phone_keys(c: &ContactFacts) -> BTreeSet<String> {
    c.identities
        .iter()
        .filter(|i| i.channel == ChannelKind::Whatsapp)
        .filter_map(|i| normalise_phone(&i.platform_user_id))
        .chain(c.phone.as_deref().and_then(normalise_phone))
        .collect()
}

/// The contact's (handle, name) pairs on X and Instagram, normalised, with the channel.
fn name_handles(c: &ContactFacts) -> BTreeSet<(ChannelKind, String, String)> {
    c.identities
        .iter()
        .filter(|i| matches!(i.channel, ChannelKind::X | ChannelKind::Instagram))
        .filter_map(|i| {
            Some((
                i.channel,
                normalise_handle(i.handle.as_deref()?)?,
                normalise_name(i.display_name.as_deref()?)?,
            ))
        })
        .collect()
}

/// The normalised handles of the contact's X and Instagram identities: what the store looks
/// candidates up by.
pub fn handle_keys(c: &ContactFacts) -> BTreeSet<String> {
    name_handles(c).into_iter().map(|(_, h, _)| h).collect()
}

/// Why `a` and `b` may be one citizen (empty: no reason). Symmetric.
pub fn match_reasons(a: &ContactFacts, b: &ContactFacts) -> Vec<MatchReason> {
    let mut out = Vec::new();
    if a.id == b.id {
        return out;
    }
    if !phone_keys(a).is_disjoint(&phone_keys(b)) {
        out.push(MatchReason::SamePhoneNumber);
    }
    let (na, nb) = (name_handles(a), name_handles(b));
    let across = na.iter().any(|(ca, ha, da)| {
        nb.iter()
            .any(|(cb, hb, db)| ca != cb && ha == hb && da == db)
    });
    if across {
        out.push(MatchReason::SameNameAndHandle);
    }
    out
}

/// The candidates that may be `target`'s citizen, each once, in the candidates' order; the
/// target itself never.
pub fn suggest(target: &ContactFacts, candidates: &[ContactFacts]) -> Vec<Suggestion> {
    let mut seen = BTreeSet::new();
    candidates
        .iter()
        .filter(|c| seen.insert(c.id))
        .filter_map(|c| {
            let reasons = match_reasons(target, c);
            (!reasons.is_empty()).then_some(Suggestion {
                contact_id: c.id,
                reasons,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ident(
        channel: ChannelKind,
        id: &str,
        handle: Option<&str>,
        name: Option<&str>,
    ) -> IdentityFacts {
        IdentityFacts {
            channel,
            platform_user_id: id.into(),
            handle: handle.map(Into::into),
            display_name: name.map(Into::into),
        }
    }

    fn contact(phone: Option<&str>, identities: Vec<IdentityFacts>) -> ContactFacts {
        ContactFacts {
            id: Uuid::now_v7(),
            phone: phone.map(Into::into),
            identities,
        }
    }

    #[test]
    fn dutch_numbers_in_every_notation_are_one_number() {
        for raw in [
            "06-12345678",
            "06 12 34 56 78",
            "+31 6 12345678",
            "+31 (0)6 1234 5678",
            "0031612345678",
            "31612345678",
            "(06) 12345678",
        ] {
            assert_eq!(
                normalise_phone(raw).as_deref(),
                Some("31612345678"),
                "{raw}"
            );
        }
        assert_eq!(
            normalise_phone("+32 470 12 34 56").as_deref(),
            Some("32470123456")
        );
        for bad in [
            "",
            "12345",
            "06-1234567x",
            "bel me",
            "0612345678901234567",
            "+0612345678",
        ] {
            assert_eq!(normalise_phone(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_whatsapp_number_matches_the_number_recorded_on_a_facebook_contact() {
        let wa = contact(
            None,
            vec![ident(
                ChannelKind::Whatsapp,
                "31612345678",
                None,
                Some("Anna"),
            )],
        );
        let fb = contact(
            Some("06-12345678"),
            vec![ident(
                ChannelKind::FacebookPage,
                "fb-1",
                None,
                Some("Anna de Vries"),
            )],
        );
        let other = contact(
            Some("06-87654321"),
            vec![ident(ChannelKind::FacebookPage, "fb-2", None, None)],
        );
        assert_eq!(match_reasons(&wa, &fb), vec![MatchReason::SamePhoneNumber]);
        assert!(match_reasons(&wa, &other).is_empty());
        let s = suggest(&wa, &[other.clone(), fb.clone(), fb.clone(), wa.clone()]);
        assert_eq!(
            s,
            vec![Suggestion {
                contact_id: fb.id,
                reasons: vec![MatchReason::SamePhoneNumber]
            }]
        );
    }

    #[test]
    fn name_and_handle_must_both_agree_across_x_and_instagram() {
        let x = contact(
            None,
            vec![ident(
                ChannelKind::X,
                "1",
                Some("@AnnaDV"),
                Some("Anna  de Vries"),
            )],
        );
        let ig = contact(
            None,
            vec![ident(
                ChannelKind::Instagram,
                "2",
                Some("annadv"),
                Some("anna de vries"),
            )],
        );
        let ig_other_name = contact(
            None,
            vec![ident(
                ChannelKind::Instagram,
                "3",
                Some("annadv"),
                Some("A. Jansen"),
            )],
        );
        let x_same = contact(
            None,
            vec![ident(
                ChannelKind::X,
                "4",
                Some("annadv"),
                Some("Anna de Vries"),
            )],
        );
        let fb = contact(
            None,
            vec![ident(
                ChannelKind::FacebookPage,
                "5",
                Some("annadv"),
                Some("Anna de Vries"),
            )],
        );
        assert_eq!(match_reasons(&x, &ig), vec![MatchReason::SameNameAndHandle]);
        assert!(
            match_reasons(&x, &ig_other_name).is_empty(),
            "a handle alone is too weak"
        );
        assert!(
            match_reasons(&x, &x_same).is_empty(),
            "two X accounts are two accounts"
        );
        assert!(match_reasons(&x, &fb).is_empty(), "only X and Instagram");
    }

    fn arb_channel() -> impl Strategy<Value = ChannelKind> {
        prop_oneof![
            Just(ChannelKind::X),
            Just(ChannelKind::Instagram),
            Just(ChannelKind::Whatsapp),
            Just(ChannelKind::FacebookPage),
            Just(ChannelKind::Api),
        ]
    }

    fn arb_contact() -> impl Strategy<Value = ContactFacts> {
        // A small alphabet so that matches actually happen.
        let ident = (
            arb_channel(),
            prop_oneof![Just("31612345678"), Just("31687654321"), Just("abc")],
            proptest::option::of(prop_oneof![Just("@anna"), Just("Anna"), Just("piet")]),
            proptest::option::of(prop_oneof![Just("Anna"), Just(" anna "), Just("Piet")]),
        )
            .prop_map(|(channel, id, handle, name)| IdentityFacts {
                channel,
                platform_user_id: id.into(),
                handle: handle.map(Into::into),
                display_name: name.map(Into::into),
            });
        (
            proptest::option::of(prop_oneof![
                Just("06-12345678"),
                Just("+31687654321"),
                Just("x")
            ]),
            proptest::collection::vec(ident, 0..4),
        )
            .prop_map(|(phone, identities)| ContactFacts {
                id: Uuid::now_v7(),
                phone: phone.map(Into::into),
                identities,
            })
    }

    proptest! {
        #[test]
        fn matching_is_symmetric_and_never_self(a in arb_contact(), b in arb_contact()) {
            prop_assert_eq!(match_reasons(&a, &b), match_reasons(&b, &a));
            prop_assert!(match_reasons(&a, &a).is_empty());
            prop_assert!(suggest(&a, std::slice::from_ref(&a)).is_empty());
        }

        #[test]
        fn a_suggestion_always_shares_a_looked_up_key(a in arb_contact(), b in arb_contact()) {
            // The store finds candidates by phone and handle keys: every suggestion must share
            // one, or the store's look-up would miss it.
            let r = match_reasons(&a, &b);
            if r.contains(&MatchReason::SamePhoneNumber) {
                prop_assert!(!phone_keys(&a).is_disjoint(&phone_keys(&b)));
            }
            if r.contains(&MatchReason::SameNameAndHandle) {
                prop_assert!(!handle_keys(&a).is_disjoint(&handle_keys(&b)));
            }
        }

        #[test]
        fn suggestions_are_unique_and_in_candidate_order(
            t in arb_contact(),
            cs in proptest::collection::vec(arb_contact(), 0..6),
        ) {
            let mut doubled = cs.clone();
            doubled.extend(cs.iter().cloned());
            let s = suggest(&t, &doubled);
            let ids: Vec<Uuid> = s.iter().map(|s| s.contact_id).collect();
            let expected: Vec<Uuid> = cs.iter().filter(|c| !match_reasons(&t, c).is_empty()).map(|c| c.id).collect();
            prop_assert_eq!(ids, expected);
        }

        #[test]
        fn normalised_numbers_are_fixed_points(raw in "[+0-9 ()./-]{0,20}") {
            if let Some(n) = normalise_phone(&raw) {
                prop_assert!(n.chars().all(|c| c.is_ascii_digit()));
                prop_assert!((8..=15).contains(&n.len()));
                prop_assert_eq!(normalise_phone(&n), Some(n.clone()));
                prop_assert_eq!(normalise_phone(&format!("+{n}")), Some(n.clone()));
                prop_assert_eq!(normalise_phone(&format!("00{n}")), Some(n));
            }
        }

        #[test]
        fn national_and_international_dutch_notations_agree(rest in "[1-9][0-9]{8}") {
            let national = format!("0{rest}");
            prop_assert_eq!(normalise_phone(&national), normalise_phone(&format!("+31 {rest}")));
            prop_assert_eq!(normalise_phone(&national), Some(format!("31{rest}")));
        }
    }
}
