//! Citizen satisfaction surveys (issue 16): the per-account setting, reading a score out of the
//! citizen's answer, and whether a message on a resolved case is that answer (which does not
//! reopen the case) or a new question (which does, as any citizen message does).
//!
//! Pure: the store finds the case's pending survey, this module decides.

use crate::model::CaseStatus;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// The settings key in a channel account's settings.
pub const SETTING: &str = "survey";
/// Longest own survey text.
pub const MAX_TEXT: usize = 1000;
/// Longest delay after resolving, in minutes (a day).
pub const MAX_DELAY_MINUTES: u32 = 1440;
/// Longest "once per contact per period", in days.
pub const MAX_PERIOD_DAYS: u32 = 365;
/// Longest time an answer is awaited after sending, in days.
pub const MAX_ANSWER_DAYS: u32 = 30;
/// Longest comment kept with a score.
pub const MAX_COMMENT: usize = 1000;

/// The scale asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SurveyKind {
    /// Customer satisfaction, 1 to 5.
    #[default]
    Csat,
    /// Net promoter score, 0 to 10.
    Nps,
}

impl SurveyKind {
    /// The lowest and highest score.
    pub fn range(self) -> (u8, u8) {
        match self {
            SurveyKind::Csat => (1, 5),
            SurveyKind::Nps => (0, 10),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SurveyKind::Csat => "csat",
            SurveyKind::Nps => "nps",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "csat" => Some(SurveyKind::Csat),
            "nps" => Some(SurveyKind::Nps),
            _ => None,
        }
    }

    /// The Dutch question sent when the account sets no own text.
    pub fn default_text(self) -> &'static str {
        match self {
            SurveyKind::Csat => {
                "Hoe tevreden bent u over ons antwoord? Antwoord met een cijfer van 1 tot 5."
            }
            SurveyKind::Nps => {
                "Hoe waarschijnlijk is het dat u ons aanbeveelt? Antwoord met een cijfer van 0 tot 10."
            }
        }
    }
}

fn default_delay() -> u32 {
    60
}
fn default_period() -> u32 {
    30
}
fn default_answer_days() -> u32 {
    7
}

/// A channel account's survey setting (off by default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SurveySettings {
    /// Send a survey after a case is resolved (default off).
    #[serde(default)]
    pub enabled: bool,
    /// `csat` (1-5, the default) or `nps` (0-10).
    #[serde(default)]
    pub kind: SurveyKind,
    /// Own Dutch text; `null` for the kind's default.
    #[serde(default)]
    pub text: Option<String>,
    /// Minutes after resolving (0 to 1440; default 60).
    #[serde(default = "default_delay")]
    pub delay_minutes: u32,
    /// At most one survey per contact per this many days (1 to 365; default 30).
    #[serde(default = "default_period")]
    pub period_days: u32,
    /// Days after sending in which a score counts as the answer (1 to 30; default 7).
    #[serde(default = "default_answer_days")]
    pub answer_days: u32,
    /// Also survey cases that came in on a public thread (default off: never in public).
    #[serde(default)]
    pub public_threads: bool,
    /// WhatsApp: an approved template sent when the 24-hour window has closed; without one the
    /// survey is skipped then.
    #[serde(default)]
    pub whatsapp_template: Option<String>,
}

impl Default for SurveySettings {
    fn default() -> Self {
        SurveySettings {
            enabled: false,
            kind: SurveyKind::Csat,
            text: None,
            delay_minutes: default_delay(),
            period_days: default_period(),
            answer_days: default_answer_days(),
            public_threads: false,
            whatsapp_template: None,
        }
    }
}

impl SurveySettings {
    /// The text to send.
    pub fn question(&self) -> &str {
        self.text
            .as_deref()
            .unwrap_or_else(|| self.kind.default_text())
    }

    /// How long after sending an answer is awaited.
    pub fn answer_window(&self) -> Duration {
        Duration::days(i64::from(self.answer_days))
    }

    /// Problems with the setting, as `(field, code, reason)`; the fields are named under
    /// `survey.`.
    pub fn problems(&self) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        let mut bad = |f: &str, code: &str, reason: String| {
            out.push((format!("{SETTING}.{f}"), code.to_owned(), reason))
        };
        if let Some(t) = &self.text {
            if t.trim().is_empty() || t.chars().count() > MAX_TEXT {
                bad(
                    "text",
                    "invalid",
                    format!("1 to {MAX_TEXT} characters, or null for the default text"),
                );
            } else if t.chars().any(|c| c.is_control() && c != '\n') {
                bad("text", "invalid", "no control characters".into());
            }
        }
        if self.delay_minutes > MAX_DELAY_MINUTES {
            bad(
                "delayMinutes",
                "out_of_range",
                format!("0 to {MAX_DELAY_MINUTES} minutes"),
            );
        }
        if !(1..=MAX_PERIOD_DAYS).contains(&self.period_days) {
            bad(
                "periodDays",
                "out_of_range",
                format!("1 to {MAX_PERIOD_DAYS} days"),
            );
        }
        if !(1..=MAX_ANSWER_DAYS).contains(&self.answer_days) {
            bad(
                "answerDays",
                "out_of_range",
                format!("1 to {MAX_ANSWER_DAYS} days"),
            );
        }
        if let Some(t) = &self.whatsapp_template {
            // Meta's template names: lowercase letters, digits and underscores, up to 512.
            let ok = !t.is_empty()
                && t.len() <= 512
                && t.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !ok {
                bad(
                    "whatsappTemplate",
                    "invalid",
                    "an approved template's name: lowercase letters, digits and underscores".into(),
                );
            }
        }
        out
    }
}

