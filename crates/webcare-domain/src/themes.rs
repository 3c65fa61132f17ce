//! Theme suggestions (issue 16): a multinomial naive Bayes over the Dutch text of a case's first
//! citizen message, learned from the desk's own tagging and started cold from keyword seeds for
//! the default themes (DESIGN 10: no municipality tags today).
//!
//! Words are lowercased, accents folded (`café` = `cafe`), split on anything not a letter or
//! digit; stop words, one-letter words and numbers (house numbers, postcodes, phone numbers) are
//! dropped; adjacent words also count as a bigram. Each feature is hashed (FNV-1a) into a fixed
//! space of [`BUCKETS`], so the stored model holds numbers, not a citizen's words, and the
//! vocabulary size in the smoothing is a constant: adding an example of a theme can then never
//! lower that theme's probability for the example's own text (a property test).

use std::collections::{BTreeMap, HashMap};
use unicode_normalization::UnicodeNormalization;

/// The size of the hashed feature space (the vocabulary in the smoothing).
pub const BUCKETS: u32 = 1 << 18;
/// Additive (Lidstone) smoothing per bucket.
const ALPHA: f64 = 0.02;
/// Words per text that count: a long message says what it is about early.
const MAX_WORDS: usize = 200;
/// How much a seed keyword weighs, in occurrences in its theme's one pseudo-example.
const SEED_WEIGHT: u64 = 3;

/// Common Dutch words that say nothing about a theme.
const STOP_WORDS: &[&str] = &[
    "aan",
    "al",
    "alle",
    "als",
    "ben",
    "bij",
    "dan",
    "dat",
    "de",
    "den",
    "der",
    "des",
    "deze",
    "die",
    "dit",
    "doen",
    "door",
    "dus",
    "een",
    "en",
    "er",
    "ge",
    "geen",
    "had",
    "heb",
    "hebben",
    "heeft",
    "het",
    "hier",
    "hij",
    "hoe",
    "hun",
    "ik",
    "in",
    "is",
    "je",
    "jij",
    "jullie",
    "kan",
    "kunnen",
    "kunt",
    "maar",
    "me",
    "meer",
    "men",
    "met",
    "mij",
    "mijn",
    "moet",
    "na",
    "naar",
    "niet",
    "niets",
    "nog",
    "nu",
    "of",
    "om",
    "omdat",
    "ons",
    "onze",
    "ook",
    "op",
    "over",
    "te",
    "tot",
    "u",
    "uit",
    "uw",
    "van",
    "veel",
    "voor",
    "was",
    "wat",
    "we",
    "wel",
    "werd",
    "wie",
    "wij",
    "wil",
    "wordt",
    "worden",
    "zal",
    "ze",
    "zich",
    "zij",
    "zijn",
    "zo",
    "zou",
    "goedemorgen",
    "goedemiddag",
    "hallo",
    "hoi",
    "beste",
    "dank",
    "bedankt",
    "graag",
    "groet",
    "groeten",
    "mvg",
    "alvast",
    "vraag",
    "gemeente",
    "please",
    "the",
];

