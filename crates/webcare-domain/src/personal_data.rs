//! Finds personal identifiers in free text, so they can be masked in what leaves the desk (the zaak
//! toelichting, Open Klant, webhook payloads, logs): BSNs, IBANs and Dutch phone numbers.
//!
//! One scanner finds all three, left to right and without overlaps, so a phone number is never
//! also read as a BSN: the 11-proef passes for about one in eleven nine-digit runs, and the nine
//! national digits of `+31 (0)6 …` are such a run. Phone numbers are tried first for that reason.
//!
//! Masking replaces the identifying ASCII letters and digits by `*` and nothing else, so the masked
//! text has the same length in bytes and every byte outside a found identifier is unchanged.

use crate::bsn::is_valid_bsn;
use serde_json::Value;
use std::ops::Range;

/// What kind of identifier was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bsn,
    Iban,
    Phone,
}

/// One identifier: its kind and its bytes in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub kind: Kind,
    pub range: Range<usize>,
}

/// Every identifier in `text`, in order, none overlapping.
pub fn find(text: &str) -> Vec<Found> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if i > 0 && is_word_char(chars[i - 1].1) {
            i += 1;
            continue;
        }
        let hit = phone_at(&chars, i)
            .map(|end| (Kind::Phone, end))
            .or_else(|| iban_at(&chars, i).map(|end| (Kind::Iban, end)));
        if let Some((kind, end)) = hit {
            found.push(Found {
                kind,
                range: chars[i].0..byte_end(text, &chars, end),
            });
            i = end;
            continue;
        }
        if chars[i].1.is_ascii_digit() {
            let (digits, end) = digit_run(&chars, i);
            // A 9-digit window inside a longer run is deliberately not a BSN.
            if digits.len() == 9 && !glued(&chars, end) && is_valid_bsn(&digits) {
                found.push(Found {
                    kind: Kind::Bsn,
                    range: chars[i].0..byte_end(text, &chars, end),
                });
            }
            i = end.max(i + 1);
            continue;
        }
        i += 1;
    }
    found
}

/// True when `text` holds any identifier.
pub fn contains(text: &str) -> bool {
    !find(text).is_empty()
}

/// `text` with every identifier masked.
pub fn mask(text: &str) -> String {
    mask_kinds(text, &[Kind::Bsn, Kind::Iban, Kind::Phone])
}

/// `text` with the identifiers of `kinds` masked: their digits, and an IBAN's letters after the
/// country code, become `*`; separators and everything around them stay.
pub fn mask_kinds(text: &str, kinds: &[Kind]) -> String {
    let found: Vec<Found> = find(text)
        .into_iter()
        .filter(|f| kinds.contains(&f.kind))
        .collect();
    if found.is_empty() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in found {
        out.push_str(&text[at..f.range.start]);
        let span = &text[f.range.clone()];
        // The country code says an IBAN was here without saying whose.
        let keep = if f.kind == Kind::Iban { 2 } else { 0 };
        out.extend(span.chars().enumerate().map(|(n, c)| {
            if n >= keep && c.is_ascii_alphanumeric() {
                '*'
            } else {
                c
            }
        }));
        at = f.range.end;
    }
    out.push_str(&text[at..]);
    out
}

/// A copy of `value` with every string in it (not the keys) masked, for payloads to third parties.
pub fn mask_json(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(mask(s)),
        Value::Array(items) => Value::Array(items.iter().map(mask_json).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), mask_json(v))).collect())
        }
        other => other.clone(),
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn glued(chars: &[(usize, char)], end: usize) -> bool {
    chars.get(end).is_some_and(|&(_, c)| is_word_char(c))
}

fn byte_end(text: &str, chars: &[(usize, char)], end: usize) -> usize {
    chars.get(end).map_or(text.len(), |&(b, _)| b)
}

/// Digits from `i` with single separators (space, dot, dash) between them, as people type a BSN
/// in groups; separators only until nine digits are seen. Answers the digits and the end.
fn digit_run(chars: &[(usize, char)], i: usize) -> (String, usize) {
    let mut digits = String::new();
    let mut j = i;
    while j < chars.len() {
        let c = chars[j].1;
        if c.is_ascii_digit() {
            digits.push(c);
            j += 1;
        } else if matches!(c, ' ' | '.' | '-')
            && chars.get(j + 1).is_some_and(|(_, n)| n.is_ascii_digit())
            && digits.len() < 9
        {
            j += 1;
        } else {
            break;
        }
    }
    (digits, j)
}

