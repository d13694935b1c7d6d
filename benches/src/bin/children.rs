//! Cost of a child task: N short children spawned one after another, four ways, same run.
//!
//! ```text
//! children [--n 100000] [--warm 7] [--cold 7]     all variants, warm then cold; Markdown table
//! children --one VARIANT N                          one sample in this process (used by --cold)
//! ```
//!
//! Variants (each child's body is the same: bump a shared counter, return):
//!
//! * `tracker`: `tokio::spawn(tracker.track_future(body))` on a bare `TaskTracker` (the floor);
//! * `shutdown-spawn`: `Shutdown::spawn` from a service's `Shutdown` (today's per-connection path);
//! * `unnamed-in-child`: `Shutdown::spawn` from a named child's `Shutdown` (an unnamed child that
//!   belongs to the tree: aborted with its subtree, awaited by its parent);
//! * `named`: `Shutdown::spawn_child("conn", ChildPolicy::Report, ..)`, handle dropped.
//!
//! One sample: on a current-thread runtime (so no child runs while the loop spawns and every
//! child is alive at once), spawn N children in a loop without yielding, then yield until the
//! runtime counts no more live tasks than before. Reported per child: spawn time, total time
//! (spawn + run + teardown) and bytes still allocated after the spawn loop (live bytes per
//! child), from a counting global allocator. Warm: one process, variants interleaved, after one
//! discarded round. Cold: a fresh process per sample (the first spawn loop of the process).
#![forbid(unsafe_code)]

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use lifecycle_core::task::ChildPolicy;
use lifecycle_core::{DynRegistry, RunningRegistry, Service, Shutdown, TaskSpawner};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use tokio_util::task::TaskTracker;

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

const VARIANTS: [&str; 4] = ["tracker", "shutdown-spawn", "unnamed-in-child", "named"];

/// A service with no task of its own that hands out its `Shutdown`.
#[derive(Default)]
struct Host {
    shutdown: Mutex<Option<Shutdown>>,
}

impl Service for Host {
    const NAME: &'static str = "Host";
    fn spawn_tasks(self: &Arc<Self>, tasks: &mut TaskSpawner<'_>) {
        *self.shutdown.lock().unwrap() = Some(tasks.shutdown());
    }
}

struct Sample {
    spawn_ns: f64,
    total_ns: f64,
    bytes: f64,
}

fn alive() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

async fn settle(base: usize) {
    while alive() > base {
        tokio::task::yield_now().await;
    }
}

/// One sample of `variant` with `n` children, on the current runtime.
async fn sample(variant: &str, n: usize) -> Sample {
    let done = Arc::new(AtomicUsize::new(0));
    let body = |done: &Arc<AtomicUsize>| {
        let done = Arc::clone(done);
        async move {
            done.fetch_add(1, Ordering::Relaxed);
        }
    };
    // Set-up outside the measured region: the registry, and for `unnamed-in-child` the parent.
    let tracker = TaskTracker::new();
    let host = Arc::new(Host::default());
    let mut registry = DynRegistry::new();
    registry.add_named("host", Arc::clone(&host));
    let running: RunningRegistry = registry.build().unwrap().start().await.unwrap();
    let service = host.shutdown.lock().unwrap().clone().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let parent = service.spawn_child("parent", ChildPolicy::Report, |me: Shutdown| async move {
        let _ = tx.send(me.clone());
        me.cancelled().await;
    });
    let in_child = rx.await.unwrap();
    tokio::task::yield_now().await;
    let base = alive();

    let region = Region::new(GLOBAL);
    let t0 = Instant::now();
    match variant {
        "tracker" => {
            for _ in 0..n {
                tokio::spawn(tracker.track_future(body(&done)));
            }
        }
        "shutdown-spawn" => {
            for _ in 0..n {
                service.spawn(body(&done));
            }
        }
        "unnamed-in-child" => {
            for _ in 0..n {
                in_child.spawn(body(&done));
            }
        }
        "named" => {
            for _ in 0..n {
                let body = body(&done);
                service.spawn_child("conn", ChildPolicy::Report, |_| body);
            }
        }
        other => panic!("unknown variant {other}"),
    }
    let spawned = t0.elapsed();
    let stats = region.change();
    settle(base).await;
    let total = t0.elapsed();
    assert_eq!(done.load(Ordering::Relaxed), n, "every child ran");

    parent.cancel();
    let _ = parent.await;
    let report = running.stop().await;
    assert!(report.is_clean(), "{}", report.summary());
    let n = n as f64;
    Sample {
        spawn_ns: spawned.as_nanos() as f64 / n,
        total_ns: total.as_nanos() as f64 / n,
        bytes: (stats.bytes_allocated as f64 - stats.bytes_deallocated as f64) / n,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

fn arg(args: &[String], flag: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| v.parse().expect("a number"))
}

fn table(title: &str, rows: &[(&str, Vec<Sample>)]) {
    println!("\n{title}\n");
    println!(
        "| variant | spawn ns/child | total ns/child | bytes/child (live) | total vs tracker |"
    );
    println!("|---|---:|---:|---:|---:|");
    let floor = median(rows[0].1.iter().map(|s| s.total_ns).collect());
    for (name, samples) in rows {
        let spawn = median(samples.iter().map(|s| s.spawn_ns).collect());
        let total = median(samples.iter().map(|s| s.total_ns).collect());
        let bytes = median(samples.iter().map(|s| s.bytes).collect());
        println!(
            "| {name} | {spawn:.0} | {total:.0} | {bytes:.0} | {:.2}x |",
            total / floor
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--one") {
        let variant = args[i + 1].clone();
        let n: usize = args[i + 2].parse().expect("N");
        let s = runtime().block_on(sample(&variant, n));
        println!("{} {} {}", s.spawn_ns, s.total_ns, s.bytes);
        return;
    }
    let n = arg(&args, "--n", 100_000);
    let warm = arg(&args, "--warm", 7);
    let cold = arg(&args, "--cold", 7);
    println!(
        "N = {n} children per sample; medians; warm {warm} rounds, cold {cold} processes per variant"
    );

    let rt = runtime();
    let mut rows: Vec<(&str, Vec<Sample>)> = VARIANTS.iter().map(|v| (*v, Vec::new())).collect();
    for round in 0..=warm {
        for k in 0..VARIANTS.len() {
            // Rotate the order each round so no variant always runs first.
            let idx = (k + round) % VARIANTS.len();
            let s = rt.block_on(sample(VARIANTS[idx], n));
            if round > 0 {
                rows[idx].1.push(s);
            }
        }
    }
    table("Warm (one process, after one discarded round)", &rows);

    let exe = std::env::current_exe().expect("current exe");
    let mut rows: Vec<(&str, Vec<Sample>)> = VARIANTS.iter().map(|v| (*v, Vec::new())).collect();
    for round in 0..cold {
        for k in 0..VARIANTS.len() {
            let idx = (k + round) % VARIANTS.len();
            let out = Command::new(&exe)
                .args(["--one", VARIANTS[idx], &n.to_string()])
                .output()
                .expect("run a sample");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let line = String::from_utf8(out.stdout).expect("utf-8");
            let v: Vec<f64> = line
                .split_whitespace()
                .map(|x| x.parse().expect("a figure"))
                .collect();
            rows[idx].1.push(Sample {
                spawn_ns: v[0],
                total_ns: v[1],
                bytes: v[2],
            });
        }
    }
    table("Cold (a fresh process per sample)", &rows);
}
