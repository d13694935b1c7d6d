//! Guarantee 6, the child tree: named children spawned from `Shutdown`, their failures
//! (propagated or reported, with their path and original error), subtree stop and abort, and a
//! service stop bounded by `stop_timeout` whatever the tree's depth. Hand-written services on a
//! `DynRegistry`, current-thread runtimes with paused time.

use std::error::Error as _;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use lifecycle_core::task::{ChildError, ChildHandle, ChildPolicy};
use lifecycle_core::testing::{Recorder, alive_tasks, assert_no_tasks_alive};
use lifecycle_core::{
    BoxError, DynRegistry, Panicked, RegistryOptions, Restart, RunError, Service, ServiceOptions,
    Shutdown, State, TaskSpawner, TaskSpec,
};
use tokio::sync::mpsc;
use tokio::time::Instant;

const MS: Duration = Duration::from_millis(1);
const HOUR: Duration = Duration::from_secs(3600);

/// The user's own error type, downcast from what comes back.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("bad request #{0}")]
struct BadRequest(u32);

type Body = dyn Fn(Shutdown, u32) -> BoxFuture<'static, Result<(), BoxError>> + Send + Sync;

/// One task running `body(shutdown, run number)` under `spec`; optionally a child spawned
/// from the service-level `Shutdown` when tasks are spawned.
struct Tree {
    spec: TaskSpec,
    runs: Arc<AtomicU32>,
    body: Arc<Body>,
    service_child: Option<fn(&Shutdown)>,
}

impl Tree {
    fn new(
        spec: TaskSpec,
        body: impl Fn(Shutdown, u32) -> BoxFuture<'static, Result<(), BoxError>> + Send + Sync + 'static,
    ) -> Self {
        Self {
            spec,
            runs: Arc::new(AtomicU32::new(0)),
            body: Arc::new(body),
            service_child: None,
        }
    }
}

impl Service for Tree {
    const NAME: &'static str = "Tree";

    fn spawn_tasks(self: &Arc<Self>, tasks: &mut TaskSpawner<'_>) {
        if let Some(spawn) = self.service_child {
            spawn(&tasks.shutdown());
        }
        let (runs, body) = (Arc::clone(&self.runs), Arc::clone(&self.body));
        tasks.spawn(self.spec.clone(), move |shutdown: Shutdown| {
            let run = runs.fetch_add(1, Ordering::SeqCst) + 1;
            body(shutdown, run)
        });
    }
}

/// Fails the test instead of hanging it (paused time advances to the bound at once).
async fn bounded<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), future)
        .await
        .expect("did not finish within 60 s of virtual time")
}

fn registry() -> (Recorder, DynRegistry) {
    let recorder = Recorder::new();
    let registry = DynRegistry::with_options(recorder.attach(RegistryOptions::default().seed(7)));
    (recorder, registry)
}

/// A child that spawns a grandchild `parse` which fails after 10 ms with `fail`; both use
/// `policy`; the child then waits for its own shutdown.
fn conn_with_failing_grandchild(
    shutdown: &Shutdown,
    policy: ChildPolicy,
    fail: fn() -> Result<(), BadRequest>,
) -> ChildHandle<()> {
    shutdown.spawn_child("conn", policy, move |conn: Shutdown| async move {
        conn.spawn_child("parse", policy, move |_parse: Shutdown| async move {
            tokio::time::sleep(10 * MS).await;
            fail()
        });
        conn.cancelled().await;
    })
}

fn panics() -> Result<(), BadRequest> {
    panic!("parser exploded")
}

