//! `themes`: the theme suggestions (issue 16) on a generated, realistic Dutch data set: citizen
//! messages from templates per theme (lantaarnpaal kapot, afval niet opgehaald,
//! parkeervergunning, paspoort afspraak, ...), with greetings, filler, places, typos and a share
//! of messages that name no subject at all. Pure (no database): the model is what the desk loads.
//! Measures the held-out accuracy (trained on the oldest 80%, tested on the newest 20%), the
//! cold start (seeds only, no tags) on the same test set, and suggestions per second.

use crate::common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::hint::black_box;
use std::time::Instant;
use webcare_domain::themes::{counted, features, held_out, Example, Model};

/// Per theme: subjects, what is wrong or asked, in the citizen's words.
const TEMPLATES: &[(&str, &[&str], &[&str])] = &[
    (
        "Verkeer & Infrastructuur",
        &[
            "verkeerslicht",
            "stoplicht",
            "fietspad",
            "stoep",
            "drempel",
            "bushalte",
            "parkeervergunning",
            "parkeerplaats",
        ],
        &[
            "is kapot",
            "doet het al weken niet",
            "brandt niet meer",
            "ligt vol gaten",
            "is gevaarlijk",
            "hoe vraag ik die aan",
            "waarom is die zo duur",
            "staat de hele nacht op rood",
            "is verzakt",
        ],
    ),
    (
        "Openbare Orde & Veiligheid",
        &[
            "overlast",
            "hangjongeren",
            "vuurwerk",
            "inbraak",
            "drugshandel",
            "vandalisme",
            "geluidsoverlast",
            "dronken mensen",
        ],
        &[
            "elke avond bij het winkelcentrum",
            "wie kan ik bellen",
            "ik voel me niet veilig",
            "kan er een boa langskomen",
            "al weken achter elkaar",
            "de politie reageert niet",
        ],
    ),
    (
        "Openbare Ruimte & Groen",
        &[
            "boom",
            "tak",
            "gras",
            "speeltuin",
            "bankje",
            "onkruid",
            "heg",
            "plantsoen",
            "hondenpoep",
            "lantaarnpaal",
            "straatverlichting",
        ],
        &[
            "is kapot",
            "brandt niet meer",
            "is omgewaaid",
            "ligt over het pad",
            "wordt niet gemaaid",
            "is kapot",
            "moet gesnoeid worden",
            "ziet er verwaarloosd uit",
            "ligt overal",
        ],
    ),
    (
        "Burgerzaken",
        &[
            "paspoort",
            "rijbewijs",
            "id-kaart",
            "identiteitskaart",
            "uittreksel",
            "verhuizing",
            "geboorteaangifte",
            "huwelijk",
        ],
        &[
            "afspraak maken",
            "is verlopen",
            "hoe lang duurt het",
            "kan ik het ophalen",
            "wat kost dat",
            "online doorgeven",
            "geen plek meer in de agenda",
        ],
    ),
    (
        "Sport & Recreatie",
        &[
            "zwembad",
            "sporthal",
            "voetbalveld",
            "sportpark",
            "speelweide",
            "skatebaan",
        ],
        &[
            "openingstijden",
            "is gesloten",
            "kan ik huren",
            "is het water warm",
            "wanneer gaat het open",
            "is vies",
        ],
    ),
    (
        "Wonen",
        &[
            "huurwoning",
            "woning",
            "dakkapel",
            "bouwvergunning",
            "omgevingsvergunning",
            "schimmel",
            "woningcorporatie",
        ],
        &[
            "hoe lang is de wachtlijst",
            "aanvragen",
            "mag ik bouwen",
            "in de badkamer",
            "urgentie aanvragen",
            "de verhuurder doet niets",
        ],
    ),
    (
        "Economische Zaken",
        &[
            "terras",
            "markt",
            "ondernemer",
            "winkel",
            "horeca",
            "standplaats",
            "evenementenvergunning",
        ],
        &[
            "vergunning aanvragen",
            "mag ik openen op zondag",
            "hoeveel kost een plek",
            "sluitingstijd",
            "ondernemersloket",
        ],
    ),
    (
        "Jeugdbeleid",
        &[
            "jongerenwerk",
            "jeugdzorg",
            "jongerencentrum",
            "kinderopvang",
            "jeugdhulp",
        ],
        &[
            "voor mijn zoon",
            "wachtlijst",
            "wanneer is het open",
            "wie kan helpen",
            "voor mijn dochter van 14",
        ],
    ),
    (
        "Cultuur",
        &[
            "bibliotheek",
            "museum",
            "theater",
            "festival",
            "concert",
            "monument",
            "muziekschool",
        ],
        &[
            "openingstijden",
            "kaartjes",
            "wanneer is het",
            "subsidie aanvragen",
            "is gratis",
            "programma",
        ],
    ),
    (
        "Milieu",
        &[
            "stank",
            "asbest",
            "luchtkwaliteit",
            "riool",
            "wateroverlast",
            "zonnepanelen",
            "isolatie",
        ],
        &[
            "in de wijk",
            "na de regen",
            "subsidie",
            "wie ruimt het op",
            "bij de fabriek",
            "ruikt naar gas",
        ],
    ),
    (
        "Zorg & Welzijn",
        &[
            "wmo",
            "mantelzorg",
            "thuiszorg",
            "scootmobiel",
            "huishoudelijke hulp",
            "rolstoel",
            "dagbesteding",
        ],
        &[
            "aanvragen",
            "indicatie",
            "voor mijn moeder",
            "hoe lang duurt het",
            "eigen bijdrage",
            "is gestopt",
        ],
    ),
    (
        "Werk & Inkomen",
        &[
            "uitkering",
            "bijstand",
            "schulden",
            "kwijtschelding",
            "toeslag",
            "schuldhulp",
            "participatiewet",
        ],
        &[
            "is niet betaald",
            "aanvragen",
            "hoe lang duurt het",
            "ik kom niet rond",
            "formulier",
            "terugbetalen",
        ],
    ),
    (
        "Onderwijs",
        &[
            "leerlingenvervoer",
            "leerplicht",
            "basisschool",
            "schoolgebouw",
            "taalles",
            "inburgering",
        ],
        &[
            "aanvragen",
            "voor mijn kind",
            "waarom afgewezen",
            "wie betaalt",
            "verzuim",
        ],
    ),
    (
        "Afval",
        &[
            "kliko",
            "container",
            "grofvuil",
            "gft-bak",
            "vuilniszak",
            "glasbak",
            "papiercontainer",
            "afvalpas",
            "restafval",
        ],
        &[
            "is niet opgehaald",
            "niet geleegd",
            "zit vol",
            "ophalen aanvragen",
            "kwijt",
            "kapot",
            "wanneer wordt het opgehaald",
            "de afvalkalender klopt niet",
        ],
    ),
    (
        "Dienstverlening",
        &[
            "website",
            "telefoon",
            "balie",
            "formulier",
            "wachttijd",
            "klantcontact",
            "digid",
        ],
        &[
            "werkt niet",
            "niemand neemt op",
            "te lang",
            "ik krijg geen reactie",
            "foutmelding",
            "inloggen lukt niet",
        ],
    ),
];

