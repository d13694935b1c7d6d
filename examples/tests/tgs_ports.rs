//! The ports of tokio-graceful-shutdown's examples (`examples/tgs_*.rs`, see TGS-PORTS.md) run as
//! a user runs them: their output, in order, and their exit status.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Builds the example (a no-op when it is fresh) and returns its path.
fn example(name: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "-q", "-p", "lifecycle-examples", "--example", name])
        .status()
        .expect("run cargo");
    assert!(status.success(), "building example {name}");
    // <target>/debug/deps/<this test> -> <target>/debug/examples/<name>
    let mut dir = std::env::current_exe().unwrap();
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("examples").join(name)
}

fn lines(text: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(text)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn nested_error_stops_everything_gracefully_and_exits_1() {
    let began = Instant::now();
    let out = Command::new(example("tgs_nested_error"))
        .output()
        .expect("run example");
    let took = began.elapsed();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        lines(&out.stdout),
        [
            "Subsystem1 started.",
            "Subsystem2 started.",
            "Shutting down Subsystem1 ...",
            "Subsystem1 stopped.",
        ]
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let first = stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("Error: registry shut down because service `Subsys1` failed")
            && first.contains("child `Subsys1/run/Subsys2` failed"),
        "{stderr}"
    );
    // 500 ms until the child fails, 500 ms of clean-up (plus start-up of the process).
    assert!(took >= Duration::from_millis(1000), "{took:?}");
}

#[test]
fn partial_shutdown_stops_the_subtree_and_exits_0_on_sigint() {
    let mut child = Command::new(example("tgs_partial_shutdown"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("run example");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = Vec::new();
    while seen.last().map(String::as_str) != Some("Nested subsystem shut down.") {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "ended early: {seen:?}"
        );
        seen.push(line.trim_end().to_owned());
    }
    // Subsys1 keeps running after the partial shutdown, until the signal.
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(child.try_wait().unwrap(), None, "still running");
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    seen.extend(rest.lines().map(str::to_owned));
    assert!(child.wait().unwrap().success());
    let (head, tail) = seen.split_at(6);
    assert_eq!(
        head,
        [
            "Subsys1 started.",
            "Starting nested subsystem ...",
            "Nested subsystem started.",
            "Subsys2 started.",
            "Subsys3 started.",
            "Shutting down nested subsystem ...",
        ]
    );
    // The two nested ones stop in either order, both before their handle resolves.
    let mut stopped = tail[..2].to_vec();
    stopped.sort();
    assert_eq!(stopped, ["Subsys2 stopped.", "Subsys3 stopped."]);
    assert_eq!(
        tail[2..],
        ["Nested subsystem shut down.", "Subsys1 stopped."]
    );
}

/// Starts an example with its stdout piped (no backtraces: panics print one line).
fn spawn(name: &str) -> (std::process::Child, BufReader<std::process::ChildStdout>) {
    let mut child = Command::new(example(name))
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::piped())
        .spawn()
        .expect("run example");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    (child, stdout)
}

/// Reads lines until (and including) `last`; fails if the output ends first.
fn read_until(stdout: &mut impl BufRead, last: &str) -> Vec<String> {
    let mut seen = Vec::new();
    while seen.last().map(String::as_str) != Some(last) {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "ended before {last:?}: {seen:?}"
        );
        seen.push(line.trim_end().to_owned());
    }
    seen
}

fn read_rest(stdout: &mut impl BufRead) -> Vec<String> {
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    rest.lines().map(str::to_owned).collect()
}

fn sigint(child: &std::process::Child) {
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
}

fn sorted(lines: &[String]) -> Vec<String> {
    let mut lines = lines.to_vec();
    lines.sort();
    lines
}

#[test]
fn nested_subsystems_start_as_a_tree_and_all_of_it_stops_on_sigint() {
    let (mut child, mut stdout) = spawn("tgs_nested_subsystems");
    let started = read_until(&mut stdout, "Subsystem2 started.");
    assert_eq!(started, ["Subsystem1 started.", "Subsystem2 started."]);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(child.try_wait().unwrap(), None, "runs until the signal");
    let signalled = Instant::now();
    sigint(&child);
    let rest = read_rest(&mut stdout);
    let status = child.wait().unwrap();
    let took = signalled.elapsed();
    // Exit 0 means a clean stop: both clean-ups (500 ms each) ended within the service's
    // `stop_timeout` of 1 s, so they ran concurrently, as in the original.
    assert!(status.success(), "{status:?}");
    assert_eq!(rest.len(), 4, "{rest:?}");
    // Parent and child get their shutdown at once: either may print first.
    assert_eq!(
        sorted(&rest[..2]),
        [
            "Shutting down Subsystem1 ...",
            "Shutting down Subsystem2 ..."
        ]
    );
    assert_eq!(
        sorted(&rest[2..]),
        ["Subsystem1 stopped.", "Subsystem2 stopped."]
    );
    // The process waited for the whole tree's clean-up.
    assert!(took >= Duration::from_millis(500), "{took:?}");
}

