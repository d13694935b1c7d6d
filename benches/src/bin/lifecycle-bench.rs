//! Whole-process benchmark driver.
//!
//! ```text
//! lifecycle-bench w1 [--runs 15] [--sizes 1000,10000,100000] [--out DIR]
//! lifecycle-bench w2 [--runs 15] [--out DIR]
//! lifecycle-bench w3 [--runs 201] [--out DIR]
//! lifecycle-bench w4 [--runs 21] [--out DIR]
//! lifecycle-bench callgrind [--n 1000] [--reps 2] [--out DIR]
//! lifecycle-bench child VARIANT N [--phase start|both|full]   (one run; used by w1/callgrind)
//! ```
//!
//! Workload 1 runs every sample in a fresh process (so RSS deltas and allocator state are not
//! inherited from another variant), the variants interleaved (rotated each round). Each child
//! does two start+stop iterations: the first is "cold" (fresh process; memory is sampled
//! there), the second "warm". Workloads 2–4 run in one process, interleaved, with a fresh
//! runtime per sample. Every table is printed as Markdown and the raw samples are written as
//! CSV to `--out` (default `benches/results`).
#![forbid(unsafe_code)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use lifecycle_benches::{Summary, rss_bytes, runtime, w1, w2, w34};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

/// Counts every allocation of the process (all variants pay the same two atomic adds).
#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

struct Args {
    rest: Vec<String>,
}

impl Args {
    fn value(&self, flag: &str) -> Option<&str> {
        self.rest
            .iter()
            .position(|a| a == flag)
            .and_then(|i| self.rest.get(i + 1))
            .map(String::as_str)
    }

    fn usize(&self, flag: &str, default: usize) -> usize {
        self.value(flag)
            .map_or(default, |v| v.parse().expect("number"))
    }

    fn out(&self) -> PathBuf {
        let dir = PathBuf::from(self.value("--out").unwrap_or("benches/results"));
        std::fs::create_dir_all(&dir).expect("create --out dir");
        dir
    }
}

fn main() {
    let mut argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.is_empty() {
        eprintln!("usage: lifecycle-bench w1|w2|w3|w4|callgrind|child …");
        std::process::exit(2);
    }
    let mode = argv.remove(0);
    let args = Args { rest: argv };
    match mode.as_str() {
        "child" => child(&args),
        "w1" => w1_driver(&args),
        "w2" => w2_driver(&args),
        "w3" => w3_driver(&args),
        "w4" => w4_driver(&args),
        "callgrind" => callgrind_driver(&args),
        other => {
            eprintln!("unknown mode {other}");
            std::process::exit(2);
        }
    }
}

// ---------------------------------------------------------------- workload 1: one process

/// One sample: `cold start_ns stop_ns net_bytes allocs rss_bytes` then `warm start_ns stop_ns`.
/// With `--phase start` the process exits right after the first start (for instruction counts);
/// with `--phase both` right after the first stop.
fn child(args: &Args) {
    let variant = w1::Variant::parse(&args.rest[0]).expect("variant");
    let n: usize = args.rest[1].parse().expect("n");
    let phase = args.value("--phase").unwrap_or("full").to_owned();
    let rt = runtime();
    rt.block_on(async {
        let rss0 = rss_bytes();
        let region = Region::new(GLOBAL);
        let mut sampled = None;
        let mut probe = || {
            if phase == "start" {
                std::process::exit(0);
            }
            // `realloc` already moves bytes_allocated/bytes_deallocated by the size change.
            let change = region.change();
            let net = change.bytes_allocated as i64 - change.bytes_deallocated as i64;
            sampled = Some((net, change.allocations, rss_bytes() as i64 - rss0 as i64));
        };
        let cold = w1::run(variant, n, &mut probe).await;
        if phase == "both" {
            std::process::exit(0);
        }
        let (net, allocs, rss) = sampled.expect("probe ran");
        println!(
            "cold {} {} {net} {allocs} {rss}",
            cold.start_ns, cold.stop_ns
        );
        let warm = w1::run(variant, n, &mut || {}).await;
        println!("warm {} {}", warm.start_ns, warm.stop_ns);
    });
}