const OPENERS: &[&str] = &[
    "",
    "Hallo,",
    "Goedemorgen,",
    "Beste gemeente,",
    "Hoi!",
    "@gemeente",
    "Vraagje:",
    "Dag,",
];
const PLACES: &[&str] = &[
    "in de Dorpsstraat",
    "op het Marktplein",
    "bij ons in de wijk",
    "aan de Kerkweg 12",
    "voor nummer 34",
    "bij de school",
    "in Noord",
    "",
];
const CLOSERS: &[&str] = &[
    "",
    "Alvast bedankt.",
    "Graag snel reactie!",
    "mvg Jan",
    "Groet, Fatima",
    "Dit is al de derde keer.",
    "??",
    "Wat nu?",
];
/// Messages that name no subject: the desk gets these too.
const VAGUE: &[&str] = &[
    "Ik heb een vraag",
    "Kan iemand mij helpen?",
    "Hallo, ik wacht nog steeds op antwoord",
    "Bel mij even terug aub",
    "Top, bedankt!",
];

fn typo(rng: &mut StdRng, w: &str) -> String {
    let chars: Vec<char> = w.chars().collect();
    if chars.len() < 5 || rng.gen_range(0..8) != 0 {
        return w.to_owned();
    }
    // Drop, double or swap a letter.
    let i = rng.gen_range(1..chars.len() - 1);
    let mut c = chars.clone();
    match rng.gen_range(0..3) {
        0 => {
            c.remove(i);
        }
        1 => c.insert(i, chars[i]),
        _ => c.swap(i, i + 1),
    }
    c.into_iter().collect()
}

