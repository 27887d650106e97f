//! The seven charts of the report, as plot models built from the evidence.
//!
//! A count axis turns logarithmic when the relay limit is at least
//! [`LOG_RATIO`] times the highest value, so a small organisation's traffic
//! stays visible beside a limit thousands of times larger. The axis
//! description then ends in "(log scale)".

use std::collections::BTreeMap;

use crate::report::facts::Facts;
use crate::report::load::Evidence;
use crate::report::plot::{Axis, Bar, Labels, Limit, Line, Plot, Rgb};
use crate::report::series::{self, Steps};
use crate::report::text::{self, ChartWords, Lang};

/// Ratio of limit (or largest value) to the highest value above which a
/// count axis is drawn on a log scale.
pub const LOG_RATIO: f64 = 50.0;

/// File names, without extension, of the charts in report order. `replay`
/// with `--force` removes these files of an earlier run.
pub const CHART_IDS: [&str; 7] = [
    "chart-1-org-recipients-short",
    "chart-2-org-recipients-day",
    "chart-3-busiest-senders",
    "chart-4-verdicts-by-rule",
    "chart-5-transaction-recipients",
    "chart-6-message-sizes",
    "chart-7-new-connections",
];

/// Most points a time series keeps; longer series keep each bucket's
/// highest value, so peaks stay visible.
const MAX_POINTS: usize = 2_000;

/// How many senders the sender chart shows.
const SENDERS_SHOWN: usize = 3;

const SERIES_COLORS: [Rgb; 3] = [(31, 119, 180), (44, 160, 44), (148, 103, 189)];
const LIGHT_COLORS: [Rgb; 3] = [(130, 180, 220), (140, 210, 140), (200, 170, 225)];

/// Colour of an outcome's bars.
pub fn outcome_color(outcome: &str) -> Rgb {
    match outcome {
        "accepted" => (44, 160, 44),
        "rewritten" => (31, 119, 180),
        "throttled" => (255, 127, 14),
        "rejected" => (214, 39, 40),
        "warning" => (188, 189, 34),
        _ => (127, 127, 127),
    }
}

/// One chart of the report; `plot` is `None` when the logs have no data
/// for it.
pub struct Chart {
    /// File stem of the SVG and PNG files and the HTML anchor.
    pub id: &'static str,
    pub title: String,
    pub about: String,
    pub plot: Option<Plot>,
}

/// Builds every chart.
pub fn build(evidence: &Evidence, facts: &Facts, lang: Lang) -> Vec<Chart> {
    let words = lang.chart_words();
    let short = text::window(lang, facts.short_window_s());
    let day = text::window(lang, facts.day_window_s());
    let taken = series::taken_recipients(&evidence.verdicts);

    let mut charts = Vec::new();
    let org_short = series::sliding_sum(&taken, seconds_us(facts.short_window_s()));
    charts.push(Chart {
        id: CHART_IDS[0],
        title: words.org_short_title.replace("{window}", &short),
        about: words.org_short_about.replace("{window}", &short),
        plot: window_plot(
            words,
            facts,
            words.org_short_title.replace("{window}", &short),
            words.y_window_recipients,
            vec![(words.legend_taken.to_string(), SERIES_COLORS[0], org_short)],
            &[facts.limit("org_recipients_per_10min")],
        ),
    });

    let org_day = series::sliding_sum(&taken, seconds_us(facts.day_window_s()));
    charts.push(Chart {
        id: CHART_IDS[1],
        title: words.org_day_title.replace("{window}", &day),
        about: words.org_day_about.replace("{window}", &day),
        plot: window_plot(
            words,
            facts,
            words.org_day_title.replace("{window}", &day),
            words.y_window_recipients,
            vec![(words.legend_taken.to_string(), SERIES_COLORS[0], org_day)],
            &[facts.limit("org_recipients_per_day")],
        ),
    });

    let senders = series::busiest_senders(
        &evidence.verdicts,
        &evidence.messages,
        seconds_us(facts.day_window_s()),
        SENDERS_SHOWN,
    );
    let mut sender_lines = Vec::new();
    for (index, sender) in senders.into_iter().enumerate() {
        let slot = index % SERIES_COLORS.len();
        sender_lines.push((
            words.legend_sender_messages.replace("{sender}", &sender.sender),
            SERIES_COLORS[slot],
            sender.messages,
        ));
        sender_lines.push((
            words.legend_sender_unique.replace("{sender}", &sender.sender),
            LIGHT_COLORS[slot],
            sender.unique_recipients,
        ));
    }
    charts.push(Chart {
        id: CHART_IDS[2],
        title: words.senders_title.replace("{window}", &day),
        about: words.senders_about.to_string(),
        plot: window_plot(
            words,
            facts,
            words.senders_title.replace("{window}", &day),
            words.y_window_count,
            sender_lines,
            &[
                facts.limit("user_messages_per_day"),
                facts.limit("user_recipients_per_day"),
            ],
        ),
    });

    charts.push(Chart {
        id: CHART_IDS[3],
        title: words.rules_title.to_string(),
        about: words.rules_about.to_string(),
        plot: rules_plot(words, facts, lang),
    });
    charts.push(Chart {
        id: CHART_IDS[4],
        title: words.transactions_title.to_string(),
        about: words.transactions_about.to_string(),
        plot: transactions_plot(words, facts, &series::transaction_sizes(&evidence.verdicts)),
    });
    charts.push(Chart {
        id: CHART_IDS[5],
        title: words.sizes_title.to_string(),
        about: words.sizes_about.to_string(),
        plot: sizes_plot(words, facts, &series::message_sizes(&evidence.messages)),
    });

    let (starts, about) = if facts.mode == "direct" {
        (evidence.session_starts_us.clone(), words.connections_about_direct)
    } else {
        (
            series::new_outbound_connections(&evidence.attempts),
            words.connections_about_smarthost,
        )
    };
    charts.push(Chart {
        id: CHART_IDS[6],
        title: words.connections_title.to_string(),
        about: about.to_string(),
        plot: connections_plot(words, facts, &series::per_minute(starts.into_iter())),
    });
    charts
}

