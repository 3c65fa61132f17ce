use super::*;
use chrono::NaiveDate;
use proptest::prelude::*;

fn at(day: u32, h: u32, m: u32) -> NaiveDateTime {
    // 2026-03-09 is a Monday.
    NaiveDate::from_ymd_opt(2026, 3, day)
        .unwrap()
        .and_hms_opt(h, m, 0)
        .unwrap()
}

fn facts(text: &str) -> Facts<'_> {
    Facts {
        channel_kind: ChannelKind::X,
        channel_account_id: Uuid::nil(),
        visibility: Visibility::Public,
        text,
        flags: &[],
        theme: None,
        kind: None,
        target_group: None,
        local: at(9, 10, 0),
        within_opening_hours: true,
    }
}

fn rule(name: &str, conditions: Conditions) -> RuleSpec {
    RuleSpec {
        name: name.into(),
        enabled: true,
        conditions,
        actions: Actions {
            team: Some(name.into()),
            ..Default::default()
        },
    }
}

fn keywords(k: &[&str]) -> Conditions {
    Conditions {
        keywords: k.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn first(rules: &[RuleSpec], f: &Facts<'_>) -> Option<usize> {
    RuleSet::compile(rules)
        .unwrap()
        .first_match(f)
        .map(|m| m.index)
}

#[test]
fn keywords_match_whole_words_case_and_accent_insensitive() {
    let rules = [rule("groen", keywords(&["boom", "Café Terras"]))];
    assert_eq!(first(&rules, &facts("Er ligt een BOOM op de weg")), Some(0));
    assert_eq!(
        first(&rules, &facts("Het cafe-terras staat in de weg")),
        Some(0)
    );
    assert_eq!(first(&rules, &facts("Een boomstam")), None, "whole words");
    assert_eq!(
        first(&rules, &facts("café en terras")),
        None,
        "a phrase is contiguous"
    );
}

#[test]
fn star_matches_the_start_or_end_of_a_word() {
    let rules = [
        rule("licht", keywords(&["*verlichting"])),
        rule("lamp", keywords(&["lantaarn*"])),
    ];
    assert_eq!(
        first(&rules, &facts("De straatverlichting is uit")),
        Some(0)
    );
    assert_eq!(first(&rules, &facts("Lantaarnpaal 12 is stuk")), Some(1));
    assert_eq!(first(&rules, &facts("Verlichtingsplan")), None);
}

#[test]
fn the_first_enabled_match_wins_and_says_why() {
    let mut off = rule("uit", keywords(&["boom"]));
    off.enabled = false;
    let rules = [
        off,
        rule(
            "x-boom",
            Conditions {
                channel_kinds: vec![ChannelKind::X],
                keywords: vec!["boom".into()],
                ..Default::default()
            },
        ),
        rule("boom", keywords(&["boom"])),
    ];
    let set = RuleSet::compile(&rules).unwrap();
    let m = set.first_match(&facts("Omgevallen boom")).unwrap();
    assert_eq!(m.index, 1);
    assert_eq!(m.reasons, vec!["kanaal x", "trefwoord 'boom'"]);
}

#[test]
fn time_windows_wrap_past_midnight_and_days_count_locally() {
    let evening = Conditions {
        time_from: NaiveTime::from_hms_opt(17, 0, 0),
        time_to: NaiveTime::from_hms_opt(8, 30, 0),
        ..Default::default()
    };
    let rules = [rule("avond", evening)];
    let mut f = facts("x");
    for (t, hit) in [
        (at(9, 16, 59), false),
        (at(9, 17, 0), true),
        (at(9, 23, 59), true),
        (at(10, 0, 0), true),
        (at(10, 8, 29), true),
        (at(10, 8, 30), false),
    ] {
        f.local = t;
        assert_eq!(first(&rules, &f).is_some(), hit, "{t}");
    }
    let weekend = Conditions {
        weekdays: vec![Weekday::Sat, Weekday::Sun],
        ..Default::default()
    };
    f.local = at(14, 12, 0);
    assert_eq!(first(&[rule("weekend", weekend.clone())], &f), Some(0));
    f.local = at(13, 12, 0);
    assert_eq!(first(&[rule("weekend", weekend)], &f), None);
}

#[test]
fn opening_hours_flags_and_patterns() {
    let rules = [
        rule(
            "bsn-buiten",
            Conditions {
                flags: vec!["BSN".into()],
                opening_hours: Some(OpeningHours::Outside),
                ..Default::default()
            },
        ),
        rule(
            "kenteken",
            Conditions {
                pattern: Some(r"\b[a-z]{2}-\d{3}-[a-z]\b".into()),
                ..Default::default()
            },
        ),
    ];
    let flags = vec!["bsn".to_owned()];
    let mut f = facts("Auto met kenteken AB-123-C staat fout");
    f.flags = &flags;
    assert_eq!(
        first(&rules, &f),
        Some(1),
        "open: the first rule does not apply"
    );
    f.within_opening_hours = false;
    assert_eq!(first(&rules, &f), Some(0));
    let mut f = facts("Auto met kenteken AB-123-CD");
    f.within_opening_hours = false;
    assert_eq!(first(&rules, &f), None);
}

#[test]
fn every_problem_of_a_rule_set_is_reported() {
    let mut bad = rule(
        " ",
        Conditions {
            keywords: vec!["".into(), "ok".into(), "a*b*".into()],
            pattern: Some("(unclosed".into()),
            time_from: NaiveTime::from_hms_opt(9, 0, 0),
            time_to: NaiveTime::from_hms_opt(9, 0, 0),
            ..Default::default()
        },
    );
    bad.actions = Actions::default();
    let errors = RuleSet::compile(&[rule("goed", keywords(&["x"])), bad]).unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "rules[1].name",
            "rules[1].conditions.keywords[0]",
            "rules[1].conditions.keywords[2]",
            "rules[1].conditions.pattern",
            "rules[1].conditions.timeTo",
            "rules[1].actions",
        ]
    );
    assert!(
        errors[3].reason.contains("unclosed"),
        "{}",
        errors[3].reason
    );
}