/// What became of a case's survey, as the case shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SurveyState {
    /// Waiting for its delay (or being sent).
    Scheduled,
    /// Sent, no answer (yet).
    Sent,
    /// Sent and answered with a score.
    Answered,
    /// The case reopened before it went out.
    Withdrawn,
    /// Not sent: it could not be (see the reason).
    Skipped,
    /// The platform refused it or it gave up sending (the reply's reason).
    Failed,
}

impl SurveyState {
    /// The state from what is stored: the outcomes first, then the question's delivery.
    pub fn of(
        answered: bool,
        withdrawn: bool,
        skipped: bool,
        sent: bool,
        reply_failed: bool,
    ) -> SurveyState {
        match () {
            _ if answered => SurveyState::Answered,
            _ if withdrawn => SurveyState::Withdrawn,
            _ if skipped => SurveyState::Skipped,
            _ if sent => SurveyState::Sent,
            _ if reply_failed => SurveyState::Failed,
            _ => SurveyState::Scheduled,
        }
    }
}

/// Why a WhatsApp survey is skipped: the 24-hour window had closed when it was due and the
/// account has no approved template to send instead (a free-form message would be refused).
pub const SKIPPED_WINDOW_CLOSED: &str = "WhatsApp-venster gesloten en geen sjabloon";

/// Why any other survey is skipped: the platform's messaging window had closed.
pub const SKIPPED_OUTSIDE_WINDOW: &str = "berichtvenster gesloten";

/// The reason to skip a survey the platform would refuse for its window on `channel`.
pub fn skip_reason(channel: crate::ChannelKind) -> &'static str {
    if channel == crate::ChannelKind::Whatsapp {
        SKIPPED_WINDOW_CLOSED
    } else {
        SKIPPED_OUTSIDE_WINDOW
    }
}

/// A citizen's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub score: u8,
    /// What the citizen wrote beside the score, if anything.
    pub comment: Option<String>,
}

/// Reads a score out of a message: a whole number in the kind's range, alone ("4", "8/10",
/// "4!") or followed by a comment after a separator ("4, snel geholpen", "9 - prima"). Anything
/// else ("4 dagen wacht ik al", "7.5", "mijn container") is not an answer: a sentence that only
/// starts with a number is a new question, and a new question must reopen the case.
pub fn parse_answer(kind: SurveyKind, text: &str) -> Option<Answer> {
    let t = text.trim();
    let digits: String = t.chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() || digits.len() > 2 {
        return None;
    }
    let score: u8 = digits.parse().ok()?;
    let (lo, hi) = kind.range();
    if !(lo..=hi).contains(&score) {
        return None;
    }
    let mut rest = t[digits.len()..].trim_start();
    // "8/10", "4 / 5": the scale written out must be the asked one.
    if let Some(r) = rest.strip_prefix('/') {
        let r = r.trim_start();
        let scale: String = r.chars().take_while(char::is_ascii_digit).collect();
        if scale.parse::<u8>().ok() != Some(hi) {
            return None;
        }
        rest = r[scale.len()..].trim_start();
    }
    if rest.is_empty() {
        return Some(Answer {
            score,
            comment: None,
        });
    }
    // A separator must follow; a decimal ("7.5", "7,5") is not a whole score.
    let first = rest.chars().next()?;
    if !matches!(first, ',' | '.' | '-' | ':' | ';' | '!' | '–') {
        return None;
    }
    let after = &rest[first.len_utf8()..];
    if after.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        return None;
    }
    let comment = after
        .trim_matches(|c: char| c.is_whitespace() || matches!(c, ',' | '.' | '-' | ':' | ';' | '!'))
        .chars()
        .take(MAX_COMMENT)
        .collect::<String>();
    Some(Answer {
        score,
        comment: (!comment.is_empty()).then_some(comment),
    })
}

/// How much earlier than the survey's sending an answer may be stamped: platforms stamp messages
/// in whole seconds, by their own clock.
pub fn clock_grace() -> Duration {
    Duration::minutes(1)
}

