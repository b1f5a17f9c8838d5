//! Scenario: an I/O error or a crash at every mutating step of a flush and a
//! compaction (table write, table sync, directory sync, manifest write,
//! rename, old file removal): no acknowledged write is lost, nothing deleted
//! comes back, and no file is leaked once a compaction succeeds.

use kausal_sim::model::Mutation;
use kausal_sim::workload::{Action, Weights, Workload};
use kausal_sim::{FaultConfig, Runner, Stop};
use kausal_storage::{BlockId, EdgeType, GraphEdge};

const ID_SPACE: u128 = 48;

fn unwrap_stop<T>(result: Result<T, Stop>, context: &str) -> T {
    match result {
        Ok(value) => value,
        Err(stop) => panic!("{context}: {stop:?}"),
    }
}

/// A runner holding several tables with overwrites, deletes and edges, and
/// a non-empty memtable.
fn populated_runner(seed: u64) -> (Runner, Workload) {
    let mut runner = unwrap_stop(Runner::new(seed, ID_SPACE, FaultConfig::default()), "open");
    let mut workload = Workload::new(seed, ID_SPACE, Weights::default());
    for round in 0..5u128 {
        for n in 1..=12u128 {
            let id = BlockId::from_u128((n * 3 + round) % ID_SPACE + 1);
            let block = workload.block();
            let mutations = vec![
                Mutation::PutBlock(id, block),
                Mutation::PutEdge(GraphEdge::new(id, BlockId::from_u128(n), EdgeType::Calls)),
            ];
            unwrap_stop(runner.write(mutations, n % 2 == 0), "populate");
        }
        let doomed = BlockId::from_u128(round * 7 % ID_SPACE + 1);
        unwrap_stop(
            runner.write(vec![Mutation::DeleteBlock(doomed)], false),
            "delete",
        );
        if round < 4 {
            unwrap_stop(runner.step(Action::Flush, &mut workload), "flush");
        }
    }
    (runner, workload)
}

fn leaked_files(runner: &Runner) -> Vec<String> {
    use kausal_vfs::Vfs;
    let engine = runner.engine_ref().expect("engine open");
    let tables = engine.metrics().sstable_count;
    let names = runner.vfs.list_dir(runner.dir()).expect("list");
    let table_files = names.iter().filter(|name| name.ends_with(".sst")).count();
    let mut leaked: Vec<String> = names
        .iter()
        .filter(|name| {
            !(name.ends_with(".sst")
                || name.starts_with("wal-")
                || *name == "MANIFEST"
                || *name == "LOCK")
        })
        .cloned()
        .collect();
    if table_files != tables {
        leaked.push(format!(
            "{table_files} table files for {tables} live tables"
        ));
    }
    let segments = names.iter().filter(|name| name.starts_with("wal-")).count();
    if segments > 1 {
        leaked.push(format!("{segments} WAL segments after a flush"));
    }
    leaked
}

fn fail_every_step(crash: bool) -> u64 {
    let mut step = 1;
    loop {
        let (mut runner, mut workload) = populated_runner(1000 + step);
        let crashes_before = runner.vfs.counts().crashes;
        runner.vfs.schedule_failure(step, crash);
        for action in [Action::Flush, Action::CompactAll] {
            if runner.vfs.counts().crashes > crashes_before {
                break;
            }
            unwrap_stop(runner.step(action, &mut workload), &format!("step {step}"));
        }
        let fired = !runner.vfs.failure_pending();
        if !fired {
            // The failure point lies past every step of flush and compaction.
            return step;
        }
        if runner.vfs.counts().crashes > crashes_before {
            // The disk lost power mid-operation: recover and compare.
            unwrap_stop(
                runner.restart(false),
                &format!("recovery after crash at step {step}"),
            );
        }
        unwrap_stop(
            runner.check_all(),
            &format!("state after failure at step {step}"),
        );
        // A later flush and compaction succeed and leave no stray file.
        unwrap_stop(runner.step(Action::Flush, &mut workload), "flush");
        unwrap_stop(runner.step(Action::CompactAll, &mut workload), "compact");
        unwrap_stop(runner.check_all(), "state after successful compaction");
        let leaked = leaked_files(&runner);
        assert!(
            leaked.is_empty(),
            "step {step} (crash {crash}): leaked {leaked:?}"
        );
        unwrap_stop(runner.restart(true), "final crash");
        step += 1;
    }
}

#[test]
fn io_error_at_every_step_of_flush_and_compaction() {
    let steps = fail_every_step(false);
    eprintln!("flush + compaction: {steps} mutating steps, each failed once");
    assert!(
        steps > 15,
        "flush and compaction take {steps} mutating steps"
    );
}

#[test]
fn crash_at_every_step_of_flush_and_compaction() {
    let steps = fail_every_step(true);
    eprintln!("flush + compaction: {steps} mutating steps, each crashed once");
    assert!(
        steps > 15,
        "flush and compaction take {steps} mutating steps"
    );
}
