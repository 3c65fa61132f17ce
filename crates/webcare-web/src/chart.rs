//! Server-drawn bar charts for the report page: the geometry is computed here (pure, tested) and
//! drawn as inline SVG by the template, so a chart needs no script, no library and no network,
//! and askama escapes every label. Horizontal bars, because group labels (themes, agents, weeks)
//! are long; the table beside the chart holds the same figures for screen readers and exports.

/// Charts with more groups than this are left out: the table reads better then.
pub const MAX_BARS: usize = 40;
const LABEL_WIDTH: u32 = 220;
const BAR_AREA: u32 = 420;
const VALUE_WIDTH: u32 = 90;
const ROW_HEIGHT: u32 = 22;
const BAR_HEIGHT: u32 = 16;
const TOP: u32 = 4;

/// One bar: its label, the value as the table shows it, and where it is drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub shown: String,
    /// Baseline of the label and value texts.
    pub text_y: u32,
    pub y: u32,
    pub width: u32,
    /// Where the value text starts: just after the bar.
    pub value_x: u32,
}

/// A chart of one figure per group row.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    /// What the bars measure (the column's Dutch header).
    pub measure: String,
    pub width: u32,
    pub height: u32,
    pub bar_x: u32,
    pub bar_height: u32,
    pub bars: Vec<Bar>,
}

/// Bars for `(label, value, shown)` rows, scaled to the largest value; `None` when there is
/// nothing to draw (no rows, too many, or no value above zero). Missing and negative values
/// draw as an empty bar with their text.
pub fn bar_chart(measure: &str, rows: &[(String, Option<f64>, String)]) -> Option<BarChart> {
    if rows.is_empty() || rows.len() > MAX_BARS {
        return None;
    }
    let max = rows
        .iter()
        .filter_map(|(_, v, _)| *v)
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    if max <= 0.0 {
        return None;
    }
    let bars = rows
        .iter()
        .enumerate()
        .map(|(i, (label, value, shown))| {
            let share = value.filter(|v| v.is_finite()).unwrap_or(0.0).max(0.0) / max;
            // Rounded to whole pixels; a value above zero always shows at least one.
            let mut width = (share * f64::from(BAR_AREA)).round() as u32;
            if share > 0.0 && width == 0 {
                width = 1;
            }
            let y = TOP + i as u32 * ROW_HEIGHT;
            Bar {
                label: short(label),
                shown: shown.clone(),
                text_y: y + BAR_HEIGHT - 3,
                y,
                width,
                value_x: LABEL_WIDTH + width + 6,
            }
        })
        .collect::<Vec<_>>();
    Some(BarChart {
        measure: measure.to_owned(),
        width: LABEL_WIDTH + BAR_AREA + VALUE_WIDTH,
        height: TOP * 2 + bars.len() as u32 * ROW_HEIGHT,
        bar_x: LABEL_WIDTH,
        bar_height: BAR_HEIGHT,
        bars,
    })
}

/// A label that fits left of the bars; the table has it whole.
fn short(label: &str) -> String {
    const MAX: usize = 34;
    if label.chars().count() <= MAX {
        return label.to_owned();
    }
    let mut s: String = label.chars().take(MAX - 1).collect();
    s.push('…');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn row(label: &str, v: Option<f64>) -> (String, Option<f64>, String) {
        (label.into(), v, v.map_or("–".into(), |v| v.to_string()))
    }

    #[test]
    fn the_largest_value_fills_the_area_and_the_rest_scale() {
        let c = bar_chart(
            "Zaken",
            &[
                row("X", Some(10.0)),
                row("WhatsApp", Some(5.0)),
                row("FB", None),
            ],
        )
        .unwrap();
        let w: Vec<u32> = c.bars.iter().map(|b| b.width).collect();
        assert_eq!(w, vec![BAR_AREA, BAR_AREA / 2, 0]);
        assert_eq!(c.bars[2].shown, "–");
        assert_eq!(c.height, TOP * 2 + 3 * ROW_HEIGHT);
        // Rows are drawn in the table's order, one under the other.
        assert!(c.bars.windows(2).all(|p| p[1].y == p[0].y + ROW_HEIGHT));
    }

    #[test]
    fn long_labels_are_shortened_for_the_chart_only() {
        let long = "Openbare ruimte · verlichting · Gemeente Voorbeeld Facebook";
        let c = bar_chart("Zaken", &[row(long, Some(1.0))]).unwrap();
        assert_eq!(c.bars[0].label.chars().count(), 34);
        assert!(c.bars[0].label.ends_with('…'));
        assert!(long.starts_with(c.bars[0].label.trim_end_matches('…')));
    }

    #[test]
    fn nothing_to_draw_gives_no_chart() {
        assert_eq!(bar_chart("Zaken", &[]), None);
        assert_eq!(
            bar_chart("Zaken", &[row("a", Some(0.0)), row("b", None)]),
            None
        );
        let many: Vec<_> = (0..=MAX_BARS)
            .map(|i| row(&i.to_string(), Some(1.0)))
            .collect();
        assert_eq!(bar_chart("Zaken", &many), None);
    }

    proptest! {
        #[test]
        fn bars_stay_inside_and_keep_the_order_of_their_values(
            values in proptest::collection::vec(proptest::option::of(-5.0f64..1e9), 1..MAX_BARS)
        ) {
            let rows: Vec<_> = values.iter().enumerate().map(|(i, v)| row(&i.to_string(), *v)).collect();
            if let Some(c) = bar_chart("m", &rows) {
                for (b, v) in c.bars.iter().zip(&values) {
                    prop_assert!(b.width <= BAR_AREA);
                    prop_assert!(b.value_x < c.width);
                    prop_assert_eq!(b.width == 0, v.is_none_or(|v| v <= 0.0));
                }
                for (a, b) in c.bars.iter().zip(&values).flat_map(|x| c.bars.iter().zip(&values).map(move |y| (x, y))) {
                    if a.1.unwrap_or(0.0) < b.1.unwrap_or(0.0) {
                        prop_assert!(a.0.width <= b.0.width);
                    }
                }
            }
        }
    }
}