#[derive(Default, Clone)]
struct W1Samples {
    cold_start: Vec<f64>,
    cold_stop: Vec<f64>,
    warm_start: Vec<f64>,
    warm_stop: Vec<f64>,
    bytes: Vec<f64>,
    allocs: Vec<f64>,
    rss: Vec<f64>,
}

fn run_child(variant: w1::Variant, n: usize) -> (Vec<f64>, Vec<f64>) {
    let exe = std::env::current_exe().expect("current exe");
    let out = Command::new(exe)
        .args(["child", variant.name(), &n.to_string()])
        .output()
        .expect("spawn child");
    assert!(
        out.status.success(),
        "child {} {n} failed: {}",
        variant.name(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf8");
    let mut lines = text.lines();
    let parse = |line: Option<&str>, tag: &str| -> Vec<f64> {
        let line = line.expect("child line");
        let mut parts = line.split_whitespace();
        assert_eq!(parts.next(), Some(tag));
        parts.map(|p| p.parse().expect("number")).collect()
    };
    let cold = parse(lines.next(), "cold");
    let warm = parse(lines.next(), "warm");
    (cold, warm)
}

fn w1_driver(args: &Args) {
    let runs = args.usize("--runs", 15);
    let sizes: Vec<usize> = args
        .value("--sizes")
        .unwrap_or("1000,10000,100000")
        .split(',')
        .map(|s| s.parse().expect("size"))
        .collect();
    let out = args.out();
    let mut csv = String::from(
        "n,variant,run,cold_start_ns,cold_stop_ns,warm_start_ns,warm_stop_ns,net_bytes,allocs,rss_bytes\n",
    );
    let mut report = String::new();
    for &n in &sizes {
        let mut samples: Vec<W1Samples> = vec![W1Samples::default(); 3];
        for run in 0..runs {
            for k in 0..3 {
                let idx = (run + k) % 3;
                let variant = w1::Variant::ALL[idx];
                let (cold, warm) = run_child(variant, n);
                let nf = n as f64;
                let s = &mut samples[idx];
                s.cold_start.push(cold[0] / 1e3 / nf);
                s.cold_stop.push(cold[1] / 1e3 / nf);
                s.bytes.push(cold[2] / nf);
                s.allocs.push(cold[3] / nf);
                s.rss.push(cold[4] / nf);
                s.warm_start.push(warm[0] / 1e3 / nf);
                s.warm_stop.push(warm[1] / 1e3 / nf);
                writeln!(
                    csv,
                    "{n},{},{run},{},{},{},{},{},{},{}",
                    variant.name(),
                    cold[0],
                    cold[1],
                    warm[0],
                    warm[1],
                    cold[2],
                    cold[3],
                    cold[4]
                )
                .expect("fmt");
                eprintln!(
                    "w1 n={n} run={run} {:>12}: warm start {:.3} µs/svc stop {:.3} µs/svc, {:.0} B/svc",
                    variant.name(),
                    warm[0] / 1e3 / nf,
                    warm[1] / 1e3 / nf,
                    cold[2] / nf
                );
            }
        }
        report.push_str(&w1_table(n, runs, &samples));
    }
    write(&out, "w1.csv", &csv);
    write(&out, "w1.md", &report);
    print!("{report}");
}

fn fmt_summary(s: &Summary, digits: usize) -> String {
    format!(
        "{:.d$} [{:.d$}–{:.d$}] ({:.d$}–{:.d$})",
        s.median,
        s.p25,
        s.p75,
        s.min,
        s.max,
        d = digits
    )
}

fn sum_vec(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x + y).collect()
}

fn w1_table(n: usize, runs: usize, samples: &[W1Samples]) -> String {
    let mut t = String::new();
    writeln!(
        t,
        "\n### Workload 1, N = {n} ({runs} runs per variant, one fresh process each)\n"
    )
    .ok();
    writeln!(t, "Median [p25–p75] (min–max). Times in µs per service.\n").ok();
    writeln!(t, "| variant | start (warm) | stop (warm) | start+stop (warm) | start+stop (cold) | bytes/svc (allocator, net) | allocs/svc | RSS delta/svc |").ok();
    writeln!(t, "|---|---|---|---|---|---|---|---|").ok();
    let mut totals_warm = Vec::new();
    let mut totals_cold = Vec::new();
    let mut bytes = Vec::new();
    let mut rss = Vec::new();
    for (k, s) in samples.iter().enumerate() {
        let warm = Summary::of(&sum_vec(&s.warm_start, &s.warm_stop));
        let cold = Summary::of(&sum_vec(&s.cold_start, &s.cold_stop));
        let b = Summary::of(&s.bytes);
        let r = Summary::of(&s.rss);
        writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} | {:.1} | {} |",
            w1::Variant::ALL[k].name(),
            fmt_summary(&Summary::of(&s.warm_start), 3),
            fmt_summary(&Summary::of(&s.warm_stop), 3),
            fmt_summary(&warm, 3),
            fmt_summary(&cold, 3),
            fmt_summary(&b, 0),
            Summary::of(&s.allocs).median,
            fmt_summary(&r, 0),
        )
        .ok();
        totals_warm.push(warm.median);
        totals_cold.push(cold.median);
        bytes.push(b.median);
        rss.push(r.median);
    }
    // Ratios of medians; and the median of per-round ratios (each round runs a, b, c back to back).
    let per_round = |x: &W1Samples, y: &W1Samples| {
        let xs = sum_vec(&x.warm_start, &x.warm_stop);
        let ys = sum_vec(&y.warm_start, &y.warm_stop);
        Summary::of(&xs.iter().zip(&ys).map(|(a, b)| a / b).collect::<Vec<_>>())
    };
    let ab = per_round(&samples[0], &samples[1]);
    let ca = per_round(&samples[2], &samples[0]);
    writeln!(t).ok();
    writeln!(
        t,
        "- start+stop a/b (lifecycle / hand-written): **{:.2}×** warm, {:.2}× cold (ratio of medians); per-round ratio median {:.2} [{:.2}–{:.2}]",
        totals_warm[0] / totals_warm[1],
        totals_cold[0] / totals_cold[1],
        ab.median,
        ab.p25,
        ab.p75
    )
    .ok();
    writeln!(
        t,
        "- start+stop c/a (tgs / lifecycle): **{:.2}×** warm, {:.2}× cold; per-round ratio median {:.2} [{:.2}–{:.2}]",
        totals_warm[2] / totals_warm[0],
        totals_cold[2] / totals_cold[0],
        ca.median,
        ca.p25,
        ca.p75
    )
    .ok();
    writeln!(
        t,
        "- bytes/service a/b: **{:.2}×** (allocator), {:.2}× (RSS); c/a: {:.2}× (allocator), {:.2}× (RSS)",
        bytes[0] / bytes[1],
        rss[0] / rss[1],
        bytes[2] / bytes[0],
        rss[2] / rss[0]
    )
    .ok();
    t
}