fn seconds_us(seconds: u64) -> i64 {
    i64::try_from(seconds).unwrap_or(i64::MAX / 1_000_000) * 1_000_000
}

fn limit_label(words: &ChartWords, value: u64) -> String {
    words.limit.replace("{value}", &text::thousands(value))
}

fn with_log_note(words: &ChartWords, desc: &str, axis: &Axis) -> String {
    if axis.log {
        format!("{desc} ({})", words.log_scale)
    } else {
        desc.to_string()
    }
}

/// Returns a count axis up to `highest` that also shows `limits`, on a log
/// scale when the largest of them dwarfs the data.
fn count_axis(highest: u64, limits: &[u64]) -> Axis {
    let top_limit = limits.iter().copied().max().unwrap_or(0);
    let top = highest.max(top_limit) as f64;
    if top_limit > 0 && top >= LOG_RATIO * highest.max(1) as f64 {
        Axis::log(0.8, top * 1.5, 10.0, Labels::Count)
    } else {
        Axis::linear_count(top * 1.1)
    }
}

/// Returns the step series as a polyline, thinned to [`MAX_POINTS`] by
/// keeping each bucket's highest value.
fn step_line(points: &Steps, end_s: f64) -> Vec<(f64, f64)> {
    let seconds = |at: i64| at as f64 / 1e6;
    let thinned: Vec<(f64, f64)> = if points.len() <= MAX_POINTS {
        points
            .iter()
            .map(|&(at, value)| (seconds(at), value as f64))
            .collect()
    } else {
        let first = seconds(points[0].0);
        let width = ((end_s - first) / (MAX_POINTS / 2) as f64).max(1e-6);
        let mut buckets: BTreeMap<i64, f64> = BTreeMap::new();
        for &(at, value) in points {
            let bucket = ((seconds(at) - first) / width).floor() as i64;
            let entry = buckets.entry(bucket).or_insert(0.0);
            *entry = entry.max(value as f64);
        }
        buckets
            .into_iter()
            .map(|(bucket, value)| (first + bucket as f64 * width, value))
            .collect()
    };
    let mut line = Vec::with_capacity(thinned.len() * 2 + 1);
    let mut previous = 0.0;
    for (at, value) in thinned {
        line.push((at, previous));
        line.push((at, value));
        previous = value;
    }
    line.push((end_s, previous));
    line
}

