//! Cost of a child task: N short children spawned one after another, four ways, same run.
//!
//! ```text
//! children [--n 100000] [--warm 7] [--cold 7] [--baseline EXE]   every variant, warm then cold
//! children --one VARIANT N           one cold sample in this process
//! children --samples VARIANT N R     R warm samples in this process (after one discarded)
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
//! child is alive at once), spawn N children in a loop without yielding, yield until the
//! runtime counts no more live tasks than before, then spawn one more (which reaps the finished
//! ones where a `JoinSet` holds them, as a server's next spawn does) and wait for it too. Reported per child: spawn time, total time
//! (spawn + run + teardown) and bytes still allocated after the spawn loop (live bytes per
//! child), from a counting global allocator. Every sample runs in a fresh process, variants
//! interleaved and rotated each round: cold is the process's first spawn loop, warm its second
//! (after one discarded). `--baseline EXE` adds the `shutdown-spawn` row of the same bench built
//! against another commit (`benches/children-baseline.sh`), interleaved the same way.
#![forbid(unsafe_code)]

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

// BEGIN tree
use lifecycle_core::task::ChildPolicy;
// END tree
use lifecycle_core::{DynRegistry, Running, Service, Shutdown, TaskSpawner};
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
    let running: Running<DynRegistry> = registry.build().unwrap().start().await.unwrap();
    let service = host.shutdown.lock().unwrap().clone().unwrap();
    // BEGIN tree
    let (tx, rx) = tokio::sync::oneshot::channel();
    let parent = service.spawn_child("parent", ChildPolicy::Report, |me: Shutdown| async move {
        let _ = tx.send(me.clone());
        me.cancelled().await;
    });
    let in_child = rx.await.unwrap();
    // END tree
    tokio::task::yield_now().await;
    let base = alive();

    let kind = VARIANTS
        .iter()
        .position(|v| *v == variant)
        .unwrap_or_else(|| panic!("unknown variant {variant}"));
    let spawn_one = || match kind {
        0 => drop(tokio::spawn(tracker.track_future(body(&done)))),
        1 => drop(service.spawn(body(&done))),
        // BEGIN tree
        2 => drop(in_child.spawn(body(&done))),
        3 => {
            let body = body(&done);
            drop(service.spawn_child("conn", ChildPolicy::Report, |_| body));
        }
        // END tree
        _ => unreachable!("{variant} is not built here"),
    };

    let region = Region::new(GLOBAL);
    let t0 = Instant::now();
    for _ in 0..n {
        spawn_one();
    }
    let spawned = t0.elapsed();
    let stats = region.change();
    settle(base).await;
    // A server's next spawn reaps the children that finished (the `JoinSet` behind
    // `Shutdown::spawn`): that work is part of a child's cost, so it is in the total.
    spawn_one();
    settle(base).await;
    let total = t0.elapsed();
    let n_spawned = n + 1;
    assert_eq!(done.load(Ordering::Relaxed), n_spawned, "every child ran");

    // BEGIN tree
    parent.cancel();
    let _ = parent.await;
    // END tree
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

fn parse(line: &str) -> Sample {
    let v: Vec<f64> = line
        .split_whitespace()
        .map(|x| x.parse().expect("a figure"))
        .collect();
    Sample {
        spawn_ns: v[0],
        total_ns: v[1],
        bytes: v[2],
    }
}

fn run(exe: &std::path::Path, args: &[&str]) -> Vec<Sample> {
    let out = Command::new(exe).args(args).output().expect("run a sample");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(parse)
        .collect()
}

fn print(s: &Sample) {
    println!("{} {} {}", s.spawn_ns, s.total_ns, s.bytes);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // One cold sample: the first spawn loop of this process.
    if let Some(i) = args.iter().position(|a| a == "--one") {
        let n: usize = args[i + 2].parse().expect("N");
        print(&runtime().block_on(sample(&args[i + 1], n)));
        return;
    }
    // `r` warm samples of one variant, after one discarded (for a baseline built elsewhere).
    if let Some(i) = args.iter().position(|a| a == "--samples") {
        let n: usize = args[i + 2].parse().expect("N");
        let r: usize = args[i + 3].parse().expect("R");
        let rt = runtime();
        for k in 0..=r {
            let s = rt.block_on(sample(&args[i + 1], n));
            if k > 0 {
                print(&s);
            }
        }
        return;
    }
    let n = arg(&args, "--n", 100_000);
    let warm = arg(&args, "--warm", 7);
    let cold = arg(&args, "--cold", 7);
    // The same binary built from another commit (see CHILDREN.md): its `Shutdown::spawn` row.
    let baseline = args
        .iter()
        .position(|a| a == "--baseline")
        .map(|i| std::path::PathBuf::from(&args[i + 1]));
    println!(
        "N = {n} children per sample; medians; warm {warm} rounds, cold {cold} processes per variant"
    );
    const BASE: &str = "shutdown-spawn (baseline build)";
    let ns = n.to_string();
    // Every sample runs in its own process, the variants (and builds) interleaved and rotated
    // each round: cold = the first spawn loop of a process, warm = the second.
    let exe = std::env::current_exe().expect("current exe");
    let mut names: Vec<&str> = VARIANTS.to_vec();
    if baseline.is_some() {
        names.push(BASE);
    }
    let collect = |rounds: usize, warm: bool| {
        let mut rows: Vec<(&str, Vec<Sample>)> = names.iter().map(|v| (*v, Vec::new())).collect();
        for round in 0..rounds {
            for k in 0..rows.len() {
                let idx = (k + round) % rows.len();
                let (bin, variant) = match rows[idx].0 {
                    BASE => (baseline.as_deref().expect("baseline"), "shutdown-spawn"),
                    v => (exe.as_path(), v),
                };
                let args: Vec<&str> = if warm {
                    vec!["--samples", variant, &ns, "1"]
                } else {
                    vec!["--one", variant, &ns]
                };
                let mut s = run(bin, &args);
                rows[idx].1.push(s.remove(0));
            }
        }
        rows
    };
    table(
        "Warm (the second spawn loop of a fresh process)",
        &collect(warm, true),
    );
    table(
        "Cold (the first spawn loop of a fresh process)",
        &collect(cold, false),
    );
}