// ---------------------------------------------------------------- workloads 2–4: in process

fn w2_driver(args: &Args) {
    let runs = args.usize("--runs", 15);
    let out = args.out();
    let (levels, width, seed) = (10, 100, 0x5EED_2026);
    let dag = w2::Dag::generate(levels, width, seed);
    let critical = dag.critical_path().as_secs_f64() * 1e3;
    let level_by_level = dag.level_by_level(width).as_secs_f64() * 1e3;
    let mut samples = vec![Vec::new(); 3];
    let mut csv = String::from("variant,run,total_ns\n");
    for run in 0..runs {
        for k in 0..3 {
            let idx = (run + k) % 3;
            let variant = w2::Variant::ALL[idx];
            let rt = runtime();
            let ns = rt.block_on(w2::run(variant, &dag));
            drop(rt);
            samples[idx].push(ns as f64 / 1e6);
            writeln!(csv, "{},{run},{ns}", variant.name()).ok();
            eprintln!(
                "w2 run={run} {:>22}: {:.2} ms",
                variant.name(),
                ns as f64 / 1e6
            );
        }
    }
    let mut t = String::new();
    writeln!(t, "\n### Workload 2: dependency-ordered start ({levels} levels × {width}, 2 deps each, hooks 2–18 ms, seed {seed:#x}; {runs} runs)\n").ok();
    writeln!(t, "Critical path (sum of hook times along the longest chain): **{critical:.2} ms**; a level-by-level start would take {level_by_level:.2} ms.\n").ok();
    writeln!(
        t,
        "| variant | total ms, median [p25–p75] (min–max) | / critical path |"
    )
    .ok();
    writeln!(t, "|---|---|---|").ok();
    let mut medians = Vec::new();
    for (k, s) in samples.iter().enumerate() {
        let sum = Summary::of(s);
        medians.push(sum.median);
        writeln!(
            t,
            "| {} | {} | {:.3}× |",
            w2::Variant::ALL[k].name(),
            fmt_summary(&sum, 2),
            sum.median / critical
        )
        .ok();
    }
    let per_round = Summary::of(
        &samples[0]
            .iter()
            .zip(&samples[1])
            .map(|(a, b)| a / b)
            .collect::<Vec<_>>(),
    );
    writeln!(t, "\n- lifecycle / hand-written optimal: **{:.3}×** (ratio of medians); per-round ratio median {:.3} [{:.3}–{:.3}]", medians[0] / medians[1], per_round.median, per_round.p25, per_round.p75).ok();
    writeln!(t, "- serial / lifecycle: {:.1}×", medians[2] / medians[0]).ok();
    write(&out, "w2.csv", &csv);
    write(&out, "w2.md", &t);
    print!("{t}");
}