/// Builds a time chart of window counters against one or two limits.
fn window_plot(
    words: &ChartWords,
    facts: &Facts,
    title: String,
    y_desc: &str,
    lines: Vec<(String, Rgb, Steps)>,
    limits: &[u64],
) -> Option<Plot> {
    let start_us = lines
        .iter()
        .filter_map(|(_, _, points)| points.first())
        .map(|p| p.0)
        .min()?;
    let end_us = lines
        .iter()
        .filter_map(|(_, _, points)| points.last())
        .map(|p| p.0)
        .max()?;

    let highest = lines
        .iter()
        .map(|(_, _, points)| series::highest(points))
        .max()
        .unwrap_or(0);
    let span_s = ((end_us - start_us) as f64 / 1e6).max(60.0);
    let start_s = start_us as f64 / 1e6 - span_s * 0.03;
    let end_s = end_us as f64 / 1e6 + span_s * 0.03;

    let x = Axis::time(start_s, end_s, facts.zone);
    let mut limits: Vec<u64> = limits.iter().copied().filter(|limit| *limit > 0).collect();
    limits.dedup();

    let y = count_axis(highest, &limits);

    Some(Plot {
        title,
        x_desc: format!("{} ({})", words.time, facts.zone.name()),
        y_desc: with_log_note(words, y_desc, &y),
        bars: Vec::new(),
        bar_legend: Vec::new(),
        lines: lines
            .into_iter()
            .map(|(label, color, points)| Line {
                label,
                color,
                width: 2,
                points: step_line(&points, end_s),
            })
            .collect(),
        limits: limits
            .iter()
            .map(|&limit| Limit {
                label: limit_label(words, limit),
                value: limit as f64,
                horizontal: true,
            })
            .collect(),
        x,
        y,
        y_label_width: 96,
    })
}

fn rules_plot(words: &ChartWords, facts: &Facts, lang: Lang) -> Option<Plot> {
    let rows: Vec<_> = facts
        .outcomes_by_rule
        .iter()
        .filter(|row| row.recipients > 0)
        .collect();
    if rows.is_empty() {
        return None;
    }
    // Categories run bottom to top, so the first row is drawn at the top.
    let names: Vec<String> = rows
        .iter()
        .rev()
        .map(|row| {
            if row.rule.is_empty() {
                words.accepted_no_rule.to_string()
            } else {
                format!("{} ({})", row.rule, text::outcome(lang, &row.outcome))
            }
        })
        .collect();

    let highest = rows.iter().map(|row| row.recipients).max().unwrap_or(0);
    let lowest = rows.iter().map(|row| row.recipients).min().unwrap_or(0);
    let x = if highest >= lowest.max(1) * 100 {
        Axis::log(0.8, highest as f64 * 3.0, 10.0, Labels::Count)
    } else {
        Axis::linear_count(highest as f64 * 1.3)
    };
    let longest = names.iter().map(|name| name.chars().count()).max().unwrap_or(10) as u32;

    let bars = rows
        .iter()
        .rev()
        .enumerate()
        .map(|(index, row)| Bar {
            x: (x.low, row.recipients as f64),
            y: (index as f64 + 0.2, index as f64 + 0.8),
            color: outcome_color(&row.outcome),
            note: Some(text::thousands(row.recipients)),
        })
        .collect();

    let mut outcomes: Vec<&str> = rows.iter().map(|row| row.outcome.as_str()).collect();
    outcomes.sort_unstable();
    outcomes.dedup();

    Some(Plot {
        title: words.rules_title.to_string(),
        x_desc: with_log_note(words, words.x_recipients, &x),
        y_desc: String::new(),
        bars,
        bar_legend: outcomes
            .into_iter()
            .map(|outcome| (text::outcome(lang, outcome), outcome_color(outcome)))
            .collect(),
        lines: Vec::new(),
        limits: Vec::new(),
        x,
        y: Axis::categories(names),
        y_label_width: (longest * 9 + 24).clamp(120, 460),
    })
}

