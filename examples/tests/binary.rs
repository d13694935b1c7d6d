//! The built binary as a user runs it: SIGTERM stops it gracefully and it exits 0 fast; an
//! unopenable database makes it exit non-zero with a clear message.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_forecast-platform");

/// Sends SIGTERM to the child (what an orchestrator does).
fn sigterm(child: &Child) {
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -TERM failed");
}

fn wait_with_deadline(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn sigterm_stops_in_reverse_order_and_exits_zero_within_2s() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["--port", "0", "--seed-days", "120", "--data-dir"])
        .arg(dir.path())
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    let started = Instant::now();
    let addr = loop {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "exited early:\n{seen}"
        );
        seen.push_str(&line);
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no address:\n{seen}"
        );
    };
    // It answers.
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    std::io::Write::write_all(
        &mut conn,
        b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    let sent = Instant::now();
    sigterm(&child);
    let status = wait_with_deadline(&mut child, Duration::from_secs(2));
    let latency = sent.elapsed();
    let Some(status) = status else {
        let _ = child.kill();
        panic!("still running 2 s after SIGTERM");
    };
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    seen.push_str(&rest);
    assert_eq!(status.code(), Some(0), "{seen}");
    eprintln!("exit latency after SIGTERM: {latency:?}");
    assert!(latency < Duration::from_secs(2));
    // Started in dependency order, stopped in reverse.
    let first = |needle: &str| {
        seen.find(needle)
            .unwrap_or_else(|| panic!("no `{needle}` in:\n{seen}"))
    };
    assert!(first("started service=Database") < first("started service=HttpApi"));
    assert!(seen.contains("critical_path=Database -> "), "{seen}");
    let order = seen
        .lines()
        .find_map(|l| l.split("all services stopped").nth(1))
        .unwrap_or_else(|| panic!("no stop summary:\n{seen}"));
    assert!(
        order.contains("order=HttpApi -> ") && order.trim_end().ends_with("Database"),
        "{order}"
    );
}

#[test]
fn unopenable_database_exits_non_zero_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, b"").unwrap();
    let out = Command::new(BIN)
        .args(["--port", "0", "--data-dir"])
        .arg(file.join("data"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let first = stderr.lines().next().unwrap_or_default();
    assert!(first.starts_with("error: "), "{stderr}");
    assert!(
        first.contains("`Database`") && first.contains("cannot open database"),
        "{stderr}"
    );
}

#[test]
fn bad_arguments_exit_2_and_help_exits_0() {
    let out = Command::new(BIN).arg("--port=http").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("invalid value 'http' for '--port"),
        "{stderr}"
    );
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("Usage: forecast-platform"), "{help}");
    assert!(
        help.contains("[env: FORECAST_HOST="),
        "every option reads the environment: {help}"
    );
}

/// SIGTERM while start-up is still running (seeding 100 years of history) interrupts it: the
/// library's run loop installs its handlers before start-up, the start is cancelled and
/// rolled back, and the process exits non-zero (start-up did not complete) well before the
/// seeding would have finished.
#[test]
fn sigterm_during_start_up_interrupts_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["--port", "0", "--seed-days", "36500", "--data-dir"])
        .arg(dir.path())
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "exited early:\n{seen}"
        );
        seen.push_str(&line);
        if line.contains("starting") {
            break;
        }
    }
    std::thread::sleep(Duration::from_millis(100));
    let sent = Instant::now();
    sigterm(&child);
    let status = wait_with_deadline(&mut child, Duration::from_secs(3));
    let latency = sent.elapsed();
    let Some(status) = status else {
        let _ = child.kill();
        panic!("still running 3 s after SIGTERM during start-up:\n{seen}");
    };
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    seen.push_str(&rest);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    eprintln!("exit {status:?} {latency:?} after SIGTERM during start-up; stderr: {stderr}");
    assert!(
        !seen.contains("listening on"),
        "start-up completed:\n{seen}"
    );
    assert_eq!(status.code(), Some(1), "{seen}\n{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
}

/// `--log-format json`: one JSON object per line; and text logs written to a pipe carry no
/// ANSI colour codes even without NO_COLOR.
#[test]
fn json_logs_and_no_colours_off_a_terminal() {
    for (format, check) in [("json", true), ("text", false)] {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(BIN)
            .args([
                "--port",
                "0",
                "--seed-days",
                "10",
                "--host",
                "127.0.0.1",
                "--log-format",
                format,
                "--data-dir",
            ])
            .arg(dir.path())
            .env("RUST_LOG", "info")
            .env_remove("NO_COLOR")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            assert!(
                stdout.read_line(&mut line).unwrap() > 0,
                "exited early: {lines:?}"
            );
            if line.contains("listening on http://127.0.0.1:") {
                break;
            }
            lines.push(line);
        }
        sigterm(&child);
        let status = wait_with_deadline(&mut child, Duration::from_secs(3)).unwrap();
        let mut rest = String::new();
        stdout.read_to_string(&mut rest).unwrap();
        lines.extend(rest.lines().map(str::to_owned));
        assert_eq!(status.code(), Some(0), "{lines:?}");
        for line in lines.iter().filter(|l| !l.trim().is_empty()) {
            assert!(!line.contains('\u{1b}'), "ANSI code in {line:?}");
            if check {
                let v: serde_json::Value =
                    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
                assert!(v["level"].is_string() && v["fields"].is_object(), "{v}");
            }
        }
    }
}

/// A stop that is not clean exits 1: a refresh in flight (slowed to 1.5 s per step) wants its
/// 2 s grace, but the registry's stop is bounded to 300 ms (`--shutdown-timeout-ms`), so its
/// task is aborted and the report is not clean.
#[test]
fn a_stop_that_had_to_abort_tasks_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        let mut child = Command::new(BIN)
            .args([
                "--port",
                "0",
                "--seed-days",
                "120",
                "--shutdown-timeout-ms",
                "300",
            ])
            .args(extra)
            .arg("--data-dir")
            .arg(dir.path())
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut seen = String::new();
        let addr = loop {
            let mut line = String::new();
            assert!(
                stdout.read_line(&mut line).unwrap() > 0,
                "exited early:\n{seen}"
            );
            seen.push_str(&line);
            if let Some(rest) = line.split("listening on http://").nth(1) {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        (child, stdout, addr)
    };
    // First run builds the views quickly; a clean stop exits 0.
    let (mut child, _, _) = run(&[]);
    sigterm(&child);
    assert_eq!(
        wait_with_deadline(&mut child, Duration::from_secs(3))
            .unwrap()
            .code(),
        Some(0)
    );
    // Second run: slow refresh in flight at SIGTERM.
    let (mut child, mut stdout, addr) = run(&["--refresh-throttle-ms", "1500"]);
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    std::io::Write::write_all(
        &mut conn,
        b"POST /views/refresh HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 202"), "{response}");
    std::thread::sleep(Duration::from_millis(200));
    sigterm(&child);
    let status = wait_with_deadline(&mut child, Duration::from_secs(3));
    let Some(status) = status else {
        let _ = child.kill();
        panic!("still running 3 s after SIGTERM");
    };
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(1), "{rest}\n{stderr}");
    // Either the report came back not clean ("stopped with problems") or the run loop
    // returned it as an error ("not cleanly"), depending on the lifecycle-core version.
    assert!(
        stderr.starts_with("error: ") && stderr.contains("AutomatedRefresh"),
        "{stderr}"
    );
}
