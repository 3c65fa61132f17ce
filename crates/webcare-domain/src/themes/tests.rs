use super::*;
use proptest::prelude::*;

#[test]
fn words_are_folded_and_filtered() {
    assert_eq!(
        words("De Lantaarnpaal in de Café-straat 12 is KAPOT!"),
        vec!["lantaarnpaal", "cafe", "straat", "kapot"]
    );
    assert!(words("").is_empty());
    assert!(words("1234 AB 06-12345678").iter().all(|w| w == "ab"));
}

#[test]
fn cold_start_suggests_from_the_seeds() {
    let m = Model::seeded();
    let s = m.suggest("Mijn kliko is vandaag niet opgehaald").unwrap();
    assert_eq!(s.theme, "Afval");
    assert!(s.confidence > 0.5, "{s:?}");
    let s = m
        .suggest("Wanneer kan ik een afspraak maken voor mijn paspoort?")
        .unwrap();
    assert_eq!(s.theme, "Burgerzaken");
    let s = m
        .suggest("Er ligt een boom over het fietspad na de storm, omgewaaid")
        .unwrap();
    assert_eq!(s.theme, "Openbare Ruimte & Groen");
    // Nothing the model knows: no suggestion rather than a guess.
    assert_eq!(m.suggest("Hallo, hoe gaat het?"), None);
    assert_eq!(Model::empty().suggest("kliko niet opgehaald"), None);
}

#[test]
fn tagging_teaches_a_theme_the_seeds_did_not_know() {
    let mut m = Model::seeded();
    let text = "De kermis op het plein maakt tot laat herrie";
    let before = m.suggest(text);
    assert_ne!(
        before.map(|s| s.theme),
        Some("Economische Zaken".to_owned())
    );
    for t in [
        "Wanneer begint de kermis op het plein?",
        "Is er dit jaar weer een kermis?",
        "Kermis plein attracties vergunning",
    ] {
        m.learn("Economische Zaken", t);
    }
    assert_eq!(m.suggest(text).unwrap().theme, "Economische Zaken");
}

#[test]
fn forgetting_undoes_learning() {
    let mut m = Model::seeded();
    let seeded = m.clone();
    let c = counted(&features("Het zwembad is dicht, waarom?"));
    m.add("Sport & Recreatie", &c, 1);
    assert_ne!(m, seeded);
    m.add("Sport & Recreatie", &c, -1);
    assert_eq!(m, seeded);
}

#[test]
fn learned_counts_merge_onto_the_seeds_as_if_learned_there() {
    let mut learned = Model::empty();
    learned.learn("Afval", "grofvuil ophalen op dinsdag");
    let mut a = Model::seeded();
    a.merge(&learned);
    let mut b = Model::seeded();
    b.learn("Afval", "grofvuil ophalen op dinsdag");
    assert_eq!(a, b);
}

#[test]
fn held_out_accuracy_counts_right_answers() {
    let ex = |t: &str, s: &str| (t.to_owned(), counted(&features(s)));
    let train = vec![ex("Wonen", "schimmel in mijn huurwoning")];
    let test = vec![
        ex("Wonen", "schimmel huurwoning badkamer"),
        ex("Afval", "kliko niet opgehaald"),
        ex("Cultuur", "hallo"),
    ];
    assert_eq!(held_out_accuracy(&train, &test), (2, 3));
}

fn theme() -> impl Strategy<Value = String> {
    proptest::sample::select(crate::model::DEFAULT_THEMES.to_vec()).prop_map(str::to_owned)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn any_text_is_classified_without_panic(text in "\\PC{0,300}", raw in ".{0,100}") {
        let m = Model::seeded();
        let _ = m.suggest(&text);
        let _ = m.suggest(&raw);
        for f in features(&text) {
            prop_assert!(f < BUCKETS);
        }
    }

    #[test]
    fn posteriors_sum_to_one(text in "[a-z ]{0,80}|kliko [a-z ]{0,40}",
                             tagged in proptest::collection::vec((theme(), "[a-z ]{1,40}"), 0..8)) {
        let mut m = Model::seeded();
        for (t, s) in &tagged {
            m.learn(t, s);
        }
        let p = m.posteriors(&features(&text));
        prop_assert_eq!(p.len(), m.themes().count());
        let sum: f64 = p.iter().map(|(_, x)| x).sum();
        prop_assert!((sum - 1.0).abs() < 1e-9, "sum {}", sum);
        prop_assert!(p.iter().all(|(_, x)| (0.0..=1.0).contains(x)));
    }

    #[test]
    fn learning_a_text_never_lowers_its_theme(
        t in theme(),
        text in "[a-z ]{1,80}",
        tagged in proptest::collection::vec((theme(), "[a-z ]{1,40}"), 0..8),
    ) {
        let mut m = Model::seeded();
        for (th, s) in &tagged {
            m.learn(th, s);
        }
        let feats = features(&text);
        let p = |m: &Model| m.posteriors(&feats).into_iter().find(|(n, _)| *n == t).map_or(0.0, |x| x.1);
        let before = p(&m);
        m.learn(&t, &text);
        let after = p(&m);
        prop_assert!(after >= before - 1e-12, "{} -> {}", before, after);
    }
}
