//! The lifecycle page in a real browser: headless Chromium loads it from a running platform;
//! the rendered DOM has one start-up bar and one graph box per service, and a screenshot is
//! not blank.
//!
//! Needs Debian's `chromium` (or `CHROMIUM=/path/to/chrome`), so it is ignored by a plain
//! `cargo test`. Run it with:
//!
//! ```sh
//! cargo test -p lifecycle-examples --test lifecycle_page_browser -- --ignored
//! ```
//!
//! `LIFECYCLE_PAGE_SCREENSHOT=page.png` keeps the screenshot.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use forecast_platform::{ops_routes, platform};

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("chromium"))
}

/// Runs headless Chromium with `args` and `url`, bounded; returns stdout.
fn run_chromium(args: &[&str], url: &str, profile: &Path) -> String {
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium (apt-get install chromium, or set CHROMIUM)");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish in 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "chromium failed: {}",
        output.status
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Counts `<g class="service ...">` elements inside the first `<svg class="{svg_class}">`.
fn service_groups(dom: &str, svg_class: &str) -> usize {
    let start = dom
        .find(&format!("class=\"{svg_class}\""))
        .unwrap_or_else(|| panic!("no {svg_class} in the rendered DOM"));
    let end = start + dom[start..].find("</svg>").expect("closed svg");
    // `class="service"` or `class="service critical"`, not the `services` container.
    dom[start..end]
        .match_indices("<g class=\"service")
        .filter(|(at, m)| matches!(dom[start + at + m.len()..].chars().next(), Some('"' | ' ')))
        .count()
}

#[test]
#[ignore = "needs chromium: cargo test -p lifecycle-examples --test lifecycle_page_browser -- --ignored"]
fn lifecycle_page_renders_in_chromium() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let running = runtime.block_on(async {
        let built = platform::build(common::config(dir.path()), ops_routes::registry_options())
            .expect("build");
        platform::start(built).await.expect("start")
    });
    let url = format!(
        "http://{}{}",
        running.api.local_addr().expect("bound"),
        ops_routes::PAGE
    );
    let services = running.handle().states().len();
    let profile = tempfile::tempdir().unwrap();

    // The DOM as the browser parsed it.
    let dom = run_chromium(&["--dump-dom"], &url, profile.path());
    assert_eq!(
        service_groups(&dom, "lifecycle-timeline"),
        services,
        "one bar per service"
    );
    assert_eq!(
        service_groups(&dom, "lifecycle-graph"),
        services,
        "one box per service"
    );
    assert_eq!(dom.matches("<tr class=\"service\"").count(), services);

    // A screenshot: decoded, not blank (many non-white pixels, several colours).
    let shot = profile.path().join("page.png");
    run_chromium(
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1400,1400",
        ],
        &url,
        profile.path(),
    );
    if let Some(keep) = std::env::var_os("LIFECYCLE_PAGE_SCREENSHOT") {
        std::fs::copy(&shot, keep).expect("copy the screenshot");
    }
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&shot).expect("screenshot written"),
    ));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut pixels).expect("a frame");
    let channels = info.color_type.samples();
    let pixels = &pixels[..info.buffer_size()];
    let mut colours = std::collections::HashSet::new();
    let mut non_white = 0usize;
    let total = pixels.len() / channels;
    for px in pixels.chunks(channels) {
        if px[..3] != [255, 255, 255] {
            non_white += 1;
        }
        colours.insert([px[0], px[1], px[2]]);
    }
    assert!(
        non_white * 50 > total,
        "screenshot nearly blank: {non_white} of {total} pixels not white"
    );
    assert!(colours.len() > 8, "only {} colours", colours.len());

    runtime.block_on(running.stop());
}