fn w3_driver(args: &Args) {
    let runs = args.usize("--runs", 201);
    let out = args.out();
    let mut samples = vec![Vec::new(); 3];
    let mut csv = String::from("variant,run,stop_ns\n");
    let rt = runtime();
    for run in 0..runs {
        for k in 0..3 {
            let idx = (run + k) % 3;
            let variant = w1::Variant::ALL[idx];
            let ns = rt.block_on(w34::stop_latency(variant));
            samples[idx].push(ns as f64 / 1e3);
            writeln!(csv, "{},{run},{ns}", variant.name()).ok();
        }
    }
    let mut t = String::new();
    writeln!(t, "\n### Workload 3: stop latency, one service, periodic task with a 30 s period ({runs} runs per variant, interleaved)\n").ok();
    writeln!(
        t,
        "| variant | stop() → return, µs: median [p25–p75] (min–max) |"
    )
    .ok();
    writeln!(t, "|---|---|").ok();
    for (k, s) in samples.iter().enumerate() {
        writeln!(
            t,
            "| {} | {} |",
            w1::Variant::ALL[k].name(),
            fmt_summary(&Summary::of(s), 1)
        )
        .ok();
    }
    write(&out, "w3.csv", &csv);
    write(&out, "w3.md", &t);
    print!("{t}");
}

fn w4_driver(args: &Args) {
    let runs = args.usize("--runs", 21);
    let out = args.out();
    let mut samples = vec![Vec::new(); 3];
    let mut reported = vec![String::new(); 3];
    let mut csv = String::from("variant,run,stop_ns\n");
    let rt = runtime();
    for run in 0..runs {
        for k in 0..3 {
            let idx = (run + k) % 3;
            let variant = w1::Variant::ALL[idx];
            let (ns, what) = rt.block_on(w34::stuck_task(variant));
            samples[idx].push(ns as f64 / 1e6);
            reported[idx] = what;
            writeln!(csv, "{},{run},{ns}", variant.name()).ok();
        }
    }
    let mut t = String::new();
    writeln!(t, "\n### Workload 4: a task that ignores cancellation, stop_timeout = {:?} ({runs} runs per variant, interleaved)\n", w34::STUCK_TIMEOUT).ok();
    writeln!(
        t,
        "| variant | stop() → return, ms: median [p25–p75] (min–max) | what the stop reports |"
    )
    .ok();
    writeln!(t, "|---|---|---|").ok();
    for (k, s) in samples.iter().enumerate() {
        writeln!(
            t,
            "| {} | {} | `{}` |",
            w1::Variant::ALL[k].name(),
            fmt_summary(&Summary::of(s), 2),
            reported[k].replace('|', "\\|")
        )
        .ok();
    }
    write(&out, "w4.csv", &csv);
    write(&out, "w4.md", &t);
    print!("{t}");
}

