//! How the cost of a simulation step grows over one long run: the same
//! seeded workload (`wspsim random`, every fault), measured as blocks of
//! 10,000 steps taken at the start of a run and after 100,000 and 1,000,000
//! steps of the same run. The first block is the baseline: a step late in
//! a long run must cost what a step early in it costs (the driver's and
//! the network's bookkeeping grow with what is alive, not with history).
//!
//! Run: `cargo bench --bench sim`. Compare the three, not absolute times.

use criterion::{Criterion, criterion_group, criterion_main};
use std::time::{Duration, Instant};
use winsock_provider::sim::{Action, Driver, SeededBytes};

const SEED: u64 = 7;
const BLOCK: usize = 10_000;

/// A driver that has run the first `after` steps of the seeded workload,
/// and the rest of the workload.
fn advanced(after: usize) -> (Driver, impl Iterator<Item = Action>) {
    let mut bytes = SeededBytes::new(SEED);
    let mut actions = std::iter::from_fn(move || Action::decode(&mut bytes));
    let mut d = Driver::new(SEED, false);
    for a in actions.by_ref().take(after) {
        d.step(a);
    }
    (d, actions)
}

fn steps_over_a_long_run(c: &mut Criterion) {
    let mut g = c.benchmark_group("driver_10k_steps");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    for after in [0, 100_000, 1_000_000] {
        let (mut d, mut actions) = advanced(after);
        g.bench_function(format!("after_{after}_steps"), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    for a in actions.by_ref().take(BLOCK) {
                        d.step(a);
                    }
                }
                start.elapsed()
            })
        });
        assert!(d.failures().is_empty(), "{:?}", d.failures());
    }
    g.finish();
}

criterion_group!(benches, steps_over_a_long_run);
criterion_main!(benches);
