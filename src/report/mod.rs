//! The readiness report: charts (`chart-*.svg`, `chart-*.png`) and a
//! self-contained `report.html`, written beside the tables of an output
//! folder of `relayaudit replay`.
//!
//! The report reads only the folder's Parquet tables and JSON files, so
//! `relayaudit report DIR` gives the same bytes as the report that `replay`
//! wrote, for the same folder and language. Nothing here reads the clock,
//! and every collection that reaches the output is ordered.

mod charts;
mod facts;
mod font;
mod html;
mod load;
mod notes;
mod plot;
mod readiness;
mod series;
mod text;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::export::OutputDir;

pub use crate::report::charts::CHART_IDS;
pub use crate::report::notes::{render as render_note, Rendered};
pub use crate::report::text::Lang;

/// Files one report run wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub html: PathBuf,
    /// Chart files (SVG and PNG), in chart order.
    pub charts: Vec<PathBuf>,
}

/// Writes `chart-*.svg`, `chart-*.png` and `report.html` into `dir`, an
/// output folder written by `relayaudit replay`.
pub fn write(dir: &Path, lang: Lang) -> Result<Written> {
    let evidence = load::Evidence::read(dir)?;
    let facts = facts::Facts::read(&evidence)?;
    let font = font::ChartFont::load(lang)?;
    let charts = charts::build(&evidence, &facts, lang);

    let out = OutputDir::create(dir, true)?;
    let mut written = Vec::new();
    let mut embedded = Vec::new();
    for chart in &charts {
        let svg = match &chart.plot {
            Some(plot) => {
                let svg = plot::to_svg(plot, &font)?;
                let png = plot::to_png(plot, &font)?;
                let svg_name = format!("{}.svg", chart.id);
                let png_name = format!("{}.png", chart.id);
                out.write_atomic(&svg_name, |file| {
                    Ok(std::io::Write::write_all(file, svg.as_bytes())?)
                })?;
                out.write_atomic(&png_name, |file| Ok(std::io::Write::write_all(file, &png)?))?;
                written.push(out.path().join(svg_name));
                written.push(out.path().join(png_name));
                Some(svg)
            }
            None => {
                // A chart without data this time must not leave last run's
                // files behind.
                for extension in ["svg", "png"] {
                    let stale = out.path().join(format!("{}.{extension}", chart.id));
                    if stale.exists() {
                        std::fs::remove_file(&stale)
                            .with_context(|| format!("failed to remove {}", stale.display()))?;
                    }
                }
                None
            }
        };
        embedded.push(html::EmbeddedChart { chart, svg });
    }

    let page = html::page(&evidence, &facts, &embedded, lang);
    out.write_atomic("report.html", |file| {
        Ok(std::io::Write::write_all(file, page.as_bytes())?)
    })?;
    Ok(Written {
        html: dir.join("report.html"),
        charts: written,
    })
}