/// One generated message and its theme (by the order of generation: the oldest first).
pub fn message(rng: &mut StdRng) -> (String, String) {
    let (theme, subjects, issues) = TEMPLATES[rng.gen_range(0..TEMPLATES.len())];
    let mut parts = vec![OPENERS[rng.gen_range(0..OPENERS.len())].to_owned()];
    if rng.gen_range(0..12) == 0 {
        parts.push(VAGUE[rng.gen_range(0..VAGUE.len())].to_owned());
    } else {
        let subject = subjects[rng.gen_range(0..subjects.len())];
        let issue = issues[rng.gen_range(0..issues.len())];
        let place = PLACES[rng.gen_range(0..PLACES.len())];
        let s = match rng.gen_range(0..3) {
            0 => format!("de {subject} {place} {issue}"),
            1 => format!("{issue}: {subject} {place}"),
            _ => format!("mijn vraag gaat over {subject}, {issue}"),
        };
        parts.push(
            s.split(' ')
                .map(|w| typo(rng, w))
                .collect::<Vec<_>>()
                .join(" "),
        );
    }
    parts.push(CLOSERS[rng.gen_range(0..CLOSERS.len())].to_owned());
    let text = parts.join(" ");
    let text = if rng.gen_range(0..5) == 0 {
        text.to_uppercase()
    } else {
        text
    };
    (text, theme.to_owned())
}

pub fn run(db: Db, quick: bool, n: Option<usize>) -> anyhow::Result<Report> {
    let mut rng = StdRng::seed_from_u64(16);
    let n = n.unwrap_or(if quick { 5_000 } else { 50_000 });
    let data: Vec<(String, String)> = (0..n).map(|_| message(&mut rng)).collect();
    let examples: Vec<Example> = data
        .iter()
        .map(|(text, theme)| (theme.clone(), counted(&features(text))))
        .collect();
    let split = n - n / 5;
    let (train, test) = examples.split_at(split);
    let acc = |per: std::collections::BTreeMap<String, (usize, usize)>| {
        let (t, c) = per.values().fold((0, 0), |a, x| (a.0 + x.0, a.1 + x.1));
        c as f64 / t.max(1) as f64
    };
    let t0 = Instant::now();
    let trained_acc = acc(held_out(train, test));
    let held_out_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let cold_acc = acc(held_out(&[], test));
    let small_acc = acc(held_out(&train[..train.len().min(200)], test));

    let mut model = Model::seeded();
    for (t, c) in train {
        model.add(t, c, 1);
    }
    let texts: Vec<&str> = data[split..].iter().map(|(t, _)| t.as_str()).collect();
    let rounds = if quick { 20_000 } else { 200_000 };
    let t0 = Instant::now();
    let mut suggested = 0usize;
    for i in 0..rounds {
        if black_box(model.suggest(texts[i % texts.len()])).is_some() {
            suggested += 1;
        }
    }
    let per_s = rounds as f64 / t0.elapsed().as_secs_f64();

    let mut r = Report::new("themes", db);
    r.info(
        "data_set",
        format!("{n} msgs"),
        "15 themes from templates, greetings, places, typos, 1 in 12 without a subject; pure, no database",
    );
    r.metric(
        "accuracy_held_out",
        round3(trained_acc),
        format!(
            "trained on the oldest {split}, tested on the newest {}",
            n - split
        ),
    );
    r.metric(
        "accuracy_200_tags",
        round3(small_acc),
        "trained on the oldest 200 only",
    );
    r.metric(
        "accuracy_cold_start",
        round3(cold_acc),
        "keyword seeds only, no tags",
    );
    r.metric(
        "suggested_share",
        round3(suggested as f64 / rounds as f64),
        "texts with any known word (the rest get no suggestion)",
    );
    r.metric(
        "suggestions_per_s",
        per_s.round(),
        "one core: tokenise, hash, 16 themes (the ingest's per-case cost)",
    );
    r.metric(
        "held_out_ms",
        round3(held_out_ms),
        "train + test as the accuracy route does",
    );
    Ok(r)
}