/// A survey sent on a case and not yet answered, as the store found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingSurvey {
    pub kind: SurveyKind,
    pub sent_at: DateTime<Utc>,
    /// How long after sending an answer counts.
    pub window: Duration,
}

/// Whether a citizen message sent at `at` on a case in `status` answers its pending survey.
/// Only a resolved case's survey is answered (a case reopened meanwhile is a conversation again),
/// only inside the answer window, and only by something that reads as a score: everything else
/// is left to the threading rules, which reopen the case.
pub fn answer_to(
    status: CaseStatus,
    pending: Option<PendingSurvey>,
    text: &str,
    at: DateTime<Utc>,
) -> Option<Answer> {
    let p = pending?;
    if status != CaseStatus::Resolved || at < p.sent_at - clock_grace() || at - p.sent_at > p.window
    {
        return None;
    }
    parse_answer(p.kind, text)
}

/// The figures of a set of surveys.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Figures {
    pub sent: u64,
    pub answered: u64,
    /// answered / sent.
    pub response_rate: Option<f64>,
    pub mean_score: Option<f64>,
    /// CSAT: the share of answers scoring 4 or 5.
    pub csat_share: Option<f64>,
    /// NPS: % promoters (9-10) minus % detractors (0-6), -100 to 100.
    pub nps: Option<f64>,
}