/// Dutch keyword seeds for the default themes (`model::DEFAULT_THEMES`), the cold start.
pub const SEEDS: &[(&str, &[&str])] = &[
    (
        "Verkeer & Infrastructuur",
        &[
            "weg",
            "wegen",
            "straat",
            "fietspad",
            "stoep",
            "kruispunt",
            "verkeerslicht",
            "stoplicht",
            "drempel",
            "parkeren",
            "parkeervergunning",
            "parkeerplaats",
            "bekeuring",
            "gat",
            "kuil",
            "asfalt",
            "wegwerkzaamheden",
            "omleiding",
            "bus",
            "verkeer",
            "brug",
        ],
    ),
    (
        "Openbare Orde & Veiligheid",
        &[
            "overlast",
            "inbraak",
            "politie",
            "boa",
            "handhaving",
            "vandalisme",
            "vuurwerk",
            "drugs",
            "hangjongeren",
            "onveilig",
            "brand",
            "geluidsoverlast",
            "diefstal",
            "veiligheid",
            "cameratoezicht",
        ],
    ),
    (
        "Openbare Ruimte & Groen",
        &[
            "boom",
            "bomen",
            "gras",
            "maaien",
            "park",
            "speeltuin",
            "plantsoen",
            "onkruid",
            "snoeien",
            "bankje",
            "groen",
            "omgewaaid",
            "takken",
            "struiken",
            "speelplaats",
            // Street lighting is kept by the beheer openbare ruimte (as the demo and its routing
            // rule file it), not by traffic.
            "lantaarnpaal",
            "lantaarnpalen",
            "straatverlichting",
            "verlichting",
            "stoeptegel",
        ],
    ),
    (
        "Burgerzaken",
        &[
            "paspoort",
            "rijbewijs",
            "identiteitskaart",
            "id",
            "kaart",
            "afspraak",
            "verhuizing",
            "verhuizen",
            "uittreksel",
            "brp",
            "geboorte",
            "aangifte",
            "huwelijk",
            "trouwen",
            "adreswijziging",
            "digid",
            "nationaliteit",
        ],
    ),
    (
        "Sport & Recreatie",
        &[
            "sport",
            "zwembad",
            "sporthal",
            "sportpark",
            "voetbal",
            "recreatie",
            "strand",
            "speeltoestel",
            "fitness",
            "sportvereniging",
            "hardlopen",
            "camping",
        ],
    ),
    (
        "Wonen",
        &[
            "woning",
            "huurwoning",
            "huur",
            "woningcorporatie",
            "bouwvergunning",
            "omgevingsvergunning",
            "verbouwing",
            "dakkapel",
            "bestemmingsplan",
            "woonruimte",
            "urgentie",
            "schimmel",
            "huis",
        ],
    ),
    (
        "Economische Zaken",
        &[
            "ondernemer",
            "bedrijf",
            "winkel",
            "markt",
            "horeca",
            "terras",
            "vergunning",
            "ondernemers",
            "kvk",
            "bedrijventerrein",
            "winkelcentrum",
            "evenementenvergunning",
        ],
    ),
    (
        "Jeugdbeleid",
        &[
            "jeugd",
            "jongeren",
            "jongerenwerk",
            "kinderen",
            "jeugdzorg",
            "jongerencentrum",
            "kinderopvang",
            "tieners",
            "jeugdhulp",
        ],
    ),
    (
        "Cultuur",
        &[
            "cultuur",
            "museum",
            "bibliotheek",
            "theater",
            "concert",
            "festival",
            "kunst",
            "monument",
            "erfgoed",
            "muziekschool",
            "expositie",
        ],
    ),
    (
        "Milieu",
        &[
            "milieu",
            "stank",
            "luchtkwaliteit",
            "geluid",
            "vervuiling",
            "asbest",
            "bodem",
            "duurzaam",
            "zonnepanelen",
            "isolatie",
            "energie",
            "klimaat",
            "riool",
            "riolering",
            "wateroverlast",
        ],
    ),
    (
        "Zorg & Welzijn",
        &[
            "zorg",
            "wmo",
            "mantelzorg",
            "thuiszorg",
            "huishoudelijke",
            "rolstoel",
            "eenzaamheid",
            "welzijn",
            "ouderen",
            "hulpmiddelen",
            "scootmobiel",
            "indicatie",
            "dementie",
        ],
    ),
    (
        "Werk & Inkomen",
        &[
            "uitkering",
            "bijstand",
            "werk",
            "schulden",
            "schuldhulp",
            "inkomen",
            "toeslag",
            "participatiewet",
            "minima",
            "kwijtschelding",
            "sollicitatie",
            "werkloos",
        ],
    ),
    (
        "Onderwijs",
        &[
            "school",
            "scholen",
            "leerplicht",
            "leerlingenvervoer",
            "onderwijs",
            "basisschool",
            "studie",
            "schoolgebouw",
            "mbo",
            "taalles",
        ],
    ),
    (
        "Afval",
        &[
            "afval",
            "container",
            "kliko",
            "vuilnis",
            "vuilniszak",
            "opgehaald",
            "ophalen",
            "grofvuil",
            "gft",
            "papier",
            "plastic",
            "afvalkalender",
            "glasbak",
            "milieustraat",
            "zwerfafval",
            "restafval",
            "afvalpas",
            "containers",
        ],
    ),
    (
        "Dienstverlening",
        &[
            "openingstijden",
            "bereikbaar",
            "telefoon",
            "website",
            "formulier",
            "klantcontact",
            "gemeentehuis",
            "balie",
            "wachttijd",
            "reactie",
            "klacht",
            "loket",
        ],
    ),
    ("Overig", &[]),
];

