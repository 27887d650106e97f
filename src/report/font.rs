//! The font that chart text is measured and drawn with.
//!
//! plotters' `ab_glyph` feature needs font bytes registered at run time; it
//! does not look up system fonts. The report takes a font file from a Debian
//! package: DejaVu Sans (`fonts-dejavu-core`) for English and Noto Sans CJK
//! JP (`fonts-noto-cjk`) for Japanese, whose glyphs also cover Latin text.
//! SVG charts name the family followed by `sans-serif`, so a browser without
//! the font draws them with its own sans-serif font.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Mutex;

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

/// Families registered with plotters so far in this process.
static REGISTERED: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());

/// A registered font family for chart text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChartFont {
    family: &'static str,
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
                register(family, path)?;
                return Ok(ChartFont { family });
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
    /// `sans-serif`, for viewers that lack the font.
    pub fn generic_svg_family(&self, svg: &str) -> String {
        svg.replace(
            &format!("font-family=\"{}\"", self.family),
            &format!("font-family=\"{}, sans-serif\"", self.family),
        )
    }
}

fn register(family: &'static str, path: &str) -> Result<()> {
    let mut registered = REGISTERED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if registered.contains(family) {
        return Ok(());
    }
    let bytes = std::fs::read(path).with_context(|| format!("failed to read font file {path}"))?;
    // plotters keeps fonts for the life of the process and takes them as
    // `&'static`. Each family is read once, so this leaks one file per family.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    if register_font(family, FontStyle::Normal, bytes).is_err() {
        bail!("font file {path} is not a TrueType or OpenType font");
    }
    registered.insert(family);
    Ok(())
}
