//! What an inbox row says about a case without opening it: the first line of the citizen's
//! latest message. Computed once when the message is stored (the inbox reads it from the case
//! row, so a page of 50 rows needs no join), and never carries a BSN.

use crate::bsn::mask_bsns;

/// The longest preview, in characters, not counting the ellipsis.
pub const PREVIEW_CHARS: usize = 120;

/// The first non-blank line of `text`, whitespace collapsed, at most [`PREVIEW_CHARS`]
/// characters (then `…`), BSNs masked. A message with no text shows its first attachment's kind
/// in brackets (`[image]`), or nothing.
pub fn preview<'a>(text: &str, attachment_kinds: impl IntoIterator<Item = &'a str>) -> String {
    let Some(line) = text.lines().map(str::trim).find(|l| !l.is_empty()) else {
        return attachment_kinds
            .into_iter()
            .next()
            .map(|k| format!("[{}]", clip(k.trim(), 40)))
            .unwrap_or_default();
    };
    // Bounded work for a 4 MB line: nothing past this many characters can reach the preview.
    let head: String = line.chars().take(PREVIEW_CHARS * 4).collect();
    let collapsed = head.split_whitespace().collect::<Vec<_>>().join(" ");
    // Masked before the cut, so a BSN the cut splits shows no digits of it; and after, because
    // a cut can leave nine digits of a longer number standing alone.
    let masked = mask_bsns(&collapsed);
    let cut = if masked.chars().count() > PREVIEW_CHARS {
        format!("{}…", clip(&masked, PREVIEW_CHARS).trim_end())
    } else {
        masked
    };
    mask_bsns(&cut)
}

fn clip(s: &str, chars: usize) -> &str {
    match s.char_indices().nth(chars) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bsn::contains_bsn;
    use proptest::prelude::*;

    #[test]
    fn first_non_blank_line_collapsed() {
        assert_eq!(
            preview(
                "\n  \n  Lantaarnpaal   kapot\tbij de school\nTweede regel",
                []
            ),
            "Lantaarnpaal kapot bij de school"
        );
    }

    #[test]
    fn long_lines_are_cut_with_an_ellipsis() {
        let text = "é".repeat(300);
        let p = preview(&text, []);
        assert_eq!(p.chars().count(), PREVIEW_CHARS + 1);
        assert!(p.ends_with('…'));
    }

    #[test]
    fn no_text_shows_the_attachment() {
        assert_eq!(preview("  ", ["image", "video"]), "[image]");
        assert_eq!(preview("", []), "");
    }

    #[test]
    fn a_bsn_is_masked_whole_or_cut() {
        assert_eq!(
            preview("Mijn BSN is 111222333, graag terugbellen", []),
            "Mijn BSN is *********, graag terugbellen"
        );
        // A BSN that the cut splits leaves none of its digits.
        let text = format!("{} 111222333 en meer", "a".repeat(PREVIEW_CHARS - 5));
        let p = preview(&text, []);
        assert!(!p.contains("1112"), "{p}");
    }

    proptest! {
        #[test]
        fn one_short_line_without_a_bsn(
            text in "(\\PC|[0-9 .\n]){0,400}",
            kinds in proptest::collection::vec("[a-z]{0,60}", 0..3),
        ) {
            let p = preview(&text, kinds.iter().map(String::as_str));
            prop_assert!(!p.contains('\n') && !p.contains('\r'));
            prop_assert!(p.chars().count() <= PREVIEW_CHARS + 1);
            prop_assert!(!contains_bsn(&p), "{p}");
            prop_assert_eq!(p.clone(), preview(&text, kinds.iter().map(String::as_str)));
        }
    }
}