/// Lowercased, accents folded, split into words; stop words, one-letter words and numbers left
/// out.
pub fn words(text: &str) -> Vec<String> {
    let folded: String = text
        .nfkd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect();
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() > 1)
        .filter(|w| !w.chars().all(|c| c.is_ascii_digit()))
        .filter(|w| !STOP_WORDS.contains(w))
        .take(MAX_WORDS)
        .map(str::to_owned)
        .collect()
}

fn hash(parts: &[&str]) -> u32 {
    // FNV-1a, 64 bits: stable across builds and nodes (the stored model depends on it).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h ^= 0x20;
            h = h.wrapping_mul(0x100_0000_01b3);
        }
        for b in p.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100_0000_01b3);
        }
    }
    (h % u64::from(BUCKETS)) as u32
}

/// The hashed features of a text: each word and each pair of adjacent words.
pub fn features(text: &str) -> Vec<u32> {
    let w = words(text);
    let mut out: Vec<u32> = w.iter().map(|x| hash(&[x])).collect();
    out.extend(w.windows(2).map(|p| hash(&[&p[0], &p[1]])));
    out
}

/// Features with their counts, sorted by feature: the form examples are stored and added in.
pub fn counted(features: &[u32]) -> Vec<(u32, u64)> {
    let mut m: BTreeMap<u32, u64> = BTreeMap::new();
    for f in features {
        *m.entry(*f).or_default() += 1;
    }
    m.into_iter().collect()
}

/// One theme's counts: its examples, its feature occurrences in total and per feature.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ThemeCounts {
    pub examples: u64,
    pub total: u64,
    pub features: HashMap<u32, u64>,
}

/// A suggested theme and how sure the model is (the posterior probability, 0 to 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub theme: String,
    pub confidence: f64,
}

/// The model: per theme its counts. Themes with neither examples nor seeds are not suggested.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Model {
    themes: BTreeMap<String, ThemeCounts>,
}

impl Model {
    /// A model that knows nothing: it suggests nothing.
    pub fn empty() -> Model {
        Model::default()
    }

    /// The cold start: each default theme with one pseudo-example of its keyword seeds.
    pub fn seeded() -> Model {
        let mut m = Model::default();
        for (theme, words) in SEEDS {
            let mut feats = Vec::new();
            for w in *words {
                for f in features(w) {
                    feats.extend(std::iter::repeat_n(f, SEED_WEIGHT as usize));
                }
            }
            m.add(theme, &counted(&feats), 1);
        }
        m
    }

    /// Adds `sign` examples (1 to learn, -1 to forget one learned before) with these counted
    /// features to a theme.
    pub fn add(&mut self, theme: &str, counts: &[(u32, u64)], sign: i64) {
        let t = self.themes.entry(theme.to_owned()).or_default();
        let apply = |v: &mut u64, n: u64| {
            *v = if sign >= 0 {
                v.saturating_add(n)
            } else {
                v.saturating_sub(n)
            }
        };
        apply(&mut t.examples, 1);
        for (f, n) in counts {
            apply(&mut t.total, *n);
            let e = t.features.entry(*f).or_default();
            apply(e, *n);
            if *e == 0 {
                t.features.remove(f);
            }
        }
        if t.examples == 0 && t.total == 0 {
            self.themes.remove(theme);
        }
    }

    /// Learns one tagged text.
    pub fn learn(&mut self, theme: &str, text: &str) {
        self.add(theme, &counted(&features(text)), 1);
    }

