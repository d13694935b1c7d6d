//! Small SVG helpers shared by the two pictures.

use std::time::Duration;

/// Escapes text for XML content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0.
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Width of a label in the monospace font the pictures use (12 px: about 7.2 px a char).
pub(crate) fn text_width(text: &str) -> f64 {
    text.chars().count() as f64 * CHAR_WIDTH
}

pub(crate) const CHAR_WIDTH: f64 = 7.2;
pub(crate) const FONT: &str =
    "font-family=\"ui-monospace,SFMono-Regular,Menlo,Consolas,monospace\" font-size=\"12\"";

/// A duration for an axis or a tooltip: `0`, `750µs`, `12ms`, `1.5s`.
pub(crate) fn human(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns == 0 {
        "0".to_owned()
    } else if ns < 1_000_000 {
        format!("{}µs", trim(ns as f64 / 1e3))
    } else if ns < 1_000_000_000 {
        format!("{}ms", trim(ns as f64 / 1e6))
    } else {
        format!("{}s", trim(ns as f64 / 1e9))
    }
}

fn trim(value: f64) -> String {
    let s = format!("{value:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A round tick step (1, 2 or 5 times a power of ten nanoseconds) giving at most `max_ticks`
/// intervals over `span`.
pub(crate) fn tick_step(span: Duration, max_ticks: u32) -> Duration {
    let span = span.as_nanos().max(1);
    let mut step: u128 = 1;
    loop {
        for m in [1u128, 2, 5] {
            let candidate = step.saturating_mul(m);
            if span.div_ceil(candidate) <= u128::from(max_ticks.max(1)) {
                return Duration::from_nanos(u64::try_from(candidate).unwrap_or(u64::MAX));
            }
        }
        step = step.saturating_mul(10);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
    }

    #[test]
    fn human_durations() {
        assert_eq!(human(Duration::ZERO), "0");
        assert_eq!(human(Duration::from_micros(750)), "750µs");
        assert_eq!(human(Duration::from_millis(12)), "12ms");
        assert_eq!(human(Duration::from_millis(1500)), "1.5s");
    }

    #[test]
    fn ticks_are_round_and_few() {
        assert_eq!(
            tick_step(Duration::from_millis(1000), 10),
            Duration::from_millis(100)
        );
        assert_eq!(
            tick_step(Duration::from_millis(1300), 10),
            Duration::from_millis(200)
        );
        assert_eq!(
            tick_step(Duration::from_secs(4), 10),
            Duration::from_millis(500)
        );
        assert_eq!(tick_step(Duration::ZERO, 10), Duration::from_nanos(1));
    }
}