// A grandchild's panic propagates through its parent to the task: the run fails and the
// task's restart policy applies (it restarts after its backoff); the failure is reported once,
// with its full path, and downcasts to `Panicked`.
#[tokio::test(start_paused = true)]
async fn grandchild_panic_propagates_and_restarts_the_task() {
    let (recorder, mut registry) = registry();
    let spec = TaskSpec::new("serve")
        .restart(Restart::OnFailure)
        .backoff(100 * MS, 100 * MS)
        .jitter(0.0)
        .max_restarts(5, Duration::from_secs(60));
    let restarted_at = Arc::new(Mutex::new(None));
    let at = Arc::clone(&restarted_at);
    let tree = Tree::new(spec, move |shutdown, run| {
        let at = Arc::clone(&at);
        Box::pin(async move {
            if run == 1 {
                conn_with_failing_grandchild(&shutdown, ChildPolicy::Propagate, panics);
            } else {
                *at.lock().unwrap() = Some(Instant::now());
            }
            shutdown.cancelled().await;
            Ok(())
        })
    });
    let runs = Arc::clone(&tree.runs);
    let id = registry.add_named("Gateway", Arc::new(tree));
    let began = Instant::now();
    let running = registry.build().unwrap().start().await.unwrap();
    tokio::time::sleep(500 * MS).await;
    assert_eq!(runs.load(Ordering::SeqCst), 2, "one restart");
    let restarted = restarted_at.lock().unwrap().expect("second run");
    assert_eq!(
        restarted - began,
        110 * MS,
        "failed at 10 ms, backoff 100 ms"
    );
    assert_eq!(recorder.task_failures("Gateway"), 1);
    assert_eq!(running.state(id.index()), Some(State::Running));
    // The failed run's subtree was stopped: only the control task and the task are alive.
    assert_eq!(alive_tasks(), 2);

    let report = running.stop().await;
    let gateway = report.service("Gateway").unwrap();
    assert_eq!(
        gateway.child_failures.len(),
        1,
        "{:?}",
        gateway.child_failures
    );
    let failure = &gateway.child_failures[0];
    assert_eq!(failure.path(), "Gateway/serve/conn/parse");
    assert!(failure.is_panic());
    assert_eq!(
        failure.downcast_ref::<Panicked>().map(|p| p.0.as_str()),
        Some("parser exploded")
    );
    assert!(!report.is_clean(), "a child failure makes the stop unclean");
    assert_no_tasks_alive().await;
}

// Past the task's own policy (`Restart::Never`), a propagated grandchild failure escalates:
// the registry shuts down and the error names the service; the report keeps the user's error.
#[tokio::test(start_paused = true)]
async fn grandchild_error_propagates_up_to_registry_escalation() {
    let (_recorder, mut registry) = registry();
    let tree = Tree::new(
        TaskSpec::new("serve").restart(Restart::Never),
        |shutdown, _| {
            Box::pin(async move {
                conn_with_failing_grandchild(&shutdown, ChildPolicy::Propagate, || {
                    Err(BadRequest(7))
                });
                shutdown.cancelled().await;
                Ok(())
            })
        },
    );
    let id = registry.add_named("Gateway", Arc::new(tree));
    registry.add_named(
        "bystander",
        Arc::new(Tree::new(TaskSpec::new("idle"), |s, _| {
            Box::pin(async move {
                s.cancelled().await;
                Ok(())
            })
        })),
    );
    let began = Instant::now();
    let running = registry.build().unwrap().start().await.unwrap();
    let err = bounded(running.wait()).await.unwrap_err();
    assert_eq!(began.elapsed(), 10 * MS);
    match &err {
        RunError::Escalated { error: e, .. } => {
            assert_eq!(e.service, "Gateway");
            // The child's failure is in the chain, with its path, as a value.
            let child = lifecycle_core::find_source::<lifecycle_core::ChildFailure>(&err).unwrap();
            assert_eq!(child.path(), "Gateway/serve/conn/parse");
            assert!(
                e.to_string().contains("Gateway/serve/conn/parse"),
                "the error names the child: {e}"
            );
        }
        other => panic!("expected an escalation, got {other}"),
    }
    assert_eq!(running.state(id.index()), Some(State::Failed));
    let report = running.stop().await;
    let gateway = report.service("Gateway").unwrap();
    let paths: Vec<_> = gateway.child_failures.iter().map(|f| f.path()).collect();
    assert_eq!(paths, ["Gateway/serve/conn/parse"]);
    assert_eq!(
        gateway.child_failures[0].downcast_ref::<BadRequest>(),
        Some(&BadRequest(7))
    );
    assert_eq!(report.service("bystander").unwrap().state, State::Stopped);
    assert_no_tasks_alive().await;
}