/// Sums a set of surveys: `(kind, score)` per survey sent, `None` when unanswered. CSAT and NPS
/// answers are never mixed in one mean: the mean is over the kind's own scale, so a group that
/// holds both kinds reports the mean of each figure over its own answers.
pub fn figures(surveys: &[(SurveyKind, Option<u8>)]) -> Figures {
    let sent = surveys.len() as u64;
    let answered: Vec<(SurveyKind, u8)> = surveys
        .iter()
        .filter_map(|(k, s)| s.map(|s| (*k, s)))
        .collect();
    let share = |n: usize, d: usize| (d > 0).then(|| n as f64 / d as f64);
    let csat: Vec<u8> = answered
        .iter()
        .filter(|a| a.0 == SurveyKind::Csat)
        .map(|a| a.1)
        .collect();
    let nps: Vec<u8> = answered
        .iter()
        .filter(|a| a.0 == SurveyKind::Nps)
        .map(|a| a.1)
        .collect();
    let mean_of = |v: &[u8]| {
        (!v.is_empty()).then(|| v.iter().map(|&s| f64::from(s)).sum::<f64>() / v.len() as f64)
    };
    Figures {
        sent,
        answered: answered.len() as u64,
        response_rate: share(answered.len(), surveys.len()),
        mean_score: if nps.is_empty() {
            mean_of(&csat)
        } else if csat.is_empty() {
            mean_of(&nps)
        } else {
            None
        },
        csat_share: share(csat.iter().filter(|&&s| s >= 4).count(), csat.len()),
        nps: (!nps.is_empty()).then(|| {
            let pro = nps.iter().filter(|&&s| s >= 9).count() as f64;
            let det = nps.iter().filter(|&&s| s <= 6).count() as f64;
            (pro - det) * 100.0 / nps.len() as f64
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 9, 9, 15, 0).unwrap()
    }

    fn score(kind: SurveyKind, t: &str) -> Option<(u8, Option<String>)> {
        parse_answer(kind, t).map(|a| (a.score, a.comment))
    }

    #[test]
    fn scores_alone_or_with_a_comment_are_answers() {
        use SurveyKind::*;
        assert_eq!(score(Csat, "4"), Some((4, None)));
        assert_eq!(score(Csat, " 5! "), Some((5, None)));
        assert_eq!(
            score(Csat, "4, snel geholpen"),
            Some((4, Some("snel geholpen".into())))
        );
        assert_eq!(
            score(Csat, "2 - te traag."),
            Some((2, Some("te traag".into())))
        );
        assert_eq!(score(Nps, "8/10"), Some((8, None)));
        assert_eq!(score(Nps, "10"), Some((10, None)));
        assert_eq!(score(Nps, "0"), Some((0, None)));
    }

    #[test]
    fn questions_and_out_of_range_numbers_are_not() {
        use SurveyKind::*;
        for t in [
            "",
            "mijn container is weer niet geleegd",
            "4 dagen wacht ik al",
            "7.5",
            "7,5",
            "6",
            "0",
            "8/10",
            "123",
            "2026-03-09 is de afspraak",
        ] {
            assert_eq!(score(Csat, t), None, "{t:?} is no CSAT answer");
        }
        assert_eq!(score(Nps, "11"), None);
        assert_eq!(score(Nps, "8/5"), None);
    }

    #[test]
    fn only_a_resolved_case_in_the_window_takes_an_answer() {
        let p = PendingSurvey {
            kind: SurveyKind::Csat,
            sent_at: t0(),
            window: Duration::days(7),
        };
        let at = t0() + Duration::hours(2);
        assert!(answer_to(CaseStatus::Resolved, Some(p), "5", at).is_some());
        assert!(answer_to(CaseStatus::Resolved, None, "5", at).is_none());
        assert!(answer_to(CaseStatus::Open, Some(p), "5", at).is_none());
        assert!(answer_to(CaseStatus::Resolved, Some(p), "5", t0() + Duration::days(8)).is_none());
        // A platform's whole-second stamp may fall just before our sending time.
        let before = |d| answer_to(CaseStatus::Resolved, Some(p), "5", t0() - d);
        assert!(before(Duration::seconds(1)).is_some());
        assert!(before(Duration::minutes(2)).is_none());
    }

    #[test]
    fn settings_default_off_and_are_checked() {
        let s: SurveySettings = serde_json::from_str("{}").unwrap();
        assert_eq!(s, SurveySettings::default());
        assert!(!s.enabled);
        assert_eq!(s.question(), SurveyKind::Csat.default_text());
        assert!(s.problems().is_empty());
        let bad = SurveySettings {
            text: Some(" ".into()),
            delay_minutes: 1441,
            period_days: 0,
            answer_days: 31,
            whatsapp_template: Some("Tevreden Sjabloon".into()),
            ..SurveySettings::default()
        };
        let fields: Vec<String> = bad.problems().into_iter().map(|p| p.0).collect();
        assert_eq!(
            fields,
            [
                "survey.text",
                "survey.delayMinutes",
                "survey.periodDays",
                "survey.answerDays",
                "survey.whatsappTemplate"
            ]
        );
        assert!(serde_json::from_str::<SurveySettings>(r#"{"kind":"ces"}"#).is_err());
    }

    #[test]
    fn figures_on_a_hand_built_set() {
        use SurveyKind::*;
        let f = figures(&[
            (Csat, Some(5)),
            (Csat, Some(4)),
            (Csat, Some(2)),
            (Csat, None),
        ]);
        assert_eq!((f.sent, f.answered), (4, 3));
        assert_eq!(f.response_rate, Some(0.75));
        assert_eq!(f.mean_score, Some(11.0 / 3.0));
        assert_eq!(f.csat_share, Some(2.0 / 3.0));
        assert_eq!(f.nps, None);
        let f = figures(&[
            (Nps, Some(10)),
            (Nps, Some(9)),
            (Nps, Some(7)),
            (Nps, Some(3)),
        ]);
        assert_eq!(f.nps, Some(25.0));
        assert_eq!(f.csat_share, None);
        assert_eq!(figures(&[]).response_rate, None);
    }

    fn any_status() -> impl Strategy<Value = CaseStatus> {
        proptest::sample::select(CaseStatus::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn every_score_in_range_is_read_back(n in 0u8..=10, nps in any::<bool>(), comment in "[a-z ]{0,20}") {
            let kind = if nps { SurveyKind::Nps } else { SurveyKind::Csat };
            let (lo, hi) = kind.range();
            let text = if comment.trim().is_empty() { n.to_string() } else { format!("{n}, {comment}") };
            let a = parse_answer(kind, &text);
            if (lo..=hi).contains(&n) {
                let a = a.expect("a score in range is an answer");
                prop_assert_eq!(a.score, n);
                prop_assert_eq!(a.comment.as_deref(), (!comment.trim().is_empty()).then(|| comment.trim()));
            } else {
                prop_assert!(a.is_none());
            }
        }

        #[test]
        fn a_message_starting_with_a_letter_is_never_an_answer(text in "[a-zA-Z][a-zA-Z0-9 ,.!]{0,40}") {
            prop_assert!(parse_answer(SurveyKind::Csat, &text).is_none());
            prop_assert!(parse_answer(SurveyKind::Nps, &text).is_none());
        }

        #[test]
        fn an_answer_needs_a_resolved_case_a_pending_survey_and_the_window(
            status in any_status(), pending in any::<bool>(), minutes in -100i64..20_000,
            window_days in 1i64..10, text in "[0-9a-z ,]{0,12}",
        ) {
            let p = pending.then_some(PendingSurvey { kind: SurveyKind::Csat, sent_at: t0(), window: Duration::days(window_days) });
            let at = t0() + Duration::minutes(minutes);
            let a = answer_to(status, p, &text, at);
            if a.is_some() {
                prop_assert_eq!(status, CaseStatus::Resolved);
                prop_assert!(pending);
                prop_assert!(Duration::minutes(minutes) >= -clock_grace() && Duration::minutes(minutes) <= Duration::days(window_days));
                prop_assert_eq!(a, parse_answer(SurveyKind::Csat, &text));
            }
        }
    }
}