/// A Dutch phone number starting at `i`: `0` and nine more digits (`06-12345678`, `020 123 4567`,
/// `(020) 1234567`), or `+31`/`0031` and nine digits, optionally with `(0)` (`+31 (0)6 1234 5678`).
/// Answers its end.
fn phone_at(chars: &[(usize, char)], i: usize) -> Option<usize> {
    let at = |k: usize| chars.get(k).map(|&(_, c)| c);
    let starts = |k: usize, s: &str| s.chars().enumerate().all(|(n, c)| at(k + n) == Some(c));
    let mut j = i;
    let national_digits = if starts(j, "+31") {
        j += 3;
        9
    } else if starts(j, "0031") {
        j += 4;
        9
    } else if starts(j, "0") || starts(j, "(0") {
        10
    } else {
        return None;
    };
    let international = national_digits == 9;
    let mut seen = 0;
    let mut trunk_zero_skipped = false;
    loop {
        // At most two separators in a row (`) `, ` (`), and only between digits.
        let trunk_zero_may_follow = international && !trunk_zero_skipped && seen == 0;
        let mut k = j;
        while k < j + 2
            && !(trunk_zero_may_follow && starts(k, "(0)"))
            && matches!(at(k), Some(' ' | '-' | '.' | '(' | ')'))
        {
            k += 1;
        }
        if trunk_zero_may_follow && starts(k, "(0)") {
            trunk_zero_skipped = true;
            j = k + 3;
            continue;
        }
        match at(k) {
            Some(c) if c.is_ascii_digit() => {
                // The first national digit after the zero (or the country code) is never a zero.
                let first = if international { seen == 0 } else { seen == 1 };
                if first && c == '0' {
                    return None;
                }
                seen += 1;
                j = k + 1;
                if seen == national_digits {
                    let next = at(j);
                    let more = next.is_some_and(|c| c.is_ascii_digit() || is_word_char(c));
                    // A closing bracket glued to the number is part of something else.
                    return (!more && next != Some(')')).then_some(j);
                }
            }
            _ => return None,
        }
    }
}

/// An IBAN starting at `i`: country code, two check digits and the account, compact or in groups
/// of four, passing the mod-97 check. Answers its end.
fn iban_at(chars: &[(usize, char)], i: usize) -> Option<usize> {
    let at = |k: usize| chars.get(k).map(|&(_, c)| c);
    let head_ok = at(i).is_some_and(|c| c.is_ascii_alphabetic())
        && at(i + 1).is_some_and(|c| c.is_ascii_alphabetic())
        && at(i + 2).is_some_and(|c| c.is_ascii_digit())
        && at(i + 3).is_some_and(|c| c.is_ascii_digit());
    if !head_ok {
        return None;
    }
    // The compact characters and, after each, where the original text continues.
    let mut compact = String::new();
    let mut ends = Vec::new();
    let mut j = i;
    while compact.len() < 34 {
        match at(j) {
            Some(c) if c.is_ascii_alphanumeric() => {
                compact.push(c.to_ascii_uppercase());
                j += 1;
                ends.push(j);
            }
            // A single space only between groups of four.
            Some(' ')
                if compact.len().is_multiple_of(4)
                    && at(j + 1).is_some_and(|c| c.is_ascii_alphanumeric()) =>
            {
                j += 1;
            }
            _ => break,
        }
    }
    let country = &compact[..2];
    let (min, max) = iban_length(country);
    (min..=compact.len().min(max)).rev().find_map(|len| {
        let end = ends[len - 1];
        let boundary = match at(end) {
            None => true,
            Some(' ') => len == compact.len() || len.is_multiple_of(4),
            Some(c) => !is_word_char(c),
        };
        (boundary && mod97(&compact[..len]) == Some(1)).then_some(end)
    })
}

/// The IBAN length of the countries people here write most; any length the standard allows
/// for the rest.
fn iban_length(country: &str) -> (usize, usize) {
    match country {
        "NL" => (18, 18),
        "BE" => (16, 16),
        "DE" | "GB" => (22, 22),
        "LU" => (20, 20),
        "FR" | "IT" => (27, 27),
        "ES" => (24, 24),
        _ => (15, 34),
    }
}

