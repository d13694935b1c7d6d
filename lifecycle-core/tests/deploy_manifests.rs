//! `examples/deploy/`: the Kubernetes manifests and the systemd unit agree with the defaults
//! in code (shutdown timeout, drain delay, health timeout, probe paths).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use lifecycle_core::RegistryOptions;
use lifecycle_core::health::DEFAULT_HEALTH_TIMEOUT;
use lifecycle_core::ops::{KUBERNETES_DRAIN_DELAY, termination_grace_period};
use serde_yaml::Value;

fn deploy_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/deploy")
}

fn read(path: &str) -> String {
    let path = deploy_dir().join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn yaml(path: &str) -> Value {
    serde_yaml::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn at<'a>(value: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(value, |v, key| {
        let next = match key.parse::<usize>() {
            Ok(i) => v.get(i),
            Err(_) => v.get(*key),
        };
        next.unwrap_or_else(|| panic!("no `{key}` in {path:?}"))
    })
}

fn int(value: &Value, path: &[&str]) -> u64 {
    at(value, path)
        .as_u64()
        .unwrap_or_else(|| panic!("{path:?} is not a whole number"))
}

fn grace() -> u64 {
    termination_grace_period(KUBERNETES_DRAIN_DELAY, &RegistryOptions::default()).as_secs()
}

#[test]
fn the_grace_period_covers_drain_stop_and_exit() {
    let options = RegistryOptions::default();
    assert_eq!(options.get_shutdown_timeout(), Duration::from_secs(25));
    assert!(
        Duration::from_secs(grace())
            >= KUBERNETES_DRAIN_DELAY + options.get_shutdown_timeout() + Duration::from_secs(1)
    );
}

#[test]
fn kubernetes_deployment_matches_the_code() {
    let doc = yaml("kubernetes/deployment.yaml");
    assert_eq!(at(&doc, &["kind"]).as_str(), Some("Deployment"));
    let pod = at(&doc, &["spec", "template", "spec"]);
    assert_eq!(
        int(pod, &["terminationGracePeriodSeconds"]),
        grace(),
        "terminationGracePeriodSeconds = drain_delay + shutdown_timeout + exit margin"
    );
    let container = at(pod, &["containers", "0"]);

    let probe = |name: &str| at(container, &[name]);
    assert_eq!(
        at(probe("startupProbe"), &["httpGet", "path"]).as_str(),
        Some("/startupz")
    );
    assert_eq!(
        at(probe("readinessProbe"), &["httpGet", "path"]).as_str(),
        Some("/readyz")
    );
    assert_eq!(
        at(probe("livenessProbe"), &["httpGet", "path"]).as_str(),
        Some("/livez")
    );
    #[cfg(feature = "axum")]
    {
        use lifecycle_core::ops::probes::Probe;
        for (name, probe_kind) in [
            ("startupProbe", Probe::Startup),
            ("readinessProbe", Probe::Readiness),
            ("livenessProbe", Probe::Liveness),
        ] {
            assert_eq!(
                at(probe(name), &["httpGet", "path"]).as_str(),
                Some(probe_kind.path())
            );
        }
    }

    // Readiness: its checks are bounded by health_timeout, so the probe must wait longer;
    // and the pod must leave the endpoints well within the drain.
    let readiness = probe("readinessProbe");
    assert!(
        Duration::from_secs(int(readiness, &["timeoutSeconds"])) > DEFAULT_HEALTH_TIMEOUT,
        "readiness timeoutSeconds must exceed the health timeout ({DEFAULT_HEALTH_TIMEOUT:?})"
    );
    let detection = int(readiness, &["periodSeconds"]) * int(readiness, &["failureThreshold"]);
    assert!(
        Duration::from_secs(detection) < KUBERNETES_DRAIN_DELAY,
        "readiness is noticed in {detection} s, not within the drain"
    );

    // The probes reach the port the binary listens on.
    let port = int(container, &["ports", "0", "containerPort"]);
    let args: Vec<&str> = at(container, &["args"])
        .as_sequence()
        .expect("args")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let flag = args.iter().position(|a| *a == "--port").expect("--port");
    assert_eq!(args[flag + 1].parse::<u64>().ok(), Some(port));
    let port_name = at(container, &["ports", "0", "name"]).as_str().unwrap();
    for name in ["startupProbe", "readinessProbe", "livenessProbe"] {
        assert_eq!(
            at(probe(name), &["httpGet", "port"]).as_str(),
            Some(port_name)
        );
    }

    let service = yaml("kubernetes/service.yaml");
    assert_eq!(at(&service, &["kind"]).as_str(), Some("Service"));
    assert_eq!(
        at(&service, &["spec", "ports", "0", "targetPort"]).as_str(),
        Some(port_name)
    );
    assert_eq!(
        at(&service, &["spec", "selector"]),
        at(&doc, &["spec", "selector", "matchLabels"])
    );
}

/// `[Section]` → key → value; later keys win, as in systemd.
fn unit(text: &str) -> HashMap<String, HashMap<String, String>> {
    let mut sections: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut current = String::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.to_owned();
            continue;
        }
        let (key, value) = line.split_once('=').expect("key=value");
        sections
            .entry(current.clone())
            .or_default()
            .insert(key.trim().to_owned(), value.trim().to_owned());
    }
    sections
}

/// systemd time spans as used here: `35s`, `500ms`, `2min`, or bare seconds.
fn timespan(value: &str) -> Duration {
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (number, suffix) = value.split_at(split);
    let n: u64 = number.parse().expect("a number");
    match suffix {
        "" | "s" | "sec" => Duration::from_secs(n),
        "ms" | "msec" => Duration::from_millis(n),
        "min" | "m" => Duration::from_secs(n * 60),
        other => panic!("unit `{other}` not handled by this test"),
    }
}

#[test]
fn systemd_unit_matches_the_code() {
    let unit = unit(&read("systemd/forecast-platform.service"));
    let service = &unit["Service"];
    assert_eq!(service["Type"], "notify");
    assert_eq!(service["KillSignal"], "SIGTERM");
    assert_eq!(
        timespan(&service["TimeoutStopSec"]),
        Duration::from_secs(grace()),
        "TimeoutStopSec = drain_delay + shutdown_timeout + exit margin"
    );
    let watchdog = timespan(&service["WatchdogSec"]);
    assert!(
        watchdog >= Duration::from_secs(2),
        "pings every WatchdogSec/2 must not flood the manager"
    );
    assert!(service["ExecStart"].contains("forecast-platform"));
    assert!(unit.contains_key("Install"));
}
