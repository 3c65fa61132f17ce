//! Detects Dutch citizen service numbers (BSN) in free text, so an agent is warned before a BSN sits
//! in a public thread. A BSN is nine digits passing the 11-proef
//! (9·d1 + 8·d2 + … + 2·d8 − 1·d9 ≡ 0 mod 11), and never 000000000.
//!
//! Only standalone runs of exactly nine digits count (with an optional single space or dot between
//! the groups of 3-3-3 or 4-2-3 that people type). Longer digit runs (IBAN account parts, phone numbers
//! with country code, order numbers) are not BSNs, and neither is a run glued to letters (an IBAN
//! like NL91ABNA0417164300 ends in ten digits, an RSIN is usually written with a prefix).

use crate::personal_data::{self, Kind};

/// True when `digits` (exactly nine ASCII digits) passes the BSN 11-proef.
pub fn is_valid_bsn(digits: &str) -> bool {
    let b = digits.as_bytes();
    if b.len() != 9 || !b.iter().all(u8::is_ascii_digit) || digits == "000000000" {
        return false;
    }
    let sum: i64 = b
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let d = i64::from(c - b'0');
            if i == 8 {
                -d
            } else {
                d * (9 - i as i64)
            }
        })
        .sum();
    sum % 11 == 0
}

/// Finds the BSN-valid numbers in `text`, as their nine digits. Phone numbers are not read as
/// BSNs, even when their digits pass the 11-proef (see [`crate::personal_data`]).
pub fn find_bsns(text: &str) -> Vec<String> {
    personal_data::find(text)
        .into_iter()
        .filter(|f| f.kind == Kind::Bsn)
        .map(|f| text[f.range].chars().filter(char::is_ascii_digit).collect())
        .collect()
}

/// True when the text contains anything that passes as a BSN.
pub fn contains_bsn(text: &str) -> bool {
    !find_bsns(text).is_empty()
}

/// Replaces every BSN digit with `*`, for logs and indexes; nothing else changes.
pub fn mask_bsns(text: &str) -> String {
    personal_data::mask_kinds(text, &[Kind::Bsn])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_test_bsn_passes_and_zeroes_do_not() {
        assert!(is_valid_bsn("123456782"));
        assert!(is_valid_bsn("111222333"));
        assert!(!is_valid_bsn("123456789"));
        assert!(!is_valid_bsn("000000000"));
        assert!(!is_valid_bsn("12345678"));
    }

    #[test]
    fn finds_bsns_in_dutch_text_in_the_usual_notations() {
        assert_eq!(
            find_bsns("Mijn BSN is 123456782, kunt u kijken?"),
            vec!["123456782"]
        );
        assert_eq!(find_bsns("bsn: 1234.56.782"), vec!["123456782"]);
        assert_eq!(find_bsns("bsn 123 456 782."), vec!["123456782"]);
    }

    #[test]
    fn ignores_phone_numbers_ibans_and_longer_runs() {
        assert!(
            find_bsns("bel 0612345678").is_empty(),
            "ten digits is a phone number"
        );
        assert!(find_bsns("+31612345678").is_empty());
        assert!(find_bsns("NL91ABNA0417164300").is_empty());
        assert!(find_bsns("ordernummer 1234567820").is_empty());
        assert!(find_bsns("code A123456782").is_empty(), "glued to letters");
        assert!(find_bsns("000000000").is_empty());
    }

    #[test]
    fn masking_hides_the_digits_only() {
        assert_eq!(mask_bsns("BSN 123456782 graag"), "BSN ********* graag");
        assert_eq!(mask_bsns("geen nummer"), "geen nummer");
        // Digits elsewhere in the text that happen to match the BSN's stay.
        assert_eq!(mask_bsns("Nr 1 en BSN 123456782"), "Nr 1 en BSN *********");
    }

    /// Builds a valid BSN from eight digits by solving the check digit, when one exists.
    fn complete(prefix: [u8; 8]) -> Option<String> {
        let s: i64 = prefix
            .iter()
            .enumerate()
            .map(|(i, d)| i64::from(*d) * (9 - i as i64))
            .sum();
        let last = s % 11;
        (last <= 9).then(|| {
            let mut out: String = prefix.iter().map(|d| char::from(b'0' + d)).collect();
            out.push(char::from(b'0' + last as u8));
            out
        })
    }

    proptest! {
        #[test]
        fn any_valid_bsn_is_found_in_surrounding_text(prefix in proptest::array::uniform8(0u8..10), pre in "[a-z ]{0,10}", post in "[ ,.!?][a-z ]{0,10}") {
            if let Some(b) = complete(prefix) {
                prop_assume!(b != "000000000");
                let text = format!("{pre} {b}{post}");
                prop_assert_eq!(find_bsns(&text), vec![b.clone()]);
                prop_assert!(!mask_bsns(&text).contains(&b));
            }
        }

        #[test]
        fn changing_one_digit_breaks_the_check(prefix in proptest::array::uniform8(0u8..10), pos in 0usize..9, delta in 1u8..10) {
            if let Some(b) = complete(prefix) {
                let mut d: Vec<u8> = b.bytes().map(|c| c - b'0').collect();
                d[pos] = (d[pos] + delta) % 10;
                let s: String = d.iter().map(|x| char::from(b'0' + x)).collect();
                // Every weight is non-zero mod 11 and |delta| < 11, so the sum moves off 0 mod 11.
                prop_assert!(!is_valid_bsn(&s));
            }
        }

        #[test]
        fn never_panics(text in "\\PC{0,64}") {
            let _ = find_bsns(&text);
            let _ = mask_bsns(&text);
        }
    }
}