// ---------------------------------------------------------------- instruction counts

fn instructions(variant: w1::Variant, n: usize, phase: &str) -> u64 {
    let exe = std::env::current_exe().expect("current exe");
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(exe)
        .args(["child", variant.name(), &n.to_string(), "--phase", phase])
        .output()
        .expect("run valgrind");
    let stderr = String::from_utf8_lossy(&out.stderr);
    stderr
        .lines()
        .find_map(|l| l.split("Collected :").nth(1))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "no callgrind total for {} {n} {phase}: {stderr}",
                variant.name()
            )
        })
}

fn callgrind_driver(args: &Args) {
    let n = args.usize("--n", 1000);
    let reps = args.usize("--reps", 2);
    let out = args.out();
    let mut csv = String::from("variant,rep,n,phase,instructions\n");
    // [variant] -> per-rep (start/svc, stop/svc)
    let mut per: Vec<Vec<(f64, f64)>> = vec![Vec::new(); 3];
    for rep in 0..reps {
        for (k, variant) in w1::Variant::ALL.into_iter().enumerate() {
            let mut get = |m: usize, phase: &str| {
                let i = instructions(variant, m, phase);
                writeln!(csv, "{},{rep},{m},{phase},{i}", variant.name()).ok();
                eprintln!("callgrind {} n={m} {phase}: {i}", variant.name());
                i as f64
            };
            let s1 = get(n, "start");
            let s2 = get(2 * n, "start");
            let b1 = get(n, "both");
            let b2 = get(2 * n, "both");
            let start = (s2 - s1) / n as f64;
            let both = (b2 - b1) / n as f64;
            per[k].push((start, both - start));
        }
    }
    let mut t = String::new();
    writeln!(t, "\n### Instruction counts, workload 1 (callgrind; per service = (I(2N) − I(N)) / N with N = {n}; {reps} repetitions)\n").ok();
    writeln!(t, "Start includes each service's first tick (the harness waits for it before the phase ends).\n").ok();
    writeln!(t, "Median (min–max) over the repetitions.\n").ok();
    writeln!(
        t,
        "| variant | start instr/svc | stop instr/svc | start+stop instr/svc |"
    )
    .ok();
    writeln!(t, "|---|---|---|---|").ok();
    let mut totals = Vec::new();
    for (k, reps) in per.iter().enumerate() {
        let show = |f: &dyn Fn(&(f64, f64)) -> f64| {
            let s = Summary::of(&reps.iter().map(f).collect::<Vec<_>>());
            format!("{:.0} ({:.0}–{:.0})", s.median, s.min, s.max)
        };
        totals.push(Summary::of(&reps.iter().map(|r| r.0 + r.1).collect::<Vec<_>>()).median);
        writeln!(
            t,
            "| {} | {} | {} | {} |",
            w1::Variant::ALL[k].name(),
            show(&|r| r.0),
            show(&|r| r.1),
            show(&|r| r.0 + r.1)
        )
        .ok();
    }
    writeln!(
        t,
        "\n- start+stop instructions a/b: **{:.2}×**; c/a: **{:.2}×** (ratios of medians)",
        totals[0] / totals[1],
        totals[2] / totals[0]
    )
    .ok();
    write(&out, &format!("callgrind-n{n}.csv"), &csv);
    write(&out, &format!("callgrind-n{n}.md"), &t);
    print!("{t}");
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write results");
}
