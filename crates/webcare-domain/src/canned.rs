//! Canned answers: Dutch texts with `{{variable}}` placeholders, filled in for one case.

use std::collections::BTreeMap;
use uuid::Uuid;

/// The variables a canned answer may use: the citizen's first name, the case's opening hours,
/// the agent's first name, the zaak number and the department the case is with.
pub const VARIABLES: &[&str] = &[
    "voornaam",
    "openingstijden",
    "agent",
    "zaaknummer",
    "afdeling",
];

/// The default answer to a public message that shows a BSN or other personal data (issue 15),
/// as title and text: after hiding the comment, the agent moves the citizen to a private channel.
pub const MOVE_TO_PRIVATE: (&str, &str) = (
    "Verder in een privébericht",
    "Dag {{voornaam}}, in uw bericht staan persoonlijke gegevens. Die horen niet in een openbaar \
     bericht, daarom hebben we het verborgen. Stuur ons een privébericht, dan helpen we u daar \
     verder. Deel daar alleen wat nodig is. Groet, {{agent}}",
);

/// The number a citizen can quote for `{{zaaknummer}}`: the last segment of the linked zaak's URL
/// (`.../zaken/Z-2026-0042` -> `Z-2026-0042`), or, while no zaak is linked, the case's own id, which
/// finds the case in the desk. Preview and reply use the same value, so what the agent previews
/// is what the citizen reads.
pub fn zaaknummer(zaak_url: Option<&str>, case_id: Uuid) -> String {
    zaak_url
        .and_then(|u| u.trim().trim_end_matches('/').rsplit('/').next())
        .map(str::trim)
        .filter(|z| !z.is_empty() && !z.contains(':'))
        .map_or_else(|| case_id.to_string(), str::to_owned)
}

/// Why a variable the case has no value for cannot be filled in, for the agent.
pub fn missing_reason(variable: &str) -> &'static str {
    match variable {
        "voornaam" => "the contact has no name",
        "afdeling" => "the case is not with a department",
        "agent" => "the agent has no name",
        _ => "it has no value for this case",
    }
}

/// A template that cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unknown variables: {}", .0.join(", "))]
    Unknown(Vec<String>),
    #[error("a '{{{{' at byte {0} is not closed")]
    Unclosed(usize),
    /// Known variables the template uses that have no value here (strict rendering).
    #[error("no value for: {}", .0.join(", "))]
    Missing(Vec<String>),
}

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part<'a> {
    Text(&'a str),
    Var(&'a str),
}

fn parse(template: &str) -> Result<Vec<Part<'_>>, TemplateError> {
    let mut parts = Vec::new();
    let mut rest = template;
    let mut offset = 0;
    while let Some(start) = rest.find("{{") {
        parts.push(Part::Text(&rest[..start]));
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or(TemplateError::Unclosed(offset + start))?;
        parts.push(Part::Var(after[..end].trim()));
        let consumed = start + 2 + end + 2;
        offset += consumed;
        rest = &rest[consumed..];
    }
    parts.push(Part::Text(rest));
    Ok(parts)
}

/// Checks that a template only uses known variables (sorted, deduplicated in the error).
pub fn check(template: &str) -> Result<(), TemplateError> {
    check_with(template, VARIABLES)
}

/// [`check`] against another set of variables (the out-of-hours auto-reply has its own).
pub fn check_with(template: &str, allowed: &[&str]) -> Result<(), TemplateError> {
    let mut unknown: Vec<String> = parse(template)?
        .into_iter()
        .filter_map(|p| match p {
            Part::Var(v) if !allowed.contains(&v) => Some(v.to_owned()),
            _ => None,
        })
        .collect();
    unknown.sort();
    unknown.dedup();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(TemplateError::Unknown(unknown))
    }
}

/// Fills in the template. Known variables without a value become empty text; unknown variables
/// are an error naming them.
pub fn render(template: &str, values: &BTreeMap<String, String>) -> Result<String, TemplateError> {
    render_with(template, VARIABLES, values)
}

/// [`render`] against another set of variables.
pub fn render_with(
    template: &str,
    allowed: &[&str],
    values: &BTreeMap<String, String>,
) -> Result<String, TemplateError> {
    check_with(template, allowed)?;
    let mut out = String::with_capacity(template.len());
    for p in parse(template)? {
        match p {
            Part::Text(t) => out.push_str(t),
            Part::Var(v) => out.push_str(values.get(v).map(String::as_str).unwrap_or("")),
        }
    }
    Ok(out)
}

/// Like [`render`], but a variable the template uses must have a non-blank value: a text that goes
/// to a citizen must not read "Hoi ," (the error names every such variable, sorted).
pub fn render_strict(
    template: &str,
    values: &BTreeMap<String, String>,
) -> Result<String, TemplateError> {
    check(template)?;
    let mut missing: Vec<String> = parse(template)?
        .into_iter()
        .filter_map(|p| match p {
            Part::Var(v) if values.get(v).is_none_or(|s| s.trim().is_empty()) => Some(v.to_owned()),
            _ => None,
        })
        .collect();
    missing.sort();
    missing.dedup();
    if !missing.is_empty() {
        return Err(TemplateError::Missing(missing));
    }
    render(template, values)
}