#[test]
fn rule_sets_are_bounded() {
    let mut big = rule(
        "groot",
        Conditions {
            keywords: vec!["boom".into(); 101],
            pattern: Some("a".repeat(501)),
            ..Default::default()
        },
    );
    big.actions.labels = vec!["x".into(); 21];
    let errors = RuleSet::compile(&[big]).unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "rules[0].conditions.keywords",
            "rules[0].actions.labels",
            "rules[0].conditions.pattern",
        ]
    );
}

#[test]
fn rule_specs_read_as_the_api_writes_them() {
    let spec: RuleSpec = serde_json::from_value(serde_json::json!({
        "name": "Verkeer buiten kantoortijd",
        "conditions": {"channelKinds": ["x"], "keywords": ["verkeerslicht*"],
                        "weekdays": ["Mon", "Tue"], "timeFrom": "17:00:00",
                        "openingHours": "outside"},
        "actions": {"team": "verkeer", "priority": "high", "labels": ["avond"]}
    }))
    .unwrap();
    assert!(spec.enabled);
    assert_eq!(spec.conditions.weekdays, vec![Weekday::Mon, Weekday::Tue]);
    assert!(serde_json::from_value::<RuleSpec>(serde_json::json!({
        "name": "x", "conditions": {"colour": "red"}, "actions": {"team": "a"}
    }))
    .is_err());
}

// ---- properties: the compiled set decides as a plain reading of the rules does

/// The rules read literally, one condition after the other, nothing precomputed.
#[test]
fn actions_set_team_and_priority_fill_what_is_empty_and_add_labels_once() {
    let actions = Actions {
        team: Some("verkeer".into()),
        priority: Some(Priority::High),
        theme: Some("verkeer".into()),
        kind: Some(CaseKind::Melding),
        target_group: Some(TargetGroup::Burger),
        labels: vec!["storm".into(), "boom".into()],
        ..Default::default()
    };
    let mut c = Routable {
        team: Some("kcc".into()),
        priority: Priority::Normal,
        theme: Some("afval".into()),
        kind: None,
        target_group: None,
        labels: vec!["boom".into()],
    };
    actions.apply(&mut c);
    assert_eq!(c.team.as_deref(), Some("verkeer"));
    assert_eq!(c.priority, Priority::High);
    // The agent's theme stays; the empty kind and target group are filled.
    assert_eq!(c.theme.as_deref(), Some("afval"));
    assert_eq!(c.kind, Some(CaseKind::Melding));
    assert_eq!(c.target_group, Some(TargetGroup::Burger));
    assert_eq!(c.labels, vec!["boom".to_string(), "storm".to_string()]);
    // Applying twice changes nothing more.
    let once = c.clone();
    actions.apply(&mut c);
    assert_eq!(c, once);
}