// Report-only: the task keeps running, the failure is recorded with its path, and the
// child's handle gives the same failure, whose `source()` is the user's error.
#[tokio::test(start_paused = true)]
async fn report_only_failure_keeps_the_task_running() {
    let (recorder, mut registry) = registry();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let tree = Tree::new(TaskSpec::new("serve"), move |shutdown, _| {
        let tx = tx.clone();
        Box::pin(async move {
            let child = shutdown.spawn_child("job", ChildPolicy::Report, |_job| async {
                tokio::time::sleep(10 * MS).await;
                Err::<u32, _>(BadRequest(3))
            });
            tx.send(child.await).unwrap();
            shutdown.cancelled().await;
            Ok(())
        })
    });
    let runs = Arc::clone(&tree.runs);
    let id = registry.add_named("Worker", Arc::new(tree));
    let running = registry.build().unwrap().start().await.unwrap();
    let joined = bounded(rx.recv()).await.unwrap();
    let err = joined.unwrap_err();
    let failure = err.failure().expect("failed, not aborted");
    assert_eq!(failure.path(), "Worker/serve/job");
    let source = err.source().expect("the user's error is the source");
    assert_eq!(source.downcast_ref::<BadRequest>(), Some(&BadRequest(3)));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 1, "not restarted");
    assert_eq!(recorder.task_failures("Worker"), 0, "the task did not fail");
    assert_eq!(running.state(id.index()), Some(State::Running));
    let report = running.stop().await;
    let worker = report.service("Worker").unwrap();
    assert_eq!(worker.child_failures.len(), 1);
    assert_eq!(worker.child_failures[0].path(), "Worker/serve/job");
    assert_eq!(
        worker.child_failures[0].downcast_ref::<BadRequest>(),
        Some(&BadRequest(3))
    );
    assert_no_tasks_alive().await;
}

// Cancelling a subtree stops it gracefully (its handle resolves with the child's value) while
// its parent keeps running; an error a cancelled child returns is reported, not propagated.
#[tokio::test(start_paused = true)]
async fn cancelling_a_subtree_keeps_the_parent_running() {
    let (recorder, mut registry) = registry();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let tree = Tree::new(
        TaskSpec::new("serve").restart(Restart::Never),
        move |shutdown, _| {
            let tx = tx.clone();
            Box::pin(async move {
                let session =
                    shutdown.spawn_child("session", ChildPolicy::Propagate, |session| async move {
                        let flusher = session.spawn_child(
                            "flush",
                            ChildPolicy::Propagate,
                            |flush: Shutdown| async move {
                                flush.cancelled().await;
                                tokio::time::sleep(20 * MS).await; // finishing its work
                                Err::<(), _>(BadRequest(9))
                            },
                        );
                        session.cancelled().await;
                        let flushed = flusher.await;
                        Ok::<_, BadRequest>(flushed.is_err())
                    });
                tokio::time::sleep(50 * MS).await;
                let began = Instant::now();
                session.cancel();
                tx.send((session.await, began.elapsed())).unwrap();
                shutdown.cancelled().await;
                Ok(())
            })
        },
    );
    let runs = Arc::clone(&tree.runs);
    let id = registry.add_named("Chat", Arc::new(tree));
    let running = registry.build().unwrap().start().await.unwrap();
    let (joined, took) = bounded(rx.recv()).await.unwrap();
    assert!(
        joined.unwrap(),
        "the session returned Ok, seeing its flusher's error"
    );
    assert_eq!(took, 20 * MS, "the subtree stopped gracefully");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(running.state(id.index()), Some(State::Running));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(recorder.task_failures("Chat"), 0);
    assert_eq!(alive_tasks(), 2, "control task and the task");
    let report = running.stop().await;
    let chat = report.service("Chat").unwrap();
    let paths: Vec<_> = chat.child_failures.iter().map(|f| f.path()).collect();
    assert_eq!(paths, ["Chat/serve/session/flush"]);
    assert_eq!(chat.state, State::Stopped);
    assert_no_tasks_alive().await;
}

/// A child `name` with `fanout` children per level down to `depth` levels, each also spawning
/// one unnamed task; every one of them ignores cancellation.
fn stubborn(shutdown: &Shutdown, name: String, depth: u32, fanout: u32) -> ChildHandle<()> {
    shutdown.spawn_child(
        name,
        ChildPolicy::Propagate,
        move |me: Shutdown| async move {
            me.spawn(tokio::time::sleep(HOUR));
            if depth > 1 {
                for i in 0..fanout {
                    stubborn(&me, format!("n{i}"), depth - 1, fanout);
                }
            }
            tokio::time::sleep(HOUR).await;
        },
    )
}