#[test]
fn double_panic_propagates_the_first_contains_the_second_and_exits_1() {
    let began = Instant::now();
    let out = Command::new(example("tgs_double_panic"))
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run example");
    let took = began.elapsed();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        lines(&out.stdout),
        [
            "Subsystem1 started.",
            "Subsystem2 started.",
            "Subsystem3 started.",
            "Shutting down Subsystem3 ...",
            "Subsystem3 shut down successfully.",
            "Shutting down Subsystem1 ...",
        ]
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let error = stderr
        .lines()
        .find(|l| l.starts_with("Error: "))
        .unwrap_or_default();
    assert_eq!(
        error,
        "Error: registry shut down because service `Subsys1` failed in background task: \
         task `run`: child `Subsys1/run/Subsys2` failed",
        "{stderr}"
    );
    // The stop report (printed after the error) has both panics, with their messages.
    let report = stderr
        .lines()
        .skip_while(|l| !l.starts_with("Error: "))
        .nth(1)
        .unwrap_or_default();
    assert!(
        report.contains("child `Subsys1/run/Subsys2` failed: panicked: Subsystem2 panicked!")
            && report.contains("service `Subsys1` failed in stop: panicked: Subsystem1 panicked!"),
        "{stderr}"
    );
    // 500 ms until the panic, 500 ms for Subsys3, 200 ms in Subsys1's clean-up.
    assert!(took >= Duration::from_millis(1200), "{took:?}");
}

#[test]
fn request_shutdown_ends_the_program_when_the_countdown_is_done() {
    let began = Instant::now();
    let out = Command::new(example("tgs_request_shutdown"))
        .output()
        .expect("run example");
    let took = began.elapsed();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        lines(&out.stdout),
        [
            "Shutting down in: 3",
            "Shutting down in: 2",
            "Shutting down in: 1"
        ]
    );
    assert!(took >= Duration::from_secs(3), "{took:?}");
}

#[test]
fn request_shutdown_countdown_is_cancelled_by_sigint() {
    let (mut child, mut stdout) = spawn("tgs_request_shutdown");
    let seen = read_until(&mut stdout, "Shutting down in: 2");
    assert_eq!(seen, ["Shutting down in: 3", "Shutting down in: 2"]);
    sigint(&child);
    assert_eq!(read_rest(&mut stdout), ["Countdown cancelled."]);
    assert!(child.wait().unwrap().success());
}

#[test]
fn subsystem_abort_stops_the_stuck_subtree_and_the_program_ends_by_itself() {
    let began = Instant::now();
    let out = Command::new(example("tgs_subsystem_abort"))
        .output()
        .expect("run example");
    let took = began.elapsed();
    assert!(out.status.success(), "{out:?}");
    let seen = lines(&out.stdout);
    assert_eq!(
        seen[..5],
        [
            "Subsystem1 started.",
            "Subsystem2 started.",
            "Subsystem2 stuck ...",
            "Subsystem3 started.",
            "Subsystem3 stuck ...",
        ],
        "{seen:?}"
    );
    let abort = seen
        .iter()
        .position(|l| l == "Aborting nested subsystem ...")
        .expect("aborts");
    // Both stuck ones print every 100 ms until the abort at 500 ms (at most 6 times each) ...
    let stuck = &seen[5..abort];
    for name in ["Subsystem2", "Subsystem3"] {
        let n = 1 + stuck
            .iter()
            .filter(|l| **l == format!("{name} stuck ..."))
            .count();
        assert!((1..=6).contains(&n), "{name}: {n} in {seen:?}");
    }
    assert!(stuck.iter().all(|l| l.ends_with(" stuck ...")), "{seen:?}");
    // ... and never after it: the whole subtree is gone, grandchild included.
    assert_eq!(
        seen[abort + 1..],
        ["Nested subsystem is finished: true"],
        "{seen:?}"
    );
    // Subsys1's work takes 1 s; then the registry stops by itself.
    assert!(took >= Duration::from_secs(1), "{took:?}");
}