fn naive(rules: &[RuleSpec], f: &Facts<'_>) -> Option<usize> {
    let spaced = |s: &str| format!(" {} ", words(&fold(s)).join(" "));
    let text = spaced(f.text);
    let text_words: Vec<String> = words(&fold(f.text))
        .into_iter()
        .map(str::to_owned)
        .collect();
    rules.iter().position(|r| {
        let c = &r.conditions;
        let keyword_hit = |k: &String| {
            let k = fold(k.trim());
            if let Some(p) = k.strip_suffix('*') {
                text_words.iter().any(|w| w.starts_with(p))
            } else if let Some(s) = k.strip_prefix('*') {
                text_words.iter().any(|w| w.ends_with(s))
            } else {
                text.contains(&spaced(&k))
            }
        };
        let t = f.local.time();
        r.enabled
            && (c.channel_kinds.is_empty() || c.channel_kinds.contains(&f.channel_kind))
            && (c.channel_account_ids.is_empty()
                || c.channel_account_ids.contains(&f.channel_account_id))
            && c.visibility.is_none_or(|v| v == f.visibility)
            && (c.themes.is_empty()
                || f.theme
                    .is_some_and(|th| c.themes.iter().any(|x| fold(x) == fold(th))))
            && (c.kinds.is_empty() || f.kind.is_some_and(|k| c.kinds.contains(&k)))
            && (c.target_groups.is_empty()
                || f.target_group.is_some_and(|g| c.target_groups.contains(&g)))
            && c.flags
                .iter()
                .all(|x| f.flags.iter().any(|y| y.eq_ignore_ascii_case(x)))
            && (c.weekdays.is_empty() || c.weekdays.contains(&chrono::Datelike::weekday(&f.local)))
            && match (c.time_from, c.time_to) {
                (Some(a), Some(b)) if a <= b => a <= t && t < b,
                (Some(a), Some(b)) => !(b <= t && t < a),
                (Some(a), None) => a <= t,
                (None, Some(b)) => t < b,
                (None, None) => true,
            }
            && c.opening_hours
                .is_none_or(|o| (o == OpeningHours::Within) == f.within_opening_hours)
            && (c.keywords.is_empty() || c.keywords.iter().any(keyword_hit))
            && c.pattern.as_ref().is_none_or(|p| {
                regex::RegexBuilder::new(&strip_accents(p))
                    .case_insensitive(true)
                    .build()
                    .unwrap()
                    .is_match(&strip_accents(f.text))
            })
    })
}

const VOCAB: &[&str] = &[
    "boom",
    "Boom",
    "bóóm",
    "boomstam",
    "lantaarnpaal",
    "paaltje",
    "straatverlichting",
    "verlichting",
    "afval",
    "het",
    "container",
    "café",
    "terras",
    "parkeren",
    "verkeerslicht",
];

/// Words, phrases and stars that overlap the text vocabulary in every way: whole, start, middle
/// and end of a word, and across words.
const KEYWORDS: &[&str] = &[
    "boom",
    "BOOM*",
    "*boom",
    "paal*",
    "*paal",
    "verlicht*",
    "*verlichting",
    "*licht",
    "het afval",
    "Cafe terras",
    "afval",
    "container*",
];

fn arb_keyword() -> impl Strategy<Value = String> {
    prop::sample::select(KEYWORDS).prop_map(str::to_owned)
}

/// Few distinct times, shared with the messages' times, so the window edges are hit.
const TIMES: &[(u32, u32)] = &[(8, 0), (8, 30), (12, 0), (17, 0), (22, 0)];

fn arb_time() -> impl Strategy<Value = Option<NaiveTime>> {
    prop::option::of(
        prop::sample::select(TIMES).prop_map(|(h, m)| NaiveTime::from_hms_opt(h, m, 0).unwrap()),
    )
}