/// The first name for `{{voornaam}}` from a display name ("Anna de Vries" -> "Anna").
pub fn first_name(display_name: &str) -> String {
    display_name
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_start_matches('@')
        .to_owned()
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_move_to_private_answer_is_a_valid_template_without_personal_data() {
        let (title, text) = MOVE_TO_PRIVATE;
        assert!(!title.is_empty());
        assert_eq!(check(text), Ok(()));
        assert!(!crate::personal_data::contains(text));
        assert!(text.contains("privébericht"));
    }
    use super::*;
    use proptest::prelude::*;

    fn vals(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn fills_in_dutch_text() {
        let t =
            "Hoi {{voornaam}}, bedankt voor je bericht! We zijn bereikbaar {{ openingstijden }}. \
                 Groet, {{agent}} (zaak {{zaaknummer}})";
        let out = render(
            t,
            &vals(&[
                ("voornaam", "Anna"),
                ("openingstijden", "ma-vr 8:30-17:00"),
                ("agent", "Mark"),
                ("zaaknummer", "Z-123"),
            ]),
        )
        .unwrap();
        assert_eq!(
            out,
            "Hoi Anna, bedankt voor je bericht! We zijn bereikbaar ma-vr 8:30-17:00. \
                 Groet, Mark (zaak Z-123)"
        );
    }

    #[test]
    fn unknown_variables_are_named() {
        let e = render("Hoi {{naam}} en {{bsn}} en {{naam}}", &vals(&[])).unwrap_err();
        assert_eq!(e, TemplateError::Unknown(vec!["bsn".into(), "naam".into()]));
        assert!(e.to_string().contains("bsn, naam"));
        assert_eq!(check("Hoi {{voornaam"), Err(TemplateError::Unclosed(4)));
    }

    #[test]
    fn zaaknummer_is_the_zaak_or_the_case() {
        let case = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0042);
        assert_eq!(
            zaaknummer(
                Some("https://zaken.gemeente.nl/api/v1/zaken/Z-2026-0042/"),
                case
            ),
            "Z-2026-0042"
        );
        assert_eq!(zaaknummer(None, case), case.to_string());
        assert_eq!(zaaknummer(Some("  "), case), case.to_string());
        assert_eq!(zaaknummer(Some("https://"), case), case.to_string());
        // Every variable the reply endpoint fills in is a known one.
        for v in [
            "voornaam",
            "openingstijden",
            "agent",
            "zaaknummer",
            "afdeling",
        ] {
            assert!(check(&format!("{{{{{v}}}}}")).is_ok(), "{v}");
        }
        assert!(missing_reason("afdeling").contains("department"));
    }

    #[test]
    fn missing_values_are_empty() {
        assert_eq!(render("Hoi {{voornaam}}!", &vals(&[])).unwrap(), "Hoi !");
        assert_eq!(first_name("Anna de Vries"), "Anna");
        assert_eq!(first_name("@anna"), "anna");
        assert_eq!(first_name(""), "");
    }

    #[test]
    fn strict_rendering_names_variables_without_a_value() {
        let t = "Hoi {{voornaam}}, zaak {{zaaknummer}} ({{ zaaknummer }}), {{agent}}";
        assert_eq!(
            render_strict(t, &vals(&[("agent", "Mark"), ("voornaam", " ")])),
            Err(TemplateError::Missing(vec![
                "voornaam".into(),
                "zaaknummer".into()
            ]))
        );
        assert_eq!(
            render_strict(
                t,
                &vals(&[
                    ("agent", "Mark"),
                    ("voornaam", "Anna"),
                    ("zaaknummer", "Z-1")
                ])
            )
            .unwrap(),
            "Hoi Anna, zaak Z-1 (Z-1), Mark"
        );
        // Unknown variables stay an error of their own kind, even in strict mode.
        assert!(matches!(
            render_strict("{{bsn}}", &vals(&[])),
            Err(TemplateError::Unknown(_))
        ));
    }

    #[test]
    fn other_variable_sets() {
        let allowed = ["volgendeopening"];
        assert_eq!(
            render_with(
                "vanaf {{volgendeopening}}",
                &allowed,
                &vals(&[("volgendeopening", "maandag 08:30")])
            )
            .unwrap(),
            "vanaf maandag 08:30"
        );
        assert_eq!(
            check_with("{{agent}}", &allowed),
            Err(TemplateError::Unknown(vec!["agent".into()]))
        );
    }

    proptest! {
        #[test]
        fn text_without_braces_is_unchanged(s in "[^{}]*") {
            prop_assert_eq!(render(&s, &BTreeMap::new()).unwrap(), s);
        }

        #[test]
        fn never_panics(s in ".*") {
            let _ = render(&s, &vals(&[("agent", "x")]));
        }
    }
}
