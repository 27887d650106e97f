//! A small plot model (axes, rectangles, lines, a limit line) and its
//! rendering with plotters, once as SVG and once as PNG, from the same code.
//!
//! Axes are our own [`Axis`] type rather than plotters' ranges so that one
//! type covers linear, logarithmic, time and category axes with tick marks
//! where a reader expects them: powers of ten, round clock times, one per
//! category.

use std::ops::Range;

use anyhow::{anyhow, Result};
use chrono::{TimeZone, Utc};
use chrono_tz::Tz;
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::report::font::ChartFont;
use crate::report::text::thousands;

/// Chart size in pixels (SVG user units and PNG pixels).
pub const WIDTH: u32 = 960;
pub const HEIGHT: u32 = 440;

/// Style of an axis's tick labels.
#[derive(Debug, Clone, PartialEq)]
pub enum Labels {
    /// Whole numbers with thousands separators.
    Count,
    /// Sizes in binary units: `4 KB`, `16 MB` (1 MB = 1,048,576 bytes).
    Bytes,
    /// Seconds since the epoch as clock times in `zone`. The date is added
    /// when ticks are a day or more apart or the axis spans several days.
    Time { zone: Tz, with_date: bool },
    /// One name per whole value 0, 1, 2, ...
    Categories(Vec<String>),
}

/// One axis: its range, scale, tick positions and label style.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    pub low: f64,
    pub high: f64,
    pub log: bool,
    pub ticks: Vec<f64>,
    pub labels: Labels,
}

impl Axis {
    /// Returns a linear count axis from 0 to at least `high`, with round ticks.
    pub fn linear_count(high: f64) -> Axis {
        let step = nice_step(high.max(1.0) / 6.0);
        let top = (high.max(1.0) / step).ceil() * step;
        let ticks = (0..)
            .map(|index| f64::from(index) * step)
            .take_while(|tick| *tick <= top + step * 1e-9)
            .collect();
        Axis {
            low: 0.0,
            high: top,
            log: false,
            ticks,
            labels: Labels::Count,
        }
    }

    /// Returns a logarithmic axis from `low` to at least `high`, ticked at powers of
    /// `base` (10 for counts, 4 for bytes).
    pub fn log(low: f64, high: f64, base: f64, labels: Labels) -> Axis {
        let mut ticks = Vec::new();
        let mut tick = 1.0;
        while tick < low {
            tick *= base;
        }
        while tick <= high * base {
            ticks.push(tick);
            if tick >= high {
                break;
            }
            tick *= base;
        }
        let high = ticks.last().copied().unwrap_or(high).max(high);
        Axis {
            low,
            high,
            log: true,
            ticks,
            labels,
        }
    }

    /// Returns a time axis over `[start_s, end_s]` (seconds since the epoch) with
    /// ticks at round local times in `zone`.
    pub fn time(start_s: f64, end_s: f64, zone: Tz) -> Axis {
        const STEPS: [i64; 15] = [
            60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 172_800, 604_800,
            2_592_000,
        ];
        let span = (end_s - start_s).max(60.0);
        let end_s = start_s + span;
        let step = STEPS
            .iter()
            .copied()
            .find(|step| span / *step as f64 <= 7.0)
            .unwrap_or(2_592_000);
        // Align ticks to local clock time using the zone's offset at the start.
        let offset = zone
            .timestamp_opt(start_s as i64, 0)
            .single()
            .map_or(0, |at| chrono::Offset::fix(at.offset()).local_minus_utc() as i64);
        let first_local = ((start_s as i64 + offset) as f64 / step as f64).ceil() as i64 * step;
        let ticks = (0..)
            .map(|index| (first_local + index * step - offset) as f64)
            .take_while(|tick| *tick <= end_s)
            .collect();
        Axis {
            low: start_s,
            high: end_s,
            log: false,
            ticks,
            labels: Labels::Time {
                zone,
                with_date: step >= 86_400 || span > 86_400.0,
            },
        }
    }

    /// Returns a category axis with one slot per name, ticked at slot centres.
    pub fn categories(names: Vec<String>) -> Axis {
        let count = names.len().max(1) as f64;
        Axis {
            low: 0.0,
            high: count,
            log: false,
            ticks: (0..names.len()).map(|index| index as f64 + 0.5).collect(),
            labels: Labels::Categories(names),
        }
    }

    /// Returns where `value` lies on the axis, from 0 (low) to 1 (high).
    fn fraction(&self, value: f64) -> f64 {
        if self.log {
            let value = value.max(self.low);
            (value.ln() - self.low.ln()) / (self.high.ln() - self.low.ln())
        } else {
            (value - self.low) / (self.high - self.low)
        }
    }

    /// Clamps `value` into the axis so that a zero on a log axis sits on its
    /// lower edge.
    pub fn clamp(&self, value: f64) -> f64 {
        value.clamp(self.low, self.high)
    }