fn arb_rule() -> impl Strategy<Value = RuleSpec> {
    (
        prop::collection::vec(prop::sample::select(ChannelKind::ALL.to_vec()), 0..2),
        prop::option::of(prop::sample::select(vec![
            Visibility::Public,
            Visibility::Private,
        ])),
        prop::collection::vec(arb_keyword(), 0..3),
        prop::option::of(prop::sample::select(vec![
            "boom|afval",
            r"\d{4}\s?[a-z]{2}",
            "^er",
        ])),
        prop::collection::vec(
            prop::sample::select(vec!["bsn".to_string(), "IBAN".to_string()]),
            0..3,
        ),
        prop::collection::vec(prop::sample::select(vec![Weekday::Mon, Weekday::Sat]), 0..2),
        (arb_time(), arb_time()),
        prop::option::of(prop::sample::select(vec![
            OpeningHours::Within,
            OpeningHours::Outside,
        ])),
        any::<bool>(),
    )
        .prop_filter("an empty window is refused", |r| {
            !(r.6 .0.is_some() && r.6 .0 == r.6 .1)
        })
        .prop_map(
            |(ck, vis, kw, pat, flags, days, (from, to), open, enabled)| RuleSpec {
                name: "r".into(),
                enabled,
                conditions: Conditions {
                    channel_kinds: ck,
                    visibility: vis,
                    keywords: kw,
                    pattern: pat.map(str::to_owned),
                    flags,
                    weekdays: days,
                    time_from: from,
                    time_to: to,
                    opening_hours: open,
                    ..Default::default()
                },
                actions: Actions {
                    team: Some("t".into()),
                    ..Default::default()
                },
            },
        )
}

fn arb_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            prop::sample::select(VOCAB).prop_map(str::to_owned),
            "[a-z0-9 ,.!-]{0,8}"
        ],
        0..8,
    )
    .prop_map(|w| w.join(" "))
}

proptest! {
    // Cheap (a tenth of a millisecond a case), and the conditions combine in many ways: most
    // random sets are decided by an early, broad rule, so many cases are needed to reach each
    // condition's edges (a mutated prefix match needs about a thousand).
    #![proptest_config(ProptestConfig::with_cases(6000))]

    #[test]
    fn first_match_is_the_naive_reading(
        rules in prop::collection::vec(arb_rule(), 0..12),
        text in arb_text(),
        kind in prop::sample::select(ChannelKind::ALL.to_vec()),
        public in any::<bool>(),
        bsn in any::<bool>(),
        day in 9..16u32,
        time in prop::sample::select(TIMES),
        minute_off in prop::sample::select(vec![0u32, 1, 59]),
        iban in any::<bool>(),
        open in any::<bool>(),
    ) {
        let flags: Vec<String> = [("bsn", bsn), ("iban", iban)]
            .iter()
            .filter(|(_, on)| *on)
            .map(|(f, _)| f.to_string())
            .collect();
        let f = Facts {
            channel_kind: kind,
            channel_account_id: Uuid::nil(),
            visibility: if public { Visibility::Public } else { Visibility::Private },
            text: &text,
            flags: &flags,
            theme: None,
            kind: None,
            target_group: None,
            // On a rule's time, a minute after, or a minute before the next hour.
            local: at(day, time.0, time.1) + chrono::Duration::minutes(i64::from(minute_off)),
            within_opening_hours: open,
        };
        let set = RuleSet::compile(&rules).unwrap();
        prop_assert_eq!(set.first_match(&f).map(|m| m.index), naive(&rules, &f));
    }

    #[test]
    fn no_rule_set_or_text_panics(
        keywords in prop::collection::vec("\\PC{0,12}", 0..4),
        pattern in prop::option::of("\\PC{0,16}"),
        text in "\\PC{0,200}",
    ) {
        let spec = RuleSpec {
            name: "r".into(),
            enabled: true,
            conditions: Conditions { keywords, pattern, ..Default::default() },
            actions: Actions { team: Some("t".into()), ..Default::default() },
        };
        if let Ok(set) = RuleSet::compile(&[spec]) {
            let _ = set.first_match(&facts(&text));
        }
    }
}
