//! The survey comments per group (issue 16, `docs/REPORTS.md`): what citizens wrote beside their
//! score, listed under the report's `groupBy` keys so a team lead reads them per theme, team or
//! agent. Pure: the store reads the facts (the same cases, filters and scope as the reports).

use crate::personal_data::mask;
use crate::reports::{CaseFacts, GroupBy};
use crate::survey::SurveyKind;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// One answered survey with a comment.
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    /// The case's values of the `groupBy` keys, in their order.
    pub key: Vec<String>,
    pub case_id: Uuid,
    pub kind: SurveyKind,
    pub score: u8,
    /// The comment with every BSN masked: a list of comments is read and exported more widely
    /// than the case itself.
    pub comment: String,
    pub answered_at: DateTime<Utc>,
}

/// The comments of `cases`, ordered by group key, then answer time and case.
pub fn comments<'a>(
    cases: impl IntoIterator<Item = &'a CaseFacts>,
    group_by: &[GroupBy],
) -> Vec<Comment> {
    let mut out: Vec<Comment> = cases
        .into_iter()
        .filter_map(|c| {
            let (kind, score) = c.survey?;
            let (text, answered_at) = c.survey_comment.as_ref()?;
            Some(Comment {
                key: group_by.iter().map(|g| g.value(c)).collect(),
                case_id: c.case_id,
                kind,
                score: score?,
                comment: mask(text),
                answered_at: *answered_at,
            })
        })
        .collect();
    out.sort_by(|a, b| (&a.key, a.answered_at, a.case_id).cmp(&(&b.key, b.answered_at, b.case_id)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn answered(
        theme: &str,
        agent: &str,
        score: Option<u8>,
        comment: Option<&str>,
        minutes: i64,
    ) -> CaseFacts {
        let t = Utc.with_ymd_and_hms(2026, 3, 9, 9, 0, 0).unwrap();
        CaseFacts {
            case_id: Uuid::now_v7(),
            arrival: t,
            theme: Some(theme.into()),
            agent: Some(agent.into()),
            survey: Some((SurveyKind::Csat, score)),
            survey_comment: comment.map(|c| (c.to_owned(), t + Duration::minutes(minutes))),
            ..CaseFacts::default()
        }
    }

    #[test]
    fn comments_per_group_in_answer_order_with_bsns_masked() {
        let cases = [
            answered("Wonen", "ahmed", Some(2), Some("te traag"), 30),
            answered("Afval", "sanne", Some(4), Some("snel geholpen"), 20),
            answered(
                "Afval",
                "ahmed",
                Some(5),
                Some("mijn bsn 111222333 klopt"),
                10,
            ),
            // No comment, or not answered: nothing to list.
            answered("Afval", "sanne", Some(3), None, 5),
            answered("Afval", "sanne", None, None, 5),
            CaseFacts::default(),
        ];
        let by_theme = comments(&cases, &[GroupBy::Theme]);
        let got: Vec<(&str, u8, &str)> = by_theme
            .iter()
            .map(|c| (c.key[0].as_str(), c.score, c.comment.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("Afval", 5, "mijn bsn ********* klopt"),
                ("Afval", 4, "snel geholpen"),
                ("Wonen", 2, "te traag"),
            ]
        );
        assert_eq!(by_theme[0].case_id, cases[2].case_id);
        let by_agent: Vec<Vec<String>> = comments(&cases, &[GroupBy::Agent, GroupBy::Theme])
            .into_iter()
            .map(|c| c.key)
            .collect();
        assert_eq!(
            by_agent,
            [
                vec!["ahmed".to_string(), "Afval".into()],
                vec!["ahmed".into(), "Wonen".into()],
                vec!["sanne".into(), "Afval".into()],
            ]
        );
        assert_eq!(comments(&cases, &[]).len(), 3);
    }
}
