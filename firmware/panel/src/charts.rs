//! The dashboard's charts as server-rendered SVG: stacked bars with a title, a legend and
//! a tooltip per bar (read by screen readers too). No script, no inline style: colours are
//! SVG presentation attributes, which the panel's CSP allows.

use std::fmt::Write as _;

/// The colours of the stacks, in order (sent, held, refused).
pub const COLOURS: [&str; 3] = ["#1a7f37", "#bf8700", "#b3261e"];

const WIDTH: u32 = 720;
const HEIGHT: u32 = 200;
const LEFT: u32 = 40;
const BOTTOM: u32 = 24;
const TOP: u32 = 24;

/// `text` escaped for XML.
pub fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '&' => "&amp;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&#39;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// A stacked bar chart: one bar per label, `stacks[i]` its three parts; every
/// `label_every`-th label is written under its bar.
pub fn stacked_bars(
    id: &str,
    title: &str,
    labels: &[String],
    stacks: &[[u64; 3]],
    legend: [&str; 3],
    label_every: usize,
) -> String {
    let n = labels.len().min(stacks.len()).max(1);
    let max = stacks
        .iter()
        .map(|s| s.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let plot_w = WIDTH - LEFT - 8;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w as f64 / n as f64;
    let bar = (slot * 0.7).max(1.0);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg id="{id}" class="chart" role="img" aria-labelledby="{id}-title" viewBox="0 0 {WIDTH} {HEIGHT}" xmlns="http://www.w3.org/2000/svg"><title id="{id}-title">{}</title>"#,
        escape(title)
    );
    // The axis and its top value.
    let _ = write!(
        svg,
        r##"<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{}" stroke="#8c959f"/><line x1="{LEFT}" y1="{0}" x2="{}" y2="{0}" stroke="#8c959f"/><text x="{}" y="{}" font-size="11" text-anchor="end" fill="#57606a">{max}</text><text x="{}" y="{}" font-size="11" text-anchor="end" fill="#57606a">0</text>"##,
        TOP + plot_h,
        WIDTH - 8,
        LEFT - 4,
        TOP + 4,
        LEFT - 4,
        TOP + plot_h,
    );
    for (i, (label, parts)) in labels.iter().zip(stacks).enumerate() {
        let x = LEFT as f64 + slot * i as f64 + (slot - bar) / 2.0;
        let mut y = (TOP + plot_h) as f64;
        let total: u64 = parts.iter().sum();
        let tip = format!(
            "{}: {} {}, {} {}, {} {}",
            label, legend[0], parts[0], legend[1], parts[1], legend[2], parts[2]
        );
        let _ = write!(svg, "<g><title>{}</title>", escape(&tip));
        for (part, colour) in parts.iter().zip(COLOURS) {
            if *part == 0 {
                continue;
            }
            let h = *part as f64 / max as f64 * plot_h as f64;
            y -= h;
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{h:.1}" fill="{colour}"/>"#
            );
        }
        if total == 0 {
            // An empty slot still shows its tooltip.
            let _ = write!(
                svg,
                r##"<rect x="{x:.1}" y="{:.1}" width="{bar:.1}" height="1" fill="#d0d7de"/>"##,
                (TOP + plot_h) as f64 - 1.0
            );
        }
        svg.push_str("</g>");
        if label_every > 0 && i % label_every == 0 {
            let _ = write!(
                svg,
                r##"<text x="{:.1}" y="{}" font-size="10" text-anchor="middle" fill="#57606a">{}</text>"##,
                x + bar / 2.0,
                HEIGHT - 8,
                escape(label)
            );
        }
    }
    // The legend.
    let mut lx = LEFT + 4;
    for (name, colour) in legend.iter().zip(COLOURS) {
        let _ = write!(
            svg,
            r##"<rect x="{lx}" y="6" width="10" height="10" fill="{colour}"/><text x="{}" y="15" font-size="11" fill="#1b1f24">{}</text>"##,
            lx + 14,
            escape(name)
        );
        lx += 14 + 12 * name.chars().count() as u32 + 16;
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_and_text_is_escaped() {
        let labels: Vec<String> = vec!["09".into(), "10".into(), "<b>".into()];
        let svg = stacked_bars(
            "hours",
            "送信 & 保留",
            &labels,
            &[[4, 0, 0], [1, 1, 2], [0, 0, 0]],
            ["送信", "保留", "拒否"],
            1,
        );
        assert!(svg.starts_with(r#"<svg id="hours""#) && svg.ends_with("</svg>"));
        assert!(svg.contains("送信 &amp; 保留"));
        assert!(svg.contains("&lt;b&gt;") && !svg.contains("<b>"));
        // The tallest bar (4) fills the plot height: 200 - 24 - 24 = 152.
        assert!(svg.contains(r##"height="152.0" fill="#1a7f37""##), "{svg}");
        assert!(svg.contains("10: 送信 1, 保留 1, 拒否 2"));
        assert!(!svg.contains("style="), "no inline style (CSP)");
        assert!(!svg.contains("<script"));
        // Nothing at all still draws an axis.
        let empty = stacked_bars("d", "t", &[], &[], ["a", "b", "c"], 1);
        assert!(empty.contains("<line"));
    }
}