// Aborting a subtree aborts every task in it, at every depth, unnamed ones included, at once;
// the parent task keeps running.
#[tokio::test(start_paused = true)]
async fn aborting_a_subtree_leaves_nothing_alive() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut registry = DynRegistry::new();
    let tree = Tree::new(TaskSpec::new("serve"), move |shutdown, _| {
        let tx = tx.clone();
        Box::pin(async move {
            // 1 + 3 + 9 named children, each with one unnamed task: 26 tasks.
            tx.send(stubborn(&shutdown, "upload".into(), 3, 3)).unwrap();
            shutdown.cancelled().await;
            Ok(())
        })
    });
    let id = registry.add_named("Store", Arc::new(tree));
    let running = registry.build().unwrap().start().await.unwrap();
    let upload = bounded(rx.recv()).await.unwrap();
    tokio::time::sleep(10 * MS).await;
    assert_eq!(alive_tasks(), 2 + 26);
    let began = Instant::now();
    assert_eq!(upload.abort(), 26);
    let joined = upload.await;
    assert!(
        matches!(&joined, Err(ChildError::Aborted { path }) if &**path == "Store/serve/upload"),
        "{joined:?}"
    );
    tokio::task::yield_now().await;
    assert_eq!(alive_tasks(), 2, "control task and the task only");
    assert_eq!(began.elapsed(), Duration::ZERO);
    assert_eq!(running.state(id.index()), Some(State::Running));
    let report = running.stop().await;
    assert!(report.is_clean(), "{}", report.summary());
    assert_no_tasks_alive().await;
}

// A service's stop waits for its whole tree until `stop_timeout`, then aborts all of it, however
// deep; the report counts what it aborted.
#[tokio::test(start_paused = true)]
async fn service_stop_with_a_deep_tree_is_bounded_by_stop_timeout() {
    let mut registry = DynRegistry::new();
    let tree = Tree::new(TaskSpec::new("serve"), |shutdown, _| {
        Box::pin(async move {
            // A chain 40 deep (each level with an unnamed task) under the task.
            stubborn(&shutdown, "level".into(), 40, 1);
            shutdown.cancelled().await;
            Ok(())
        })
    });
    let id = registry.add_named("Deep", Arc::new(tree));
    registry
        .set_service_options(id, ServiceOptions::DEFAULT.stop_timeout(200 * MS))
        .unwrap();
    let running = registry.build().unwrap().start().await.unwrap();
    tokio::time::sleep(10 * MS).await;
    assert_eq!(alive_tasks(), 2 + 80);
    let began = Instant::now();
    let report = running.stop().await;
    let took = began.elapsed();
    assert!(took >= 200 * MS && took <= 201 * MS, "stop took {took:?}");
    let deep = report.service("Deep").unwrap();
    assert_eq!(deep.children_aborted, 80);
    assert!(deep.tasks_aborted.is_empty(), "{:?}", deep.tasks_aborted);
    assert!(deep.child_failures.is_empty(), "aborted is not failed");
    assert_no_tasks_alive().await;
}