    fn label(&self, value: f64) -> String {
        match &self.labels {
            Labels::Count => count_label(value),
            Labels::Bytes => bytes_label(value),
            Labels::Time { zone, with_date } => {
                let Some(at) = Utc.timestamp_opt(value.round() as i64, 0).single() else {
                    return String::new();
                };
                let local = at.with_timezone(zone);
                if *with_date {
                    local.format("%m-%d %H:%M").to_string()
                } else {
                    local.format("%H:%M").to_string()
                }
            }
            Labels::Categories(names) => {
                let index = value.floor();
                if index < 0.0 {
                    return String::new();
                }
                names.get(index as usize).cloned().unwrap_or_default()
            }
        }
    }
}

/// Rounds `raw` up to 1, 2 or 5 times a power of ten.
fn nice_step(raw: f64) -> f64 {
    let magnitude = 10f64.powf(raw.log10().floor());
    let scaled = raw / magnitude;
    let nice = if scaled <= 1.0 {
        1.0
    } else if scaled <= 2.0 {
        2.0
    } else if scaled <= 5.0 {
        5.0
    } else {
        10.0
    };
    (nice * magnitude).max(1.0)
}

fn count_label(value: f64) -> String {
    if value >= 0.0 && value.fract() == 0.0 {
        thousands(value as u64)
    } else {
        format!("{value}")
    }
}

/// Formats a byte count in binary units as Google writes the relay's size
/// limit: `25 MB` is 26,214,400 bytes.
pub fn bytes_label(value: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut scaled = value;
    let mut unit = 0;
    while scaled >= 1024.0 && unit + 1 < UNITS.len() {
        scaled /= 1024.0;
        unit += 1;
    }
    if scaled.fract() == 0.0 {
        format!("{scaled:.0} {}", UNITS[unit])
    } else {
        format!("{scaled:.1} {}", UNITS[unit])
    }
}

impl Ranged for Axis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = f64::from(limit.1 - limit.0);
        limit.0 + (self.fraction(*value) * span).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        let room = hint.max_num_points().max(1);
        if self.ticks.len() <= room {
            return self.ticks.clone();
        }
        let stride = self.ticks.len().div_ceil(room);
        self.ticks.iter().copied().step_by(stride).collect()
    }

    fn range(&self) -> Range<f64> {
        self.low..self.high
    }
}

impl ValueFormatter<f64> for Axis {
    fn format_ext(&self, value: &f64) -> String {
        self.label(*value)
    }
}

/// A fill colour.
pub type Rgb = (u8, u8, u8);

/// A filled rectangle in data coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub x: (f64, f64),
    pub y: (f64, f64),
    pub color: Rgb,
    /// Text drawn just right of the bar's end (horizontal bars), if any.
    pub note: Option<String>,
}

/// A polyline in data coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub label: String,
    pub color: Rgb,
    pub width: u32,
    pub points: Vec<(f64, f64)>,
}

/// A relay limit drawn across the plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Limit {
    pub label: String,
    pub value: f64,
    /// Horizontal line at `y = value`, else vertical at `x = value`.
    pub horizontal: bool,
}

/// Everything one chart shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Plot {
    pub title: String,
    pub x_desc: String,
    pub y_desc: String,
    pub x: Axis,
    pub y: Axis,
    pub bars: Vec<Bar>,
    /// Legend entries for bar colours: (label, colour).
    pub bar_legend: Vec<(String, Rgb)>,
    pub lines: Vec<Line>,
    pub limits: Vec<Limit>,
    /// Room for the y tick labels, in pixels.
    pub y_label_width: u32,
}

pub const LIMIT_COLOR: Rgb = (200, 0, 0);

fn rgb(color: Rgb) -> RGBColor {
    RGBColor(color.0, color.1, color.2)
}

/// Returns a legend label with two trailing spaces, which widen the legend
/// box that plotters measures but are not drawn in SVG, as right padding.
fn legend_label(label: &str) -> String {
    format!("{label}  ")
}

