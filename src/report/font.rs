//! The font that chart text is measured and drawn with.
//!
//! plotters' `ab_glyph` feature needs font bytes registered at run time; it
//! does not look up system fonts. The report takes a font file from a Debian
//! package: DejaVu Sans (`fonts-dejavu-core`) for English and Noto Sans CJK
//! JP (`fonts-noto-cjk`) for Japanese, whose glyphs also cover Latin text.
//! SVG charts name the family followed by `sans-serif`, so a browser without
//! the font draws them with its own sans-serif font.
//!
//! plotters lays text out with ab_glyph, which scales a font so that ascent
//! minus descent equals the font size, while a browser scales the em square
//! to the font size. The SVG font sizes are corrected by that ratio, so text
//! in a browser is as wide as the boxes plotters drew around it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use ab_glyph::{Font, FontRef};
use anyhow::{bail, Context, Result};
use plotters::style::{register_font, FontStyle};

use crate::report::text::Lang;

/// Font files the report looks for, in order, with their family names and
/// the Debian package that installs each.
const CANDIDATES: [(&str, &str, &str, bool); 4] = [
    (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "DejaVu Sans",
        "fonts-dejavu-core",
        false,
    ),
    (
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "Noto Sans CJK JP",
        "fonts-noto-cjk",
        true,
    ),
    (
        "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
        "IPAGothic",
        "fonts-ipafont-gothic",
        true,
    ),
    (
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "Liberation Sans",
        "fonts-liberation",
        false,
    ),
];

/// Families registered with plotters so far in this process, with their
/// SVG font size factors.
static REGISTERED: Mutex<BTreeMap<&'static str, f64>> = Mutex::new(BTreeMap::new());

/// A registered font family for chart text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChartFont {
    family: &'static str,
    /// Factor from the font size plotters writes into SVG to the size at
    /// which a browser draws text as wide as plotters measured it.
    svg_size_factor: f64,
}

impl ChartFont {
    /// Finds and registers a font that covers `lang`. Japanese needs a font
    /// with Japanese glyphs; English takes DejaVu Sans first.
    pub fn load(lang: Lang) -> Result<ChartFont> {
        let needs_japanese = lang == Lang::Ja;
        let mut candidates: Vec<_> = CANDIDATES
            .iter()
            .filter(|(_, _, _, japanese)| *japanese || !needs_japanese)
            .collect();
        if needs_japanese {
            candidates.sort_by_key(|(_, family, _, _)| *family != "Noto Sans CJK JP");
        }
        for (path, family, _, _) in &candidates {
            if Path::new(path).is_file() {
                let svg_size_factor = register(family, path)?;
                return Ok(ChartFont {
                    family,
                    svg_size_factor,
                });
            }
        }
        let packages: Vec<&str> = candidates.iter().map(|(_, _, package, _)| *package).collect();
        let paths: Vec<&str> = candidates.iter().map(|(path, _, _, _)| *path).collect();
        bail!(
            "no font for chart text found (looked for {}); install one of the Debian packages {}",
            paths.join(", "),
            packages.join(", ")
        )
    }

    pub fn family(&self) -> &'static str {
        self.family
    }

    /// Returns `svg` with the font family followed by the generic
    /// `sans-serif`, for viewers that lack the font, and with font sizes
    /// corrected to plotters' text measurements.
    pub fn finish_svg(&self, svg: &str) -> String {
        let svg = svg.replace(
            &format!("font-family=\"{}\"", self.family),
            &format!("font-family=\"{}, sans-serif\"", self.family),
        );
        const ATTRIBUTE: &str = "font-size=\"";
        let mut out = String::with_capacity(svg.len());
        let mut rest = svg.as_str();
        while let Some(start) = rest.find(ATTRIBUTE) {
            let value_start = start + ATTRIBUTE.len();
            let Some(value_len) = rest[value_start..].find('"') else {
                break;
            };
            out.push_str(&rest[..value_start]);
            let value = &rest[value_start..value_start + value_len];
            match value.parse::<f64>() {
                Ok(size) => out.push_str(&format!("{:.2}", size * self.svg_size_factor)),
                Err(_) => out.push_str(value),
            }
            rest = &rest[value_start + value_len..];
        }
        out.push_str(rest);
        out
    }
}

/// Registers `family` from the font file at `path` once per process and
/// returns its SVG font size factor.
fn register(family: &'static str, path: &str) -> Result<f64> {
    let mut registered = REGISTERED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(factor) = registered.get(family) {
        return Ok(*factor);
    }
    let bytes = std::fs::read(path).with_context(|| format!("failed to read font file {path}"))?;
    // plotters keeps fonts for the life of the process and takes them as
    // `&'static`. Each family is read once, so this leaks one file per family.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    let Ok(font) = FontRef::try_from_slice(bytes) else {
        bail!("font file {path} is not a TrueType or OpenType font");
    };
    if register_font(family, FontStyle::Normal, bytes).is_err() {
        bail!("font file {path} is not a TrueType or OpenType font");
    }
    let factor = svg_size_factor(&font);
    registered.insert(family, factor);
    Ok(factor)
}

/// Returns the factor for SVG font sizes. plotters writes `size / 1.24`
/// into SVG, but it measures and draws glyphs with ab_glyph at `size` pixels
/// of ascent minus descent. A browser draws `font-size` pixels per em.
fn svg_size_factor(font: &FontRef<'_>) -> f64 {
    let height = f64::from(font.ascent_unscaled() - font.descent_unscaled());
    let units_per_em = f64::from(font.units_per_em().unwrap_or(1000.0));
    if height <= 0.0 {
        return 1.0;
    }
    1.24 * units_per_em / height
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_sizes_scaled_and_family_generic() {
        let font = ChartFont {
            family: "DejaVu Sans",
            svg_size_factor: 0.5,
        };
        let svg = r#"<text font-family="DejaVu Sans" font-size="20">x</text><text font-size="bad">y</text>"#;
        assert_eq!(
            font.finish_svg(svg),
            r#"<text font-family="DejaVu Sans, sans-serif" font-size="10.00">x</text><text font-size="bad">y</text>"#
        );
    }

    #[test]
    fn english_font_found() {
        // .ci/run installs fonts-dejavu-core.
        let font = ChartFont::load(Lang::En).expect("a Latin font is installed");
        assert!(font.svg_size_factor > 0.5, "{}", font.svg_size_factor);
        assert!(font.svg_size_factor < 2.0, "{}", font.svg_size_factor);
    }
}
