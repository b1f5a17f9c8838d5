//! The fixed seed set of the simulator: 200 seeds x 2,000 operations with
//! every fault kind, run by `cargo xtask test-all`. Longer soaks:
//! `cargo xtask sim --seeds 10000`.

use kausal_sim::{SimOptions, Stop, run_seed};

const SEEDS: u64 = 200;
const OPS: usize = 2_000;

#[test]
fn fixed_seeds_never_lose_or_corrupt_data() {
    let mut failures = Vec::new();
    let mut operations = 0;
    let mut recoveries = 0;
    let mut faults = 0;
    for seed in 0..SEEDS {
        let report = run_seed(&SimOptions::standard(seed, OPS));
        operations += report.ops_run;
        recoveries += report.recoveries;
        faults += report.faults.total();
        if let Some(Stop::Failure { op, message }) = &report.stop {
            failures.push(format!(
                "seed {seed} op {op}: {message}\n  replay: cargo xtask sim --seed {seed} --ops {op}"
            ));
        }
    }
    eprintln!("{SEEDS} seeds, {operations} operations, {recoveries} recoveries, {faults} faults");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The runs must have done real work, not stopped at once.
    assert!(
        operations > SEEDS as usize * OPS / 2,
        "{operations} operations"
    );
    assert!(recoveries > SEEDS, "{recoveries} recoveries");
    assert!(faults > SEEDS, "{faults} faults");
}

#[test]
fn same_seed_same_run() {
    let first = run_seed(&SimOptions::standard(4242, 600));
    let second = run_seed(&SimOptions::standard(4242, 600));
    assert_eq!(first, second);
}