/// The ISO 7064 remainder of an IBAN: the first four characters moved to the end, letters as
/// 10–35. `None` for anything else than ASCII letters and digits.
fn mod97(iban: &str) -> Option<u32> {
    let (head, tail) = iban.split_at(4.min(iban.len()));
    let mut rem = 0u32;
    for c in tail.chars().chain(head.chars()) {
        let v = c.to_digit(36)?;
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    Some(rem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kinds(text: &str) -> Vec<(Kind, &str)> {
        find(text)
            .into_iter()
            .map(|f| (f.kind, &text[f.range]))
            .collect()
    }

    #[test]
    fn finds_dutch_phone_numbers_in_the_usual_notations() {
        for n in [
            "0612345678",
            "06-12345678",
            "06 1234 5678",
            "020-1234567",
            "020 123 4567",
            "0591-123456",
            "(020) 1234567",
            "+31612345678",
            "+31 6 12345678",
            "+31 (0)6 1234 5678",
            "0031 20 1234567",
        ] {
            let text = format!("Bel mij op {n}, graag.");
            assert_eq!(kinds(&text), vec![(Kind::Phone, n)], "{n}");
        }
    }

    #[test]
    fn not_every_digit_run_is_a_phone_number() {
        for text in [
            "ordernummer 06123456789",
            "nummer 061234567",
            "code A0612345678",
            "0012345678",
            "+32 470 12 34 56",
        ] {
            assert!(
                !kinds(text).iter().any(|(k, _)| *k == Kind::Phone),
                "{text}"
            );
        }
    }

    #[test]
    fn a_phone_number_whose_national_digits_pass_the_11_proef_is_no_bsn() {
        // 612345671 passes the 11-proef; written as +31 (0)6 it stood alone as nine digits.
        assert!(is_valid_bsn("612345671"));
        let text = "bel +31 (0)6 12345671 of 06-12345671";
        assert_eq!(
            kinds(text),
            vec![
                (Kind::Phone, "+31 (0)6 12345671"),
                (Kind::Phone, "06-12345671")
            ]
        );
        assert!(crate::bsn::find_bsns(text).is_empty());
        assert_eq!(mask(text), "bel +** (*)* ******** of **-********");
    }

    #[test]
    fn finds_ibans_compact_or_grouped_and_checks_mod_97() {
        assert_eq!(
            kinds("rekening NL91ABNA0417164300."),
            vec![(Kind::Iban, "NL91ABNA0417164300")]
        );
        assert_eq!(
            kinds("op NL91 ABNA 0417 1643 00 graag"),
            vec![(Kind::Iban, "NL91 ABNA 0417 1643 00")]
        );
        assert_eq!(
            kinds("BE68 5390 0754 7034 voor de boete"),
            vec![(Kind::Iban, "BE68 5390 0754 7034")]
        );
        // One digit off: the check fails.
        assert!(kinds("NL91ABNA0417164301").is_empty());
        assert!(kinds("XNL91ABNA0417164300").is_empty(), "glued to a letter");
        assert_eq!(
            mask("IBAN: nl91 abna 0417 1643 00"),
            "IBAN: nl** **** **** **** **"
        );
    }

    #[test]
    fn bsns_ibans_and_phones_side_by_side() {
        let text = "BSN 111222333, IBAN NL91ABNA0417164300, tel 06-12345678.";
        assert_eq!(
            mask(text),
            "BSN *********, IBAN NL****************, tel **-********."
        );
        assert_eq!(
            mask_kinds(text, &[Kind::Bsn]),
            "BSN *********, IBAN NL91ABNA0417164300, tel 06-12345678."
        );
    }

    #[test]
    fn json_strings_are_masked_and_keys_kept() {
        let v = serde_json::json!({"text": "bel 0612345678", "n": 3, "list": ["111222333"], "0612345678": true});
        assert_eq!(
            mask_json(&v),
            serde_json::json!({"text": "bel **********", "n": 3, "list": ["*********"], "0612345678": true})
        );
    }

    /// Builds a valid NL IBAN from a bank code and account number by solving the check digits.
    fn nl_iban(bank: &str, account: &str) -> String {
        let rem = mod97(&format!("NL00{bank}{account}")).unwrap_or(0);
        format!("NL{:02}{bank}{account}", 98 - rem)
    }

    proptest! {
        #[test]
        fn generated_ibans_and_phones_are_found(bank in "[A-Z]{4}", account in "[0-9]{10}", mobile in "[1-9][0-9]{7}", pre in "[a-z ]{0,10}", post in "[ ,.!?][a-z ]{0,10}") {
            let iban = nl_iban(&bank, &account);
            let phone = format!("06-{mobile}");
            let text = format!("{pre} {iban} en {phone}{post}");
            let found = kinds(&text);
            prop_assert_eq!(found, vec![(Kind::Iban, iban.as_str()), (Kind::Phone, phone.as_str())]);
            let masked = mask(&text);
            prop_assert!(!masked.contains(&account) && !masked.contains(&mobile));
        }

        #[test]
        fn masking_changes_only_the_found_identifiers(text in "\\PC{0,80}|[0-9A-Z +().-]{0,60}") {
            let masked = mask(&text);
            prop_assert_eq!(masked.len(), text.len());
            let found = find(&text);
            for (n, (a, b)) in text.bytes().zip(masked.bytes()).enumerate() {
                if found.iter().any(|f| f.range.contains(&n)) {
                    prop_assert!(a == b || (b == b'*' && a.is_ascii_alphanumeric()));
                } else {
                    prop_assert_eq!(a, b);
                }
            }
            prop_assert!(find(&masked).is_empty());
        }

        #[test]
        fn never_panics(text in "\\PC{0,64}") {
            let _ = find(&text);
            let _ = mask(&text);
        }
    }
}