    /// Sets a theme's counts as stored (loading a model).
    pub fn set(&mut self, theme: &str, examples: u64, total: u64) {
        let t = self.themes.entry(theme.to_owned()).or_default();
        t.examples = examples;
        t.total = total;
    }

    /// Sets one feature count of a theme as stored (loading a model).
    pub fn set_feature(&mut self, theme: &str, feature: u32, count: u64) {
        if count > 0 {
            self.themes
                .entry(theme.to_owned())
                .or_default()
                .features
                .insert(feature, count);
        }
    }

    /// Adds another model's counts (the learned counts on top of the seeds).
    pub fn merge(&mut self, other: &Model) {
        for (theme, c) in &other.themes {
            let t = self.themes.entry(theme.clone()).or_default();
            t.examples += c.examples;
            t.total += c.total;
            for (f, n) in &c.features {
                *t.features.entry(*f).or_default() += n;
            }
        }
    }

    /// The themes the model knows, in name order.
    pub fn themes(&self) -> impl Iterator<Item = &str> {
        self.themes.keys().map(String::as_str)
    }

    /// The posterior probability of each known theme for these features, in name order; they
    /// sum to 1 (empty when the model knows no theme).
    pub fn posteriors(&self, features: &[u32]) -> Vec<(String, f64)> {
        let examples: u64 = self.themes.values().map(|t| t.examples).sum();
        let k = self.themes.len() as f64;
        let counts = counted(features);
        let logs: Vec<(String, f64)> = self
            .themes
            .iter()
            .map(|(name, t)| {
                // Prior with add-one smoothing, so a theme with only seeds still counts.
                let prior = ((t.examples as f64 + 1.0) / (examples as f64 + k)).ln();
                let denom = (t.total as f64 + ALPHA * f64::from(BUCKETS)).ln();
                let like: f64 = counts
                    .iter()
                    .map(|(f, n)| {
                        let c = t.features.get(f).copied().unwrap_or(0) as f64;
                        *n as f64 * ((c + ALPHA).ln() - denom)
                    })
                    .sum();
                (name.clone(), prior + like)
            })
            .collect();
        let max = logs
            .iter()
            .map(|(_, l)| *l)
            .fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = logs.iter().map(|(_, l)| (l - max).exp()).sum();
        logs.into_iter()
            .map(|(n, l)| (n, (l - max).exp() / sum))
            .collect()
    }

    /// The most probable theme for a text, with its probability; none when no feature of the
    /// text is known to the model (nothing to go on) or the model knows no theme.
    pub fn suggest(&self, text: &str) -> Option<Suggestion> {
        self.suggest_features(&features(text))
    }

    /// [`Model::suggest`] over features already computed.
    pub fn suggest_features(&self, features: &[u32]) -> Option<Suggestion> {
        let known = features
            .iter()
            .any(|f| self.themes.values().any(|t| t.features.contains_key(f)));
        if !known {
            return None;
        }
        self.posteriors(features)
            .into_iter()
            .max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
            .map(|(theme, confidence)| Suggestion { theme, confidence })
    }
}

/// An example as stored: its theme and its counted features.
pub type Example = (String, Vec<(u32, u64)>);

/// Held-out accuracy per theme: for each theme of `test`, (examples, suggested right) by the
/// model trained on `train` on top of the seeds.
pub fn held_out(train: &[Example], test: &[Example]) -> BTreeMap<String, (usize, usize)> {
    let mut m = Model::seeded();
    for (t, c) in train {
        m.add(t, c, 1);
    }
    let mut out: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (t, c) in test {
        let feats: Vec<u32> = c
            .iter()
            .flat_map(|(f, n)| std::iter::repeat_n(*f, *n as usize))
            .collect();
        let right = m.suggest_features(&feats).is_some_and(|s| s.theme == *t);
        let e = out.entry(t.clone()).or_default();
        e.0 += 1;
        e.1 += usize::from(right);
    }
    out
}

/// Held-out accuracy over all themes: (suggested right, examples tested).
pub fn held_out_accuracy(train: &[Example], test: &[Example]) -> (usize, usize) {
    let per = held_out(train, test);
    (per.values().map(|x| x.1).sum(), test.len())
}

#[cfg(test)]
mod tests;