// Every failure in the tree reaches the report with its path and original error, at every
// depth, from tasks and from the service-level `Shutdown`, with either policy.
#[tokio::test(start_paused = true)]
async fn every_failure_is_reported_with_its_path_and_error() {
    let mut registry = DynRegistry::new();
    let mut tree = Tree::new(TaskSpec::new("serve"), |shutdown, _| {
        Box::pin(async move {
            shutdown.spawn_child("a", ChildPolicy::Report, |a: Shutdown| async move {
                a.spawn_child("b", ChildPolicy::Report, |b: Shutdown| async move {
                    b.spawn_child("c", ChildPolicy::Report, |_| async {
                        tokio::time::sleep(30 * MS).await;
                        Err::<(), _>(BadRequest(3))
                    });
                    tokio::time::sleep(20 * MS).await;
                    if true {
                        panic!("b gave up");
                    }
                });
                tokio::time::sleep(10 * MS).await;
                Err::<(), _>(BadRequest(1))
            });
            // Propagated: fails `a2` too; recorded once, where it began.
            shutdown.spawn_child("a2", ChildPolicy::Report, |a2: Shutdown| async move {
                a2.spawn_child("d", ChildPolicy::Propagate, |_| async {
                    tokio::time::sleep(40 * MS).await;
                    Err::<(), _>(BadRequest(4))
                });
                a2.cancelled().await;
                Ok::<(), BadRequest>(())
            });
            shutdown.cancelled().await;
            Ok(())
        })
    });
    tree.service_child = Some(|shutdown: &Shutdown| {
        shutdown.spawn_child("warmup", ChildPolicy::Report, |_| async {
            tokio::time::sleep(5 * MS).await;
            Err::<(), _>(BadRequest(0))
        });
    });
    registry.add_named("Api", Arc::new(tree));
    let running = registry.build().unwrap().start().await.unwrap();
    tokio::time::sleep(100 * MS).await;
    let report = running.stop().await;
    let api = report.service("Api").unwrap();
    let got: Vec<_> = api
        .child_failures
        .iter()
        .map(|f| {
            let what = match (f.downcast_ref::<BadRequest>(), f.downcast_ref::<Panicked>()) {
                (Some(e), None) => e.to_string(),
                (None, Some(p)) => format!("panic: {}", p.0),
                _ => panic!("{f:?} is neither"),
            };
            (f.path().to_owned(), what)
        })
        .collect();
    let want = [
        ("Api/warmup", "bad request #0"),
        ("Api/serve/a", "bad request #1"),
        ("Api/serve/a/b", "panic: b gave up"),
        ("Api/serve/a/b/c", "bad request #3"),
        ("Api/serve/a2/d", "bad request #4"),
    ];
    let want: Vec<_> = want
        .iter()
        .map(|(p, w)| ((*p).to_owned(), (*w).to_owned()))
        .collect();
    assert_eq!(got, want);
    // The chain reaches the user's error through `std::error::Error::source`.
    let source = api.child_failures[1].source().unwrap();
    assert_eq!(source.downcast_ref::<BadRequest>(), Some(&BadRequest(1)));
    assert_eq!(report.service("Api").unwrap().state, State::Stopped);
    assert_no_tasks_alive().await;
}

// A child awaited for its value; a propagated failure from a service-level child escalates.
#[tokio::test(start_paused = true)]
async fn service_level_propagating_child_escalates_the_service() {
    let mut registry = DynRegistry::new();
    let mut tree = Tree::new(TaskSpec::new("serve"), |shutdown, _| {
        Box::pin(async move {
            let sum = shutdown
                .spawn_child("sum", ChildPolicy::Propagate, |_| async {
                    Ok::<_, BadRequest>(40 + 2)
                })
                .await;
            assert_eq!(sum.unwrap(), 42);
            shutdown.cancelled().await;
            Ok(())
        })
    });
    tree.service_child = Some(|shutdown: &Shutdown| {
        shutdown.spawn_child("loader", ChildPolicy::Propagate, |_| async {
            tokio::time::sleep(30 * MS).await;
            Err::<(), _>(BadRequest(5))
        });
    });
    let id = registry.add_named("Cache", Arc::new(tree));
    let running = registry.build().unwrap().start().await.unwrap();
    let began = Instant::now();
    let err = bounded(running.wait()).await.unwrap_err();
    assert_eq!(began.elapsed(), 30 * MS);
    assert!(
        matches!(&err, RunError::Escalated { error: e, .. } if e.service == "Cache"),
        "{err}"
    );
    assert_eq!(running.state(id.index()), Some(State::Failed));
    let report = running.stop().await;
    let paths: Vec<_> = report
        .service("Cache")
        .unwrap()
        .child_failures
        .iter()
        .map(|f| f.path())
        .collect();
    assert_eq!(paths, ["Cache/loader"]);
    assert_no_tasks_alive().await;
}

