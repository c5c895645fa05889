//! The weekly report's chart: one PNG of the week, a group of three bars
//! a day (opened, resolved, past a target), for the people who would
//! rather look than read.
//!
//! Drawn in memory with plotters' bitmap backend and encoded with `png`.
//! Text goes through ab_glyph with a TrueType font read at run time (the
//! desk's `report.font`, Debian's DejaVu Sans by default); without a
//! readable font the chart is drawn without its words, never not at all.
//! The figures are in the mail's text either way.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use plotters::prelude::*;

/// The chart's size in pixels.
pub const WIDTH: u32 = 640;
pub const HEIGHT: u32 = 320;
/// Largest font file read; a bigger one is not a font we want.
const MAX_FONT_BYTES: u64 = 32 << 20;

/// The bars' colours: opened, resolved, past a target.
pub const COLOURS: [RGBColor; 3] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
];

/// One day of the week.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Day {
    /// Under the bars: "lu 30".
    pub label: String,
    pub opened: usize,
    pub resolved: usize,
    pub breached: usize,
}

impl Day {
    fn values(&self) -> [usize; 3] {
        [self.opened, self.resolved, self.breached]
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("drawing the chart: {0}")]
    Draw(String),
    #[error("encoding the chart: {0}")]
    Encode(#[from] png::EncodingError),
}

/// The font family registered for the font file at `path`, reading and
/// registering it the first time; `None` when it cannot be read or is no
/// font (said once per path). Each distinct path is read once for the
/// process's life (plotters keeps fonts as `'static`).
pub fn font(path: &Path) -> Option<String> {
    static FONTS: Mutex<Option<HashMap<PathBuf, Option<String>>>> = Mutex::new(None);
    let mut fonts = FONTS.lock().unwrap_or_else(|p| p.into_inner());
    let fonts = fonts.get_or_insert_with(HashMap::new);
    if let Some(known) = fonts.get(path) {
        return known.clone();
    }
    let family = read_font(path)
        .map_err(|why| {
            tracing::warn!(font = %path.display(), %why, "the weekly chart is drawn without words")
        })
        .ok();
    fonts.insert(path.to_path_buf(), family.clone());
    family
}

fn read_font(path: &Path) -> Result<String, String> {
    let len = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    if len > MAX_FONT_BYTES {
        return Err(format!("{len} bytes, more than {MAX_FONT_BYTES}"));
    }
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let family = format!("hilo:{}", path.display());
    plotters::style::register_font(
        &family,
        FontStyle::Normal,
        Box::leak(bytes.into_boxed_slice()),
    )
    .map_err(|_| "not a TrueType or OpenType font".to_string())?;
    Ok(family)
}

/// The smallest of 1, 2, 5 × 10ⁿ at or above `v` (at least 1): the top
/// of the scale.
fn nice(v: usize) -> usize {
    let mut step = 1usize;
    loop {
        for m in [1, 2, 5] {
            if let Some(top) = step.checked_mul(m) {
                if top >= v {
                    return top;
                }
            } else {
                return usize::MAX;
            }
        }
        step = step.saturating_mul(10);
    }
}

/// Where things are drawn: the plot's box and each bar's.
struct Layout {
    left: i32,
    right: i32,
    top: i32,
    bottom: i32,
    top_value: usize,
}

const LEFT: i32 = 44;
const RIGHT: i32 = 12;
const TOP: i32 = 40;
const BOTTOM: i32 = 34;

impl Layout {
    fn new(days: &[Day]) -> Layout {
        let most = days.iter().flat_map(Day::values).max().unwrap_or(0);
        Layout {
            left: LEFT,
            right: WIDTH as i32 - RIGHT,
            top: TOP,
            bottom: HEIGHT as i32 - BOTTOM,
            top_value: nice(most.max(1)),
        }
    }

    fn group_width(&self, n: usize) -> i32 {
        (self.right - self.left) / n.max(1) as i32
    }

