//! Dutch public holidays ("feestdagen") for any Gregorian year.
//!
//! The rules live in one place ([`for_each_holiday`]) and feed both the readable list
//! ([`dutch_holidays`]) and the allocation-free lookup the deadline engine uses ([`ordinals`]).

use chrono::{Datelike, NaiveDate, Weekday};

/// Easter Sunday (Gregorian computus, "anonymous Gregorian algorithm" of Meeus/Jones/Butcher).
/// `None` only for years chrono cannot represent.
pub fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let y = year;
    let a = y.rem_euclid(19);
    let b = y.div_euclid(100);
    let c = y.rem_euclid(100);
    let d = b.div_euclid(4);
    let e = b.rem_euclid(4);
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c.div_euclid(4);
    let k = c.rem_euclid(4);
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l).div_euclid(451);
    let n = h + l - 7 * m + 114;
    NaiveDate::from_ymd_opt(year, (n / 31) as u32, (n % 31 + 1) as u32)
}

/// The monarch's day: Koningsdag from 2014 (27 April, Saturday 26 April when the 27th is a
/// Sunday); Koninginnedag 1949-2013 on 30 April (moved to Monday 1 May when it was a Sunday until
/// 1979, to Saturday 29 April from 1980); Koninginnedag 1891-1948 on 31 August (no Sunday rule is
/// modelled for those years).
fn monarchs_day(year: i32) -> Option<(NaiveDate, &'static str)> {
    let ymd = |m, d| NaiveDate::from_ymd_opt(year, m, d);
    let sunday = |date: NaiveDate| date.weekday() == Weekday::Sun;
    let (date, name) = match year {
        2014.. => {
            let d = ymd(4, 27)?;
            (if sunday(d) { ymd(4, 26)? } else { d }, "Koningsdag")
        }
        1980..=2013 => {
            let d = ymd(4, 30)?;
            (if sunday(d) { ymd(4, 29)? } else { d }, "Koninginnedag")
        }
        1949..=1979 => {
            let d = ymd(4, 30)?;
            (if sunday(d) { ymd(5, 1)? } else { d }, "Koninginnedag")
        }
        1891..=1948 => (ymd(8, 31)?, "Koninginnedag"),
        _ => return None,
    };
    Some((date, name))
}

