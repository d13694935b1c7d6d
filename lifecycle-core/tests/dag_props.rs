//! Property test over random DAGs (up to 50 services) with injected start failures, start
//! timeouts, panics and slow stops. Invariants checked on every event, as it happens.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Probe, ProbeTask};
use lifecycle_core::events::Event;
use lifecycle_core::testing::alive_tasks;
use lifecycle_core::{DynRegistry, RegistryOptions, ServiceOptions, State};
use proptest::prelude::*;

#[derive(Debug, Clone, Copy)]
enum Fault {
    None,
    StartError,
    StartTimeout,
    StartPanic,
    SlowStop,
    StuckTask,
    /// A task that asks the registry to stop from inside, after some time.
    RequestsStop,
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        12 => Just(Fault::None),
        1 => Just(Fault::StartError),
        1 => Just(Fault::StartTimeout),
        1 => Just(Fault::StartPanic),
        2 => Just(Fault::SlowStop),
        2 => Just(Fault::StuckTask),
        1 => Just(Fault::RequestsStop),
    ]
}

/// Services 0..n; each may depend on any lower index (so the graph is acyclic). The last
/// number is a start delay (ms), also used as the delay before a `RequestsStop`.
fn dag() -> impl Strategy<Value = Vec<(Vec<usize>, Fault, u64)>> {
    (1usize..=50).prop_flat_map(|n| {
        (0..n)
            .map(|i| {
                (
                    proptest::collection::vec(0..i.max(1), 0..=i.min(3)),
                    fault(),
                    0u64..20,
                )
            })
            .collect::<Vec<_>>()
    })
}

const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(2);
const STUCK_STOP_TIMEOUT: Duration = Duration::from_millis(300);

