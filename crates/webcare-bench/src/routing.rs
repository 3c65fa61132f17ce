//! `routing`: routing-rule evaluations per second (issue 14: >= 100,000 with 200 rules) over
//! realistic Dutch citizen messages, against a floor measured in the same run: folding and
//! splitting the text into words, the work any text rule must do once per message. The database
//! is not used (`--db` only names the report).

use crate::common::*;
use chrono::{NaiveDate, NaiveTime, Weekday};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::hint::black_box;
use std::time::Instant;
use uuid::Uuid;
use webcare_domain::routing::{Actions, Conditions, Facts, OpeningHours, RuleSet, RuleSpec};
use webcare_domain::{ChannelKind, Visibility};

const WORDS: &[&str] = &[
    "lantaarnpaal",
    "straatverlichting",
    "boom",
    "afval",
    "container",
    "grofvuil",
    "parkeren",
    "vergunning",
    "paspoort",
    "rijbewijs",
    "verkeerslicht",
    "fietspad",
    "stoep",
    "riool",
    "wateroverlast",
    "zwerfvuil",
    "hondenpoep",
    "speeltuin",
    "bankje",
    "graffiti",
    "geluidsoverlast",
    "afvalkalender",
    "omgevingsvergunning",
    "subsidie",
    "belasting",
    "kwijtschelding",
    "uitkering",
    "parkeervergunning",
    "bushalte",
    "gladheid",
    "strooien",
    "kuil",
    "gat",
    "brug",
    "sluis",
];

const FILLER: &[&str] = &[
    "de", "het", "een", "bij", "op", "in", "is", "al", "weken", "niet", "kapot", "graag", "snel",
    "wanneer", "wordt", "mijn", "onze", "straat", "wijk", "gemeente", "hoe", "kan", "ik", "?", "!",
];

/// `n` rules as the routing suite draws them (mostly keywords; some channel, day, time, opening
/// hours and pattern conditions), for a desk to run during another suite's load.
pub fn sample_rules(seed: u64, n: usize) -> Vec<RuleSpec> {
    rules(&mut StdRng::seed_from_u64(seed), n)
}

fn rules(rng: &mut StdRng, n: usize) -> Vec<RuleSpec> {
    (0..n)
        .map(|i| {
            let mut c = Conditions::default();
            // Most rules route by words; some also by channel, day, time or opening hours.
            let k = rng.gen_range(1..4);
            c.keywords = (0..k)
                .map(|_| {
                    let w = WORDS[rng.gen_range(0..WORDS.len())];
                    // ASCII words; stars only on words long enough to keep four letters.
                    match rng.gen_range(0..6) {
                        0 if w.len() > 5 => format!("{}*", &w[..4]),
                        1 if w.len() > 5 => format!("*{}", &w[w.len() - 4..]),
                        _ => w.to_owned(),
                    }
                })
                .collect();
            if rng.gen_bool(0.3) {
                c.channel_kinds = vec![ChannelKind::ALL[rng.gen_range(0..ChannelKind::ALL.len())]];
            }
            if rng.gen_bool(0.1) {
                c.weekdays = vec![Weekday::Sat, Weekday::Sun];
            }
            if rng.gen_bool(0.1) {
                c.time_from = NaiveTime::from_hms_opt(17, 0, 0);
                c.time_to = NaiveTime::from_hms_opt(8, 30, 0);
            }
            if rng.gen_bool(0.1) {
                c.opening_hours = Some(OpeningHours::Outside);
            }
            if rng.gen_bool(0.05) {
                c.pattern = Some(r"\b\d{4}\s?[a-z]{2}\b".into());
            }
            RuleSpec {
                name: format!("regel {i}"),
                enabled: true,
                conditions: c,
                actions: Actions {
                    team: Some(format!("team{}", i % 7)),
                    ..Default::default()
                },
            }
        })
        .collect()
}

fn message(rng: &mut StdRng) -> String {
    let len = rng.gen_range(8..40);
    (0..len)
        .map(|_| {
            if rng.gen_bool(0.08) {
                WORDS[rng.gen_range(0..WORDS.len())]
            } else {
                FILLER[rng.gen_range(0..FILLER.len())]
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn run(db: Db, quick: bool, n: Option<usize>) -> anyhow::Result<Report> {
    let mut rng = StdRng::seed_from_u64(14);
    let rule_count = n.unwrap_or(200);
    let specs = rules(&mut rng, rule_count);
    let set = RuleSet::compile(&specs).map_err(|e| anyhow::anyhow!("rules: {e:?}"))?;
    let texts: Vec<String> = (0..2_000).map(|_| message(&mut rng)).collect();
    let day = NaiveDate::from_ymd_opt(2026, 3, 9).unwrap();
    let facts: Vec<Facts<'_>> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| Facts {
            channel_kind: ChannelKind::ALL[i % ChannelKind::ALL.len()],
            channel_account_id: Uuid::nil(),
            visibility: if i % 3 == 0 {
                Visibility::Public
            } else {
                Visibility::Private
            },
            text: t,
            flags: &[],
            theme: None,
            kind: None,
            target_group: None,
            local: (day + chrono::Duration::days((i % 7) as i64))
                .and_hms_opt((i % 24) as u32, 0, 0)
                .unwrap(),
            within_opening_hours: i % 24 >= 8 && i % 24 < 17,
        })
        .collect();
    let evaluations = if quick { 20_000 } else { 400_000 };

    let start = Instant::now();
    let mut matched = 0usize;
    for i in 0..evaluations {
        matched += usize::from(black_box(set.first_match(&facts[i % facts.len()])).is_some());
    }
    let rate = evaluations as f64 / start.elapsed().as_secs_f64();

    let start = Instant::now();
    for i in 0..evaluations {
        let folded = webcare_domain::routing::fold(facts[i % facts.len()].text);
        black_box(folded.split(|c: char| !c.is_alphanumeric()).count());
    }
    let floor = evaluations as f64 / start.elapsed().as_secs_f64();

    let mut report = Report::new("routing", db);
    report.metric("rules", rule_count as f64, "");
    report.metric(
        "evaluations_per_s",
        rate,
        "target >= 100,000 with 200 rules (issue 14)",
    );
    report.metric("floor_fold_per_s", floor, "fold and split the text only");
    report.metric("ratio_to_floor", floor / rate, "times the floor's time");
    report.metric("matched_share", matched as f64 / evaluations as f64, "");
    Ok(report)
}