/// Calls `f` for every holiday of `year`, in no particular order. Years chrono cannot represent
/// have no holidays.
fn for_each_holiday(year: i32, good_friday: bool, mut f: impl FnMut(NaiveDate, &'static str)) {
    let ymd = |m, d| NaiveDate::from_ymd_opt(year, m, d);
    if let Some(d) = ymd(1, 1) {
        f(d, "Nieuwjaarsdag");
    }
    if let Some(easter) = easter_sunday(year) {
        let rel = |days: i64| easter.checked_add_signed(chrono::Duration::days(days));
        let movable: [(i64, &'static str, bool); 6] = [
            (-2, "Goede Vrijdag", good_friday),
            (0, "Eerste Paasdag", true),
            (1, "Tweede Paasdag", true),
            (39, "Hemelvaartsdag", true),
            (49, "Eerste Pinksterdag", true),
            (50, "Tweede Pinksterdag", true),
        ];
        for (offset, name, wanted) in movable {
            if let (true, Some(d)) = (wanted, rel(offset)) {
                f(d, name);
            }
        }
    }
    if let Some((d, name)) = monarchs_day(year) {
        f(d, name);
    }
    // Bevrijdingsdag exists since 1945; the design treats it as a yearly day off.
    if year >= 1945 {
        if let Some(d) = ymd(5, 5) {
            f(d, "Bevrijdingsdag");
        }
    }
    if let Some(d) = ymd(12, 25) {
        f(d, "Eerste Kerstdag");
    }
    if let Some(d) = ymd(12, 26) {
        f(d, "Tweede Kerstdag");
    }
}

/// The Dutch public holidays of `year`, sorted by date (two holidays may share a date, e.g.
/// Hemelvaartsdag on Bevrijdingsdag). Goede Vrijdag only when `good_friday` is set.
pub fn dutch_holidays(year: i32, good_friday: bool) -> Vec<(NaiveDate, &'static str)> {
    let mut out = Vec::with_capacity(12);
    for_each_holiday(year, good_friday, |d, name| out.push((d, name)));
    out.sort_by_key(|(d, _)| *d);
    out
}

/// The name of the holiday on `date`, if any (the first by list order when two coincide).
pub fn holiday_name(date: NaiveDate, good_friday: bool) -> Option<&'static str> {
    dutch_holidays(date.year(), good_friday)
        .into_iter()
        .find(|(d, _)| *d == date)
        .map(|(_, name)| name)
}

/// Whether `date` is a Dutch public holiday.
pub fn is_holiday(date: NaiveDate, good_friday: bool) -> bool {
    let (ords, len) = ordinals(date.year(), good_friday);
    ords[..len].contains(&(date.ordinal() as u16))
}

/// Most holidays a year can have (all rules at once).
pub(crate) const MAX_PER_YEAR: usize = 12;

/// Day-of-year numbers (1-based) of the holidays of `year`, sorted, without allocating: the
/// deadline engine calls this once per year it walks through.
pub(crate) fn ordinals(year: i32, good_friday: bool) -> ([u16; MAX_PER_YEAR], usize) {
    let mut ords = [0u16; MAX_PER_YEAR];
    let mut len = 0;
    for_each_holiday(year, good_friday, |d, _| {
        if len < MAX_PER_YEAR {
            ords[len] = d.ordinal() as u16;
            len += 1;
        }
    });
    ords[..len].sort_unstable();
    (ords, len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn named(year: i32, name: &str) -> Vec<NaiveDate> {
        dutch_holidays(year, true)
            .into_iter()
            .filter(|(_, n)| *n == name)
            .map(|(d, _)| d)
            .collect()
    }

    #[test]
    fn easter_matches_known_dates() {
        let known = [
            (1900, 4, 15),
            (1961, 4, 2),
            (2000, 4, 23),
            (2008, 3, 23),
            (2011, 4, 24),
            (2019, 4, 21),
            (2024, 3, 31),
            (2025, 4, 20),
            (2026, 4, 5),
            (2027, 3, 28),
            (2038, 4, 25),
            (2100, 3, 28),
        ];
        for (y, m, d) in known {
            assert_eq!(easter_sunday(y), Some(date(y, m, d)), "easter {y}");
        }
    }

    #[test]
    fn easter_always_between_22_march_and_25_april() {
        for y in 1900..=2200 {
            let e = easter_sunday(y).unwrap();
            assert_eq!(e.weekday(), Weekday::Sun, "{y}");
            assert!(e >= date(y, 3, 22) && e <= date(y, 4, 25), "{y}: {e}");
        }
    }

    #[test]
    fn movable_feasts_follow_easter() {
        for (y, easter) in [(2024, date(2024, 3, 31)), (2026, date(2026, 4, 5))] {
            let plus = |n| easter + chrono::Duration::days(n);
            assert_eq!(named(y, "Goede Vrijdag"), vec![plus(-2)]);
            assert_eq!(named(y, "Eerste Paasdag"), vec![plus(0)]);
            assert_eq!(named(y, "Tweede Paasdag"), vec![plus(1)]);
            assert_eq!(named(y, "Hemelvaartsdag"), vec![plus(39)]);
            assert_eq!(named(y, "Eerste Pinksterdag"), vec![plus(49)]);
            assert_eq!(named(y, "Tweede Pinksterdag"), vec![plus(50)]);
        }
        assert_eq!(named(2026, "Hemelvaartsdag"), vec![date(2026, 5, 14)]);
        assert_eq!(named(2026, "Tweede Pinksterdag"), vec![date(2026, 5, 25)]);
        assert_eq!(named(2025, "Tweede Paasdag"), vec![date(2025, 4, 21)]);
        assert_eq!(named(2025, "Hemelvaartsdag"), vec![date(2025, 5, 29)]);
    }

    #[test]
    fn fixed_days() {
        for y in [1950, 2000, 2024, 2025, 2026, 2150] {
            assert_eq!(named(y, "Nieuwjaarsdag"), vec![date(y, 1, 1)]);
            assert_eq!(named(y, "Bevrijdingsdag"), vec![date(y, 5, 5)]);
            assert_eq!(named(y, "Eerste Kerstdag"), vec![date(y, 12, 25)]);
            assert_eq!(named(y, "Tweede Kerstdag"), vec![date(y, 12, 26)]);
        }
        assert!(named(1930, "Bevrijdingsdag").is_empty());
    }

    #[test]
    fn koningsdag_moves_to_saturday_when_27_april_is_sunday() {
        assert_eq!(named(2025, "Koningsdag"), vec![date(2025, 4, 26)]);
        assert_eq!(named(2026, "Koningsdag"), vec![date(2026, 4, 27)]);
        assert_eq!(named(2014, "Koningsdag"), vec![date(2014, 4, 26)]);
        assert_eq!(named(2031, "Koningsdag"), vec![date(2031, 4, 26)]);
        assert_eq!(named(2024, "Koningsdag"), vec![date(2024, 4, 27)]);
    }

    #[test]
    fn koninginnedag_before_2014() {
        assert_eq!(named(2013, "Koninginnedag"), vec![date(2013, 4, 30)]);
        assert_eq!(
            named(2006, "Koninginnedag"),
            vec![date(2006, 4, 29)],
            "Sunday"
        );
        assert_eq!(
            named(1989, "Koninginnedag"),
            vec![date(1989, 4, 29)],
            "Sunday"
        );
        assert_eq!(
            named(1978, "Koninginnedag"),
            vec![date(1978, 5, 1)],
            "Sunday before 1980"
        );
        assert_eq!(named(1975, "Koninginnedag"), vec![date(1975, 4, 30)]);
        assert_eq!(named(1920, "Koninginnedag"), vec![date(1920, 8, 31)]);
        assert!(named(2013, "Koningsdag").is_empty());
        assert!(named(1880, "Koninginnedag").is_empty());
    }

    #[test]
    fn good_friday_only_on_request() {
        let gf = date(2026, 4, 3);
        assert!(is_holiday(gf, true));
        assert!(!is_holiday(gf, false));
        assert_eq!(holiday_name(gf, true), Some("Goede Vrijdag"));
        assert_eq!(dutch_holidays(2026, false).len(), 10);
        assert_eq!(dutch_holidays(2026, true).len(), 11);
    }

    #[test]
    fn coinciding_holidays_are_both_listed() {
        // 2016: Easter 27 March, Hemelvaartsdag 5 May = Bevrijdingsdag.
        let may5 = date(2016, 5, 5);
        let on_day: Vec<_> = dutch_holidays(2016, false)
            .into_iter()
            .filter(|(d, _)| *d == may5)
            .collect();
        assert_eq!(on_day.len(), 2);
        assert!(is_holiday(may5, false));
    }

    #[test]
    fn is_holiday_agrees_with_the_list() {
        for y in [1900, 1999, 2024, 2026, 2200] {
            let list = dutch_holidays(y, false);
            let mut d = date(y, 1, 1);
            while d.year() == y {
                assert_eq!(
                    is_holiday(d, false),
                    list.iter().any(|(h, _)| *h == d),
                    "{d}"
                );
                d = d.succ_opt().unwrap();
            }
        }
        assert!(!is_holiday(date(2026, 4, 28), false));
    }

    #[test]
    fn list_is_sorted() {
        let list = dutch_holidays(2026, true);
        assert!(list.windows(2).all(|w| w[0].0 <= w[1].0));
        assert_eq!(list.first().map(|h| h.1), Some("Nieuwjaarsdag"));
        assert_eq!(list.last().map(|h| h.1), Some("Tweede Kerstdag"));
    }
}
