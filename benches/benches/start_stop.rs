//! In-process criterion benchmarks of the small sizes: workload 1 at N = 1 000 (start+stop,
//! three variants) and workload 3 (stop latency). The whole-process figures (memory, large N,
//! workloads 2 and 4) come from `src/bin/lifecycle-bench.rs`.
#![forbid(unsafe_code)]

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use lifecycle_benches::{runtime, w1, w34};

fn start_stop(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("w1_start_stop");
    group
        .sample_size(15)
        .measurement_time(Duration::from_secs(5));
    let n = 1_000;
    for variant in w1::Variant::ALL {
        group.bench_with_input(BenchmarkId::new(variant.name(), n), &n, |b, &n| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let t = rt.block_on(w1::run(variant, n, &mut || {}));
                    total += Duration::from_nanos(t.start_ns + t.stop_ns);
                }
                total
            });
        });
    }
    group.finish();
}

fn stop_latency(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("w3_stop_latency");
    group.sample_size(20);
    for variant in w1::Variant::ALL {
        group.bench_function(variant.name(), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| Duration::from_nanos(rt.block_on(w34::stop_latency(variant))))
                    .sum()
            });
        });
    }
    group.finish();
}

criterion_group!(benches, start_stop, stop_latency);
criterion_main!(benches);