/// How the test asks for the stop: `Some(ms)` first drops a stop caller after `ms`.
fn check(
    spec: Vec<(Vec<usize>, Fault, u64)>,
    drop_caller_after: Option<u64>,
) -> Result<(), TestCaseError> {
    let runtime = common::paused_runtime();
    let n = spec.len();
    let deps = common::acyclic_deps(&spec);
    let states = Arc::new(Mutex::new(vec![State::New; n]));
    // When each service entered Stopping (virtual time), to check its own deadline.
    let stopping_at = Arc::new(Mutex::new(vec![None::<tokio::time::Instant>; n]));
    let violations = Arc::new(Mutex::new(Vec::<String>::new()));
    let options = {
        let (states, violations, deps, stopping_at) = (
            Arc::clone(&states),
            Arc::clone(&violations),
            deps.clone(),
            Arc::clone(&stopping_at),
        );
        RegistryOptions::default()
            .seed(1)
            .shutdown_timeout(SHUTDOWN_TIMEOUT)
            .observe(move |event, _| {
                let Event::State { service, to, .. } = *event else {
                    return;
                };
                let i = service as usize;
                let mut states = states.lock().unwrap();
                states[i] = to;
                if to == State::Running && deps[i].iter().any(|&d| states[d] != State::Running) {
                    violations
                        .lock()
                        .unwrap()
                        .push(format!("{i} Running before its deps"));
                }
                if to == State::Stopping {
                    stopping_at.lock().unwrap()[i] = Some(tokio::time::Instant::now());
                    for (j, dj) in deps.iter().enumerate() {
                        if dj.contains(&i) && states[j] == State::Running {
                            violations
                                .lock()
                                .unwrap()
                                .push(format!("{i} stopping while dependent {j} runs"));
                        }
                    }
                }
            })
    };
    let any_start_fault = spec.iter().any(|(_, f, _)| {
        matches!(
            f,
            Fault::StartError | Fault::StartTimeout | Fault::StartPanic
        )
    });
    runtime.block_on(async {
        let mut registry = DynRegistry::with_options(options);
        let mut ids = Vec::new();
        let mut probes = Vec::new();
        for (i, (_, fault, delay)) in spec.iter().enumerate() {
            let mut probe = Probe {
                start_delay: Duration::from_millis(*delay),
                ..Probe::default()
            };
            let mut opts = ServiceOptions::DEFAULT
                .start_timeout(Duration::from_secs(1))
                .stop_timeout(Duration::from_millis(100));
            match fault {
                Fault::None => probe.task = Some(ProbeTask::Periodic(Duration::from_secs(30))),
                Fault::StartError => probe.start_error = Some("injected"),
                Fault::StartTimeout => probe.start_delay = Duration::from_secs(3600),
                Fault::StartPanic => probe.start_panic = true,
                Fault::SlowStop => probe.stop_delay = Duration::from_secs(10),
                Fault::StuckTask => {
                    probe.task = Some(ProbeTask::Stuck);
                    opts = opts.stop_timeout(STUCK_STOP_TIMEOUT);
                }
                Fault::RequestsStop => {
                    probe.task = Some(ProbeTask::RequestsStop(Duration::from_millis(5 * delay)));
                }
            }
            let probe = Arc::new(probe);
            probes.push(Arc::clone(&probe));
            let id = registry.add_named(format!("s{i}"), probe);
            registry.set_service_options(id, opts).unwrap();
            ids.push(id);
        }
        for (i, d) in deps.iter().enumerate() {
            for &dep in d {
                registry.depends_on(ids[i], ids[dep]).unwrap();
            }
        }
        match registry.build().unwrap().start().await {
            Ok(running) => {
                prop_assert!(
                    !any_start_fault,
                    "start succeeded despite an injected start fault"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
                let began = tokio::time::Instant::now();
                // The stop begins here, or earlier if a task requested it from inside.
                let requested = if running.handle().is_stopping() {
                    None
                } else {
                    Some(began)
                };
                if let Some(ms) = drop_caller_after {
                    // A caller that gives up mid-stop: nothing is cancelled or repeated.
                    let _ =
                        tokio::time::timeout(Duration::from_millis(ms), running.handle().stop())
                            .await;
                }
                let report = running.stop().await;
                prop_assert!(
                    began.elapsed() <= SHUTDOWN_TIMEOUT + Duration::from_millis(10),
                    "stop took {:?}",
                    began.elapsed()
                );
                prop_assert_eq!(report.services.len(), n);
                for s in states.lock().unwrap().iter() {
                    prop_assert_eq!(*s, State::Stopped);
                }
                for probe in &probes {
                    prop_assert!(
                        probe.stops.load(std::sync::atomic::Ordering::SeqCst) <= 1,
                        "on_stop ran twice"
                    );
                }
                // Every stuck task is cut at its own stop_timeout (or the registry's deadline,
                // whichever comes first), to the millisecond of virtual time.
                if let Some(requested) = requested {
                    let deadline = requested + SHUTDOWN_TIMEOUT;
                    for (i, (_, fault, _)) in spec.iter().enumerate() {
                        if !matches!(fault, Fault::StuckTask) {
                            continue;
                        }
                        let Some(stopping) = stopping_at.lock().unwrap()[i] else {
                            return Err(TestCaseError::fail(format!("s{i} never stopped")));
                        };
                        let expected =
                            (stopping + STUCK_STOP_TIMEOUT).min(deadline.max(stopping)) - stopping;
                        let service = report.service(&format!("s{i}")).unwrap();
                        prop_assert_eq!(&service.tasks_aborted, &["stuck"]);
                        prop_assert!(
                            service.duration.abs_diff(expected) <= Duration::from_millis(1),
                            "s{} cut after {:?}, its own deadline was {:?}",
                            i,
                            service.duration,
                            expected
                        );
                    }
                }
            }
            Err(error) => {
                // A stop requested from inside during start-up cancels it.
                let requested_stop = error.error.phase == lifecycle_core::Phase::Cancelled
                    && spec
                        .iter()
                        .any(|(_, f, _)| matches!(f, Fault::RequestsStop));
                prop_assert!(
                    any_start_fault || requested_stop,
                    "start failed without an injected start fault: {}",
                    error
                );
                for s in states.lock().unwrap().iter() {
                    prop_assert!(
                        matches!(s, State::New | State::Stopped | State::Failed),
                        "state {s:?} after rollback"
                    );
                }
            }
        }
        for _ in 0..16 {
            tokio::task::yield_now().await;
        }
        prop_assert_eq!(alive_tasks(), 0, "tasks alive after stop");
        Ok(())
    })?;
    let violations = violations.lock().unwrap();
    prop_assert!(violations.is_empty(), "{:?}", *violations);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn random_dags_respect_the_invariants(spec in dag(), drop_caller in proptest::option::of(0u64..50)) {
        check(spec, drop_caller)?;
    }
}