/// Draws `plot` on `root`.
fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, plot: &Plot, font: &ChartFont) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let family = font.family();
    let fail = |error: DrawingAreaErrorKind<DB::ErrorType>| {
        anyhow!("failed to draw chart {:?}: {error}", plot.title)
    };
    root.fill(&WHITE).map_err(fail)?;
    let mut chart = ChartBuilder::on(root)
        .caption(&plot.title, (family, 26).into_font())
        .margin(12)
        .margin_right(36)
        .x_label_area_size(64)
        .y_label_area_size(plot.y_label_width)
        .build_cartesian_2d(plot.x.clone(), plot.y.clone())
        .map_err(fail)?;
    chart
        .configure_mesh()
        .x_desc(plot.x_desc.as_str())
        .y_desc(plot.y_desc.as_str())
        .label_style((family, 16).into_font())
        .axis_desc_style((family, 18).into_font())
        .light_line_style(WHITE)
        .bold_line_style(BLACK.mix(0.12))
        .draw()
        .map_err(fail)?;

    for bar in &plot.bars {
        let corners = [
            (plot.x.clamp(bar.x.0), plot.y.clamp(bar.y.0)),
            (plot.x.clamp(bar.x.1), plot.y.clamp(bar.y.1)),
        ];
        chart
            .draw_series(std::iter::once(Rectangle::new(corners, rgb(bar.color).filled())))
            .map_err(fail)?;
        if let Some(note) = &bar.note {
            let at = (plot.x.clamp(bar.x.1), (bar.y.0 + bar.y.1) / 2.0);
            let style =
                TextStyle::from((family, 16).into_font()).pos(plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Left,
                    plotters::style::text_anchor::VPos::Center,
                ));
            chart
                .draw_series(std::iter::once(Text::new(format!(" {note}"), at, style)))
                .map_err(fail)?;
        }
    }
    for (label, color) in &plot.bar_legend {
        let color = rgb(*color);
        chart
            .draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())
            .map_err(fail)?
            .label(legend_label(label))
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.filled()));
    }
    for line in &plot.lines {
        let color = rgb(line.color);
        let points: Vec<(f64, f64)> = line
            .points
            .iter()
            .map(|&(x, y)| (plot.x.clamp(x), plot.y.clamp(y)))
            .collect();
        let series = chart
            .draw_series(LineSeries::new(points, color.stroke_width(line.width)))
            .map_err(fail)?;
        if !line.label.is_empty() {
            let width = line.width;
            series
                .label(legend_label(&line.label))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(width)));
        }
    }
    for limit in &plot.limits {
        let color = rgb(LIMIT_COLOR);
        let points = if limit.horizontal {
            vec![(plot.x.low, limit.value), (plot.x.high, limit.value)]
        } else {
            vec![(limit.value, plot.y.low), (limit.value, plot.y.high)]
        };
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))
            .map_err(fail)?
            .label(legend_label(&limit.label))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
    }
    // Horizontal bars grow to the right from the top row, so their legend
    // goes to the lower right, where the shortest bars usually are.
    let horizontal_bars = plot.bars.iter().any(|bar| bar.note.is_some());
    let legend_position = if horizontal_bars {
        SeriesLabelPosition::LowerRight
    } else {
        SeriesLabelPosition::UpperRight
    };
    chart
        .configure_series_labels()
        .position(legend_position)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .label_font((family, 16).into_font())
        .draw()
        .map_err(fail)?;
    root.present().map_err(fail)?;
    Ok(())
}

/// Renders `plot` as an SVG document.
pub fn to_svg(plot: &Plot, font: &ChartFont) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        draw(&root, plot, font)?;
    }
    Ok(font.finish_svg(&svg))
}

/// Renders `plot` as a PNG image (8-bit RGB).
pub fn to_png(plot: &Plot, font: &ChartFont) -> Result<Vec<u8>> {
    let mut pixels = vec![0u8; WIDTH as usize * HEIGHT as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (WIDTH, HEIGHT)).into_drawing_area();
        draw(&root, plot, font)?;
    }
    let mut png = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png, WIDTH, HEIGHT);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&pixels)?;
    }
    Ok(png)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_axis_ticks_powers() {
        let axis = Axis::log(0.8, 319_444.0, 10.0, Labels::Count);
        assert_eq!(axis.ticks.first(), Some(&1.0));
        assert_eq!(axis.ticks.last(), Some(&1_000_000.0));
        assert!(axis.high >= 319_444.0);
        assert!((axis.fraction(0.0) - 0.0).abs() < 1e-12);
    }

    #[test]
    fn time_axis_ticks_on_round_minutes() {
        let zone: Tz = "Asia/Tokyo".parse().unwrap();
        // 2024-03-04T09:00:07Z spanning six minutes.
        let axis = Axis::time(1_709_542_807.0, 1_709_543_167.0, zone);
        assert!(axis.ticks.iter().all(|tick| (*tick as i64) % 60 == 0));
        assert_eq!(axis.label(1_709_542_860.0), "18:01");
    }

    #[test]
    fn bytes_labels_binary() {
        assert_eq!(bytes_label(26_214_400.0), "25 MB");
        assert_eq!(bytes_label(4096.0), "4 KB");
        assert_eq!(bytes_label(512.0), "512 B");
    }

    #[test]
    fn linear_axis_round_top() {
        let axis = Axis::linear_count(110.0);
        assert_eq!(axis.high, 120.0);
        assert_eq!(axis.ticks, vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0, 120.0]);
    }
}
