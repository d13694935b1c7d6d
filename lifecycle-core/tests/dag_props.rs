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
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        12 => Just(Fault::None),
        1 => Just(Fault::StartError),
        1 => Just(Fault::StartTimeout),
        1 => Just(Fault::StartPanic),
        2 => Just(Fault::SlowStop),
        2 => Just(Fault::StuckTask),
    ]
}

/// Services 0..n; each may depend on any lower index (so the graph is acyclic).
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

fn check(spec: Vec<(Vec<usize>, Fault, u64)>) -> Result<(), TestCaseError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let n = spec.len();
    let deps: Vec<Vec<usize>> = spec
        .iter()
        .enumerate()
        .map(|(i, (d, _, _))| {
            let mut d: Vec<usize> = d.iter().copied().filter(|&x| x < i).collect();
            d.sort_unstable();
            d.dedup();
            d
        })
        .collect();
    let states = Arc::new(Mutex::new(vec![State::New; n]));
    let violations = Arc::new(Mutex::new(Vec::<String>::new()));
    let options = {
        let (states, violations, deps) =
            (Arc::clone(&states), Arc::clone(&violations), deps.clone());
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
                    opts = opts.stop_timeout(Duration::from_millis(300));
                }
            }
            let id = registry.add_named(format!("s{i}"), Arc::new(probe));
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
            }
            Err(_) => {
                prop_assert!(
                    any_start_fault,
                    "start failed without an injected start fault"
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
    fn random_dags_respect_the_invariants(spec in dag()) {
        check(spec)?;
    }
}
