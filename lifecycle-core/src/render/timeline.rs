//! The start-up timeline as SVG, in the manner of `systemd-analyze plot`: one row per service
//! in the order it became Running; a light bar while it waited for its dependencies (from
//! the beginning of start-up to the start of its own `on_start`), a solid bar while its own
//! `on_start` ran; the critical path drawn in a distinct colour; a time axis on top.

use std::fmt::Write as _;
use std::time::Duration;

use super::svg::{CHAR_WIDTH, FONT, escape, human, tick_step};
use crate::StartupReport;

/// Left margin, before time zero.
pub(crate) const LEFT: f64 = 16.0;
/// Width of the time axis, zero to the end of start-up.
pub(crate) const PLOT_WIDTH: f64 = 800.0;
/// Top of the first row (below the axis).
pub(crate) const TOP: f64 = 40.0;
/// Height of one row.
pub(crate) const ROW: f64 = 22.0;
const BAR: f64 = 14.0;
/// A bar shorter than this is drawn this wide, so an instant start stays visible.
pub(crate) const MIN_BAR: f64 = 1.0;

fn nanos(d: Duration) -> f64 {
    d.as_nanos() as f64
}

impl StartupReport {
    /// The start-up timeline as a standalone SVG document (like `systemd-analyze plot`).
    ///
    /// One row per service, in the order it became Running. Each row is a `<g
    /// class="service">` (with `data-name`, `data-begin-ns`, `data-end-ns`) holding a
    /// `rect.wait` from the beginning of start-up to the start of the service's own
    /// `on_start` (waiting on its dependencies) and a `rect.hook` for `on_start` itself;
    /// services on the [critical path](StartupReport::critical_path) also carry the class
    /// `critical` and are drawn in red. A time axis runs along the top. No script, no external
    /// resource: embed it in a page as is or save it as a `.svg` file.
    ///
    /// ```
    /// use lifecycle_core::{DynRegistry, Service, BoxError, Dependency};
    /// use std::sync::Arc;
    /// use std::time::Duration;
    ///
    /// struct Db;
    /// impl Service for Db {
    ///     const NAME: &'static str = "Db";
    ///     async fn on_start(&self) -> Result<(), BoxError> {
    ///         tokio::time::sleep(Duration::from_millis(300)).await;
    ///         Ok(())
    ///     }
    /// }
    /// struct Api;
    /// impl Service for Api {
    ///     const NAME: &'static str = "Api";
    ///     const HAS_START_HOOK: bool = false;
    ///     fn dependencies() -> Vec<Dependency> { vec![Dependency::of::<Db>()] }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut registry = DynRegistry::new();
    /// registry.add(Arc::new(Db));
    /// registry.add(Arc::new(Api));
    /// let running = registry.build()?.start().await?;
    /// let svg = running.startup_report().to_svg();
    /// assert!(svg.starts_with("<svg"));
    /// assert_eq!(svg.matches("data-begin-ns=").count(), 2); // one bar per service
    /// running.stop().await;
    /// # Ok(()) }
    /// ```
    pub fn to_svg(&self) -> String {
        let end = self
            .services
            .iter()
            .map(|s| s.began_after.saturating_add(s.duration))
            .max()
            .unwrap_or_default()
            .max(self.total);
        let span = nanos(end).max(1.0);
        let scale = PLOT_WIDTH / span;
        let label_room = self
            .services
            .iter()
            .map(|s| (s.service.chars().count() + 12) as f64 * CHAR_WIDTH)
            .fold(0.0, f64::max);
        let width = LEFT + PLOT_WIDTH + label_room + 16.0;
        let height = TOP + self.services.len() as f64 * ROW + 16.0;

        let mut out = String::new();
        let _ = writeln!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" class="lifecycle-timeline" width="{width:.1}" height="{height:.1}" viewBox="0 0 {width:.1} {height:.1}" data-total-ns="{total}" data-scale="{scale}" {FONT}>"#,
            total = self.total.as_nanos(),
        );
        let _ = writeln!(
            out,
            "<title>Start-up: {} services in {}; critical path {}</title>",
            self.services.len(),
            human(self.total),
            escape(&self.critical_path.join(" → ")),
        );
        out.push_str("<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");

        // The axis: round ticks, a grid line each, labels on top.
        let step = tick_step(end, 10);
        out.push_str("<g class=\"axis\" stroke=\"#e5e7eb\" fill=\"#4b5563\">\n");
        let mut t = Duration::ZERO;
        loop {
            let x = LEFT + nanos(t) * scale;
            let _ = writeln!(
                out,
                r#"<line class="tick" data-ns="{ns}" x1="{x:.2}" y1="{y1:.1}" x2="{x:.2}" y2="{y2:.1}"/><text x="{x:.2}" y="{ty:.1}" text-anchor="middle" stroke="none">{label}</text>"#,
                ns = t.as_nanos(),
                y1 = TOP - 8.0,
                y2 = height - 16.0,
                ty = TOP - 14.0,
                label = human(t),
            );
            match t.checked_add(step) {
                Some(next) if next <= end => t = next,
                _ => break,
            }
        }
        out.push_str("</g>\n<g class=\"services\">\n");

        for (row, s) in self.services.iter().enumerate() {
            let critical = self.critical_path.iter().any(|c| *c == *s.service);
            let name = escape(&s.service);
            let y = TOP + row as f64 * ROW + (ROW - BAR) / 2.0;
            let begin = s.began_after;
            let done = begin.saturating_add(s.duration);
            let _ = write!(
                out,
                r#"<g class="service{cls}" data-name="{name}" data-begin-ns="{b}" data-end-ns="{e}"><title>{name}: waited {wait} for its dependencies, on_start took {hook}, Running at {at}{crit}</title>"#,
                cls = if critical { " critical" } else { "" },
                b = begin.as_nanos(),
                e = done.as_nanos(),
                wait = human(begin),
                hook = human(s.duration),
                at = human(done),
                crit = if critical { " (critical path)" } else { "" },
            );
            if !begin.is_zero() {
                let _ = write!(
                    out,
                    r##"<rect class="wait" x="{LEFT:.2}" y="{y:.2}" width="{w:.2}" height="{BAR}" fill="{fill}"/>"##,
                    w = nanos(begin) * scale,
                    fill = if critical { "#fecaca" } else { "#dbeafe" },
                );
            }
            let hook_x = LEFT + nanos(begin) * scale;
            let hook_w = (nanos(s.duration) * scale).max(MIN_BAR);
            let _ = write!(
                out,
                r##"<rect class="hook" x="{hook_x:.2}" y="{y:.2}" width="{hook_w:.2}" height="{BAR}" fill="{fill}"/>"##,
                fill = if critical { "#dc2626" } else { "#2563eb" },
            );
            let _ = writeln!(
                out,
                r##"<text x="{tx:.2}" y="{ty:.2}" fill="#111827">{name} {d}</text></g>"##,
                tx = hook_x + hook_w + 4.0,
                ty = y + BAR - 3.0,
                d = human(s.duration),
            );
        }
        out.push_str("</g>\n</svg>\n");
        out
    }
}