    /// Bar `k` (0 opened, 1 resolved, 2 past a target) of day `i` of `n`:
    /// its left and right x.
    fn bar_x(&self, n: usize, i: usize, k: usize) -> (i32, i32) {
        let g = self.group_width(n);
        let w = (g / 4).max(1);
        let x0 = self.left + g * i as i32 + (g - 3 * w) / 2 + w * k as i32;
        (x0, x0 + w - 1)
    }

    /// The y of value `v` (the top of its bar).
    fn y(&self, v: usize) -> i32 {
        let h = (self.bottom - self.top) as f64;
        let share = v.min(self.top_value) as f64 / self.top_value as f64;
        self.bottom - (share * h).round() as i32
    }
}

/// The week's PNG: a bar for each of a day's figures; with `font` (a
/// family from [`font`]) the days, the scale, the legend and the figures
/// above the bars are written too.
pub fn week_png(
    days: &[Day],
    legend: &[String; 3],
    font: Option<&str>,
) -> Result<Vec<u8>, ChartError> {
    let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    draw(&mut rgb, days, legend, font).map_err(|e| ChartError::Draw(e.to_string()))?;
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, WIDTH, HEIGHT);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header()?;
        w.write_image_data(&rgb)?;
    }
    Ok(out)
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

fn draw(rgb: &mut [u8], days: &[Day], legend: &[String; 3], font: Option<&str>) -> DrawResult {
    let root = BitMapBackend::with_buffer(rgb, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let l = Layout::new(days);
    let grey = RGBColor(0xdd, 0xdd, 0xdd);
    // The scale: lines at 0, the half and the top.
    for v in [0, l.top_value / 2, l.top_value] {
        let y = l.y(v);
        root.draw(&PathElement::new(vec![(l.left, y), (l.right, y)], grey))?;
        if let Some(f) = font {
            let style = TextStyle::from((f, 12).into_font()).color(&BLACK);
            root.draw(&Text::new(v.to_string(), (6, y - 7), style))?;
        }
    }
    for (i, d) in days.iter().enumerate() {
        for (k, v) in d.values().into_iter().enumerate() {
            let (x0, x1) = l.bar_x(days.len(), i, k);
            if v > 0 {
                root.draw(&Rectangle::new(
                    [(x0, l.y(v)), (x1, l.bottom)],
                    COLOURS[k].filled(),
                ))?;
            }
            if let (Some(f), true) = (font, v > 0) {
                let style = TextStyle::from((f, 11).into_font()).color(&BLACK);
                root.draw(&Text::new(v.to_string(), (x0, l.y(v) - 13), style))?;
            }
        }
        if let Some(f) = font {
            let g = l.group_width(days.len());
            let x = l.left + g * i as i32 + g / 2 - 14;
            let style = TextStyle::from((f, 13).into_font()).color(&BLACK);
            root.draw(&Text::new(d.label.clone(), (x, l.bottom + 8), style))?;
        }
    }
    // The legend, top left: a square of each colour and its word.
    let mut x = l.left;
    for (k, word) in legend.iter().enumerate() {
        root.draw(&Rectangle::new(
            [(x, 12), (x + 11, 23)],
            COLOURS[k].filled(),
        ))?;
        x += 16;
        if let Some(f) = font {
            let style = TextStyle::from((f, 13).into_font()).color(&BLACK);
            root.draw(&Text::new(word.clone(), (x, 11), style))?;
            x += 12 + 7 * word.chars().count().min(40) as i32;
        }
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(png_bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        let dec = png::Decoder::new(png_bytes);
        let mut r = dec.read_info().unwrap();
        let mut buf = vec![0; r.output_buffer_size()];
        let info = r.next_frame(&mut buf).unwrap();
        assert_eq!(info.color_type, png::ColorType::Rgb);
        buf.truncate(info.buffer_size());
        (info.width, info.height, buf)
    }

    fn week() -> Vec<Day> {
        ["lu", "ma", "mi", "ju", "vi", "sá", "do"]
            .iter()
            .enumerate()
            .map(|(i, d)| Day {
                label: format!("{d} {}", 30 + i),
                opened: [4, 2, 0, 1, 3, 0, 0][i],
                resolved: [1, 2, 1, 0, 2, 0, 0][i],
                breached: [0, 1, 0, 0, 0, 0, 0][i],
            })
            .collect()
    }

    fn legend() -> [String; 3] {
        [
            "abiertas".into(),
            "resueltas".into(),
            "fuera de plazo".into(),
        ]
    }

    /// How many pixels of column `x`, inside the plot, have colour `c`.
    fn column(rgb: &[u8], x: i32, c: RGBColor) -> i32 {
        (TOP as usize..=(HEIGHT as i32 - BOTTOM) as usize)
            .filter(|y| {
                let p = (y * WIDTH as usize + x as usize) * 3;
                rgb[p..p + 3] == [c.0, c.1, c.2]
            })
            .count() as i32
    }

    #[test]
    fn each_bar_is_as_tall_as_its_figure() {
        let days = week();
        let (w, h, rgb) = decode(&week_png(&days, &legend(), None).unwrap());
        assert_eq!((w, h), (WIDTH, HEIGHT));
        let l = Layout::new(&days);
        assert_eq!(l.top_value, 5, "4 rounds up to 5");
        let plot = l.bottom - l.top;
        for (i, d) in days.iter().enumerate() {
            for (k, v) in d.values().into_iter().enumerate() {
                let (x0, x1) = l.bar_x(days.len(), i, k);
                // The bar fills from its top down to the baseline, which stays
                // visible beneath it.
                let want = if v == 0 { 0 } else { l.bottom - l.y(v) };
                let got = column(&rgb, (x0 + x1) / 2, COLOURS[k]);
                assert_eq!(
                    got, want,
                    "day {i} bar {k} = {v} of {}: {plot} px tall plot",
                    l.top_value
                );
            }
        }
    }

    #[test]
    fn an_empty_week_is_a_chart_of_nothing_and_no_font_is_no_words() {
        let days: Vec<Day> = week()
            .into_iter()
            .map(|d| Day {
                opened: 0,
                resolved: 0,
                breached: 0,
                ..d
            })
            .collect();
        let (_, _, rgb) = decode(&week_png(&days, &legend(), None).unwrap());
        let l = Layout::new(&days);
        assert_eq!(l.top_value, 1);
        for (k, colour) in COLOURS.iter().enumerate() {
            let (x0, _) = l.bar_x(7, 3, k);
            assert_eq!(column(&rgb, x0, *colour), 0);
        }
        assert!(font(Path::new("/nonexistent/font.ttf")).is_none());
        let dir = tempfile::tempdir().unwrap();
        let not_a_font = dir.path().join("x.ttf");
        std::fs::write(&not_a_font, b"not a font at all").unwrap();
        assert!(font(&not_a_font).is_none());
    }

    #[test]
    fn with_a_font_the_words_are_drawn() {
        let path = Path::new("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf");
        let Some(f) = font(path) else {
            // scripts/install-deps.sh installs fonts-dejavu-core; a machine
            // without it has nothing to show here.
            assert!(!path.exists(), "DejaVu Sans is there but did not load");
            return;
        };
        let days = week();
        let bare = week_png(&days, &legend(), None).unwrap();
        let worded = week_png(&days, &legend(), Some(&f)).unwrap();
        let (_, _, a) = decode(&bare);
        let (_, _, b) = decode(&worded);
        let black_or_grey = |rgb: &[u8]| {
            rgb.chunks(3)
                .filter(|p| p[0] == p[1] && p[1] == p[2] && p[0] < 0xc0)
                .count()
        };
        assert_eq!(black_or_grey(&a), 0, "no words without a font");
        assert!(black_or_grey(&b) > 500, "the words are dark pixels");
    }

    #[test]
    fn the_scale_tops_at_one_two_or_five() {
        let got: Vec<usize> = [0, 1, 2, 3, 6, 11, 20, 21, 99, 501]
            .iter()
            .map(|&v| nice(v))
            .collect();
        assert_eq!(got, [1, 1, 2, 5, 10, 20, 20, 50, 100, 1000]);
        assert_eq!(nice(usize::MAX), usize::MAX);
    }
}
