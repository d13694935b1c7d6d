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