fn transactions_plot(words: &ChartWords, facts: &Facts, histogram: &BTreeMap<u64, u64>) -> Option<Plot> {
    let largest = *histogram.keys().next_back()?;
    let limit = facts.limit("recipients_per_transaction");
    let x_top = largest.max(limit) as f64 * 1.1 + 1.0;
    let width = (x_top / 60.0).ceil().max(1.0) as u64;

    let mut bins: BTreeMap<u64, u64> = BTreeMap::new();
    for (&recipients, &transactions) in histogram {
        *bins.entry((recipients - 1) / width).or_insert(0) += transactions;
    }

    let highest = bins.values().copied().max().unwrap_or(0);
    let lowest = bins.values().copied().min().unwrap_or(0);

    let y = if highest >= lowest.max(1) * 100 {
        Axis::log(0.8, highest as f64 * 2.0, 10.0, Labels::Count)
    } else {
        Axis::linear_count(highest as f64 * 1.15)
    };
    let mut x = Axis::linear_count(x_top);
    x.low = 0.0;

    let bars = bins
        .iter()
        .map(|(&bin, &count)| Bar {
            x: ((bin * width) as f64 + 0.5, ((bin + 1) * width) as f64 + 0.5),
            y: (y.low, count as f64),
            color: SERIES_COLORS[0],
            note: None,
        })
        .collect();

    Some(Plot {
        title: words.transactions_title.to_string(),
        x_desc: words.x_transaction.to_string(),
        y_desc: with_log_note(words, words.y_transactions, &y),
        bars,
        bar_legend: Vec::new(),
        lines: Vec::new(),
        limits: vec![Limit {
            label: limit_label(words, limit),
            value: limit as f64 + 0.5,
            horizontal: false,
        }],
        x,
        y,
        y_label_width: 96,
    })
}

fn sizes_plot(words: &ChartWords, facts: &Facts, sizes: &[u64]) -> Option<Plot> {
    let largest = *sizes.iter().max()?;
    let limit = facts.limit("max_message_bytes");
    // Bins double in width: [2^k, 2^(k+1)) bytes.

    let mut bins: BTreeMap<u32, u64> = BTreeMap::new();
    for &size in sizes {
        *bins.entry(size.max(1).ilog2()).or_insert(0) += 1;
    }
    let low_power = bins.keys().next().copied().unwrap_or(10).min(10);
    let high = (largest.max(limit) as f64) * 2.0;
    let x = Axis::log(2f64.powi(low_power as i32), high, 4.0, Labels::Bytes);

    let highest = bins.values().copied().max().unwrap_or(0);
    let lowest = bins.values().copied().min().unwrap_or(0);

    let y = if highest >= lowest.max(1) * 100 {
        Axis::log(0.8, highest as f64 * 2.0, 10.0, Labels::Count)
    } else {
        Axis::linear_count(highest as f64 * 1.15)
    };

    let bars = bins
        .iter()
        .map(|(&power, &count)| Bar {
            x: (2f64.powi(power as i32), 2f64.powi(power as i32 + 1)),
            y: (y.low, count as f64),
            color: SERIES_COLORS[0],
            note: None,
        })
        .collect();

    Some(Plot {
        title: words.sizes_title.to_string(),
        x_desc: with_log_note(words, words.x_size, &x),
        y_desc: with_log_note(words, words.y_messages, &y),
        bars,
        bar_legend: Vec::new(),
        lines: Vec::new(),
        limits: vec![Limit {
            label: format!(
                "{} ({})",
                words
                    .limit
                    .replace("{value}", &crate::report::plot::bytes_label(limit as f64)),
                text::thousands(limit)
            ),
            value: limit as f64,
            horizontal: false,
        }],
        x,
        y,
        y_label_width: 96,
    })
}

fn connections_plot(words: &ChartWords, facts: &Facts, per_minute: &BTreeMap<i64, u64>) -> Option<Plot> {
    const MINUTE_US: i64 = 60_000_000;
    let first = *per_minute.keys().next()?;
    let last = *per_minute.keys().next_back()?;
    // Minutes without a connection are zero; the series falls back to zero
    // one minute after each counted minute.

    let mut points: Steps = Vec::new();
    for (&minute, &count) in per_minute {
        points.push((minute, count));
        if !per_minute.contains_key(&(minute + MINUTE_US)) {
            points.push((minute + MINUTE_US, 0));
        }
    }

    let highest = series::highest(&points);
    let span_s = ((last - first) as f64 / 1e6).max(60.0);
    let start_s = first as f64 / 1e6 - span_s * 0.03;
    let end_s = (last + MINUTE_US) as f64 / 1e6 + span_s * 0.03;

    let y = count_axis(highest, &[]);

    Some(Plot {
        title: words.connections_title.to_string(),
        x_desc: format!("{} ({})", words.time, facts.zone.name()),
        y_desc: with_log_note(words, words.y_connections, &y),
        bars: Vec::new(),
        bar_legend: Vec::new(),
        lines: vec![Line {
            label: words.legend_connections.to_string(),
            color: SERIES_COLORS[0],
            width: 2,
            points: step_line(&points, end_s),
        }],
        limits: Vec::new(),
        x: Axis::time(start_s, end_s, facts.zone),
        y,
        y_label_width: 96,
    })
}