// A child's task ends only after its own children (named and unnamed) ended, so its handle
// resolves then; once it ended, its `Shutdown` spawns nothing that could outlive the tree.
#[tokio::test(start_paused = true)]
async fn a_child_ends_after_its_children_and_then_spawns_nothing() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut registry = DynRegistry::new();
    let tree = Tree::new(TaskSpec::new("serve"), move |shutdown, _| {
        let tx = tx.clone();
        Box::pin(async move {
            let (keep_tx, keep_rx) = tokio::sync::oneshot::channel();
            let began = Instant::now();
            let child =
                shutdown.spawn_child("batch", ChildPolicy::Report, |me: Shutdown| async move {
                    me.spawn(tokio::time::sleep(30 * MS));
                    me.spawn_child("part", ChildPolicy::Report, |_| tokio::time::sleep(20 * MS));
                    let _ = keep_tx.send(me);
                    Ok::<_, BadRequest>("done")
                });
            let value = child.await;
            let ended_after = began.elapsed();
            let finished_shutdown: Shutdown = keep_rx.await.unwrap();
            let late = finished_shutdown
                .spawn_child("late", ChildPolicy::Report, |_| tokio::time::sleep(HOUR));
            let late_unnamed = finished_shutdown.spawn(tokio::time::sleep(HOUR));
            tx.send((value, ended_after, late.await, late_unnamed))
                .unwrap();
            shutdown.cancelled().await;
            Ok(())
        })
    });
    registry.add_named("Jobs", Arc::new(tree));
    let running = registry.build().unwrap().start().await.unwrap();
    let (value, ended_after, late, late_unnamed) = bounded(rx.recv()).await.unwrap();
    assert_eq!(value.unwrap(), "done");
    assert_eq!(
        ended_after,
        30 * MS,
        "after its slowest child, the unnamed one"
    );
    assert!(matches!(late, Err(ChildError::Aborted { .. })), "{late:?}");
    tokio::task::yield_now().await;
    assert!(late_unnamed.is_finished());
    assert_eq!(alive_tasks(), 2, "control task and the task");
    let report = running.stop().await;
    assert!(report.is_clean(), "{}", report.summary());
    assert_no_tasks_alive().await;
}

// The closure that builds a child runs with no lock held: it may spawn a sibling.
#[tokio::test(start_paused = true)]
async fn a_childs_closure_can_spawn_a_sibling() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut registry = DynRegistry::new();
    let tree = Tree::new(TaskSpec::new("serve"), move |shutdown, _| {
        let tx = tx.clone();
        Box::pin(async move {
            let first = shutdown.spawn_child("first", ChildPolicy::Report, |_| {
                let sibling = shutdown.spawn_child("sibling", ChildPolicy::Report, |_| async {
                    Ok::<_, BadRequest>(2)
                });
                async move { Ok::<_, BadRequest>(1 + sibling.await.unwrap_or(0)) }
            });
            tx.send(first.await.ok()).unwrap();
            shutdown.cancelled().await;
            Ok(())
        })
    });
    registry.add_named("S", Arc::new(tree));
    let running = registry.build().unwrap().start().await.unwrap();
    assert_eq!(bounded(rx.recv()).await.unwrap(), Some(3));
    assert!(running.stop().await.is_clean());
    assert_no_tasks_alive().await;
}

// On two worker threads, children spawned while their subtrees are being aborted and while the
// service stops: nothing escapes (real time, a few milliseconds).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_spawns_aborts_and_stop_leave_nothing_alive() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut registry = DynRegistry::new();
    let tree = Tree::new(TaskSpec::new("serve"), move |shutdown, _| {
        let tx = tx.clone();
        Box::pin(async move {
            for i in 0..64 {
                let child =
                    shutdown.spawn_child(format!("c{i}"), ChildPolicy::Report, |me| async move {
                        for j in 0..4 {
                            me.spawn(tokio::time::sleep(HOUR));
                            me.spawn_child(
                                format!("g{j}"),
                                ChildPolicy::Report,
                                |g: Shutdown| async move {
                                    g.spawn(tokio::time::sleep(HOUR));
                                    tokio::time::sleep(HOUR).await;
                                },
                            );
                            tokio::task::yield_now().await;
                        }
                        tokio::time::sleep(HOUR).await;
                    });
                if i % 2 == 0 {
                    let _ = tx.send(child);
                }
                tokio::task::yield_now().await;
            }
            shutdown.cancelled().await;
            Ok(())
        })
    });
    let id = registry.add_named("Busy", Arc::new(tree));
    registry
        .set_service_options(id, ServiceOptions::DEFAULT.stop_timeout(20 * MS))
        .unwrap();
    let running = registry.build().unwrap().start().await.unwrap();
    let aborter = tokio::spawn(async move {
        while let Some(child) = rx.recv().await {
            child.abort();
        }
    });
    tokio::time::sleep(5 * MS).await;
    let report = tokio::time::timeout(Duration::from_secs(10), running.stop())
        .await
        .expect("stop is bounded");
    assert!(report.service("Busy").unwrap().tasks_aborted.is_empty());
    aborter.await.unwrap();
    // Aborted tasks are dropped by the workers shortly after.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while alive_tasks() > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(MS).await;
    }
    assert_eq!(alive_tasks(), 0);
}
