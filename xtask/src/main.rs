//! xtask: the project's automation, run as `cargo xtask <command>`.
//!
//! Every command prints each step it runs, ends with one summary line and
//! exits non-zero when any step failed.

mod checks;
mod eval_calls;
mod repeat;
mod structure;

use std::process::{Command, ExitCode};
use std::time::Instant;

use clap::{Args, Parser, Subcommand};

use eval_calls::Language;

#[derive(Parser)]
#[command(name = "xtask", about = "kausal project automation")]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Subcommand)]
enum Task {
    /// fmt check, clippy -D warnings, dependency direction, std::fs check,
    /// cargo package of every library crate, valgrind over kausal-memory,
    /// every test, example and doc test.
    TestAll,
    /// The quick in-process checks of test-all alone (seconds): dependency
    /// direction, std::fs, import loops, file and function sizes.
    Checks,
    /// The storage crate's tests and the storage scenario tests.
    TestStorage,
    /// `cargo package` of every publishable crate (the test-all step).
    Package,
    /// The main job: the benchmark harness (release build), with the fjall
    /// and redb peers unless --no-peer; writes target/benchmark/latest.json
    /// and report.html (charts, checked by parsing them back).
    Benchmark(BenchmarkOptions),
    /// kausal-memory's tests under valgrind (all of the workspace's unsafe).
    ValgrindMemory,
    /// Runs the chosen tests many times, optionally with busy threads
    /// competing for the cores, and prints `N passed, M failed` with the
    /// first failure's output: how a flaky test is found before CI finds it.
    Repeat {
        /// How many times to run the selection.
        #[arg(long, default_value_t = 20)]
        runs: u32,
        /// Only this package's tests (repeatable; all packages without it).
        #[arg(short = 'p', long = "package", value_name = "PKG")]
        packages: Vec<String>,
        /// Only this integration test target (repeatable).
        #[arg(long = "test", value_name = "NAME")]
        tests: Vec<String>,
        /// Busy threads spinning beside the runs.
        #[arg(long, default_value_t = 0)]
        load: usize,
        /// Passed to every test binary (a name filter, `--exact`, ...).
        #[arg(last = true)]
        test_args: Vec<String>,
    },
    /// Deterministic simulation of the engine under faults (release build).
    Sim(SimOptions),
    /// Precision and recall of kausal's call edges against reference
    /// indexers (rust-analyzer scip, scip-python, scip-typescript) on a
    /// pinned corpus fetched from crates.io, PyPI and npm (needs the
    /// network; not part of test-all).
    EvalCalls(EvalCallsOptions),
    /// kausal-export's DataFusion test: two repositories exported and
    /// joined in SQL (docs/EXPORT.md's query). Not in test-all: building
    /// DataFusion takes minutes on two cores; test-all checks the same
    /// answer through the Parquet reader.
    ExportCheck,
}

/// Options of `cargo xtask eval-calls`.
#[derive(Args)]
struct EvalCallsOptions {
    /// Only the projects of this language.
    #[arg(long, value_enum)]
    lang: Option<Language>,
    /// Only this project of the corpus (its registry name).
    #[arg(long, value_name = "NAME")]
    project: Option<String>,
    /// Where the corpus, the indexes and the results go (relative to the
    /// workspace root).
    #[arg(long, value_name = "DIR", default_value = EVAL_DIR)]
    dir: std::path::PathBuf,
    /// Print the first N false positives and misses of each project (all
    /// of them are in its edges.txt).
    #[arg(long, value_name = "N", default_value_t = 0)]
    show: usize,
    /// Also install and run the peer tools (GitNexus, CodeGraphContext)
    /// on each project and score their call edges the same way.
    #[arg(long)]
    peers: bool,
}

/// Options of `cargo xtask benchmark`.
#[derive(Args)]
struct BenchmarkOptions {
    /// Smaller data sets, under 10 seconds.
    #[arg(long)]
    quick: bool,
    /// Skip building and running the fjall and redb peers.
    #[arg(long)]
    no_peer: bool,
    /// Save this run as baseline NAME.
    #[arg(long, value_name = "NAME")]
    save_baseline: Option<String>,
    /// Compare with baseline NAME.
    #[arg(long, value_name = "NAME")]
    baseline: Option<String>,
    /// Run only these groups (comma-separated, passed to the harness:
    /// writes, lookups, edges, traversals, bulk, concurrent, ingest,
    /// cli, server, precise, kausaldb, peers, scale).
    #[arg(long, value_name = "GROUPS")]
    only: Option<String>,
    /// The big tree of the `scale` group: the Linux source (`apt-get
    /// install linux-source-6.1`, then `tar xf
    /// /usr/src/linux-source-6.1.tar.xz`); the group is skipped without it.
    #[arg(long, value_name = "DIR")]
    corpus: Option<std::path::PathBuf>,
    /// Then score kausal's call edges against the reference indexers
    /// (`cargo xtask eval-calls` on the whole corpus, into target/eval;
    /// needs the network and the indexers, a few minutes) and print the
    /// precision/recall table beside the benchmark's.
    #[arg(long)]
    eval_calls: bool,
}

/// Options of `cargo xtask sim`.
#[derive(Args)]
struct SimOptions {
    /// Number of seeds to run.
    #[arg(long, default_value_t = 1000)]
    seeds: u64,
    /// Operations per seed.
    #[arg(long, default_value_t = 2000)]
    ops: usize,
    /// Replay exactly this seed.
    #[arg(long)]
    seed: Option<u64>,
    /// First seed of the range.
    #[arg(long, default_value_t = 0)]
    first_seed: u64,
    /// Turn a fault kind off (repeatable; `kausal-sim --help` lists them).
    #[arg(long, value_name = "KIND")]
    without: Vec<String>,
    /// Start with the data directory already durable.
    #[arg(long)]
    premade_data_dir: bool,
    /// Bits each WAL bit flip flips, within one sector.
    #[arg(long, default_value_t = 1)]
    wal_flip_bits: u32,
}

/// One step of a task: a name and its outcome.
struct StepResult {
    name: String,
    ok: bool,
    seconds: f64,
}

/// Runs steps in order and remembers their outcomes.
struct Runner {
    results: Vec<StepResult>,
}

impl Runner {
    fn new() -> Self {
        Self {
            results: Vec::new(),
        }
    }

    /// Runs `program args...` from the workspace root as a step.
    fn command(&mut self, name: &str, program: &str, args: &[&str]) -> bool {
        self.command_with_env(name, program, args, &[])
    }

    /// `command` with these environment variables set for the program.
    fn command_with_env(
        &mut self,
        name: &str,
        program: &str,
        args: &[&str],
        env: &[(&str, String)],
    ) -> bool {
        let shown: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v} ")).collect();
        println!("==> {name}: {}{program} {}", shown.concat(), args.join(" "));
        let started = Instant::now();
        let ok = Command::new(program)
            .args(args)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .current_dir(checks::workspace_root())
            .status()
            .map(|status| status.success())
            .unwrap_or_else(|error| {
                eprintln!("    could not start {program}: {error}");
                false
            });
        self.record(name, ok, started)
    }

    /// Runs an in-process check as a step.
    fn check(&mut self, name: &str, check: impl FnOnce() -> Result<String, String>) -> bool {
        println!("==> {name}");
        let started = Instant::now();
        let ok = match check() {
            Ok(message) => {
                println!("    {message}");
                true
            }
            Err(message) => {
                eprintln!("    FAILED: {message}");
                false
            }
        };
        self.record(name, ok, started)
    }

    fn record(&mut self, name: &str, ok: bool, started: Instant) -> bool {
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "    {} {name} ({seconds:.1}s)",
            if ok { "ok" } else { "FAILED" }
        );
        self.results.push(StepResult {
            name: name.to_string(),
            ok,
            seconds,
        });
        ok
    }

    fn finish(self, task: &str) -> ExitCode {
        let failed: Vec<&str> = self
            .results
            .iter()
            .filter(|result| !result.ok)
            .map(|result| result.name.as_str())
            .collect();
        let seconds: f64 = self.results.iter().map(|result| result.seconds).sum();
        if failed.is_empty() {
            println!(
                "xtask {task}: {} of {} steps passed in {seconds:.0}s",
                self.results.len(),
                self.results.len()
            );
            ExitCode::SUCCESS
        } else {
            println!(
                "xtask {task}: FAILED {} of {} steps ({}) in {seconds:.0}s",
                failed.len(),
                self.results.len(),
                failed.join(", ")
            );
            ExitCode::FAILURE
        }
    }
}

/// Scenario tests in `tests/` that exercise the storage engine.
const STORAGE_SCENARIOS: &[&str] = &[
    "engine_lifecycle",
    "wal_streaming_recovery",
    "enhanced_compaction_strategies",
    "storage_model",
    "corruption_detection",
    "wal_fault_recovery",
    "compaction_faults",
    "ingestion_faults",
    "concurrency_stress",
];

fn test_storage(runner: &mut Runner) {
    runner.command(
        "storage crate tests",
        "cargo",
        &["test", "--package", "kausal-storage"],
    );
    for scenario in STORAGE_SCENARIOS {
        runner.command(
            &format!("scenario {scenario}"),
            "cargo",
            &["test", "--package", "kausal-tests", "--test", scenario],
        );
    }
}

fn valgrind_memory(runner: &mut Runner) {
    let binary = match checks::test_binary("kausal-memory") {
        Ok(binary) => binary,
        Err(message) => {
            runner.check("build kausal-memory tests", || Err(message));
            return;
        }
    };
    runner.command(
        "valgrind kausal-memory tests",
        "valgrind",
        &[
            "--error-exitcode=1",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            "--quiet",
            &binary,
            "--test-threads=1",
        ],
    );
}

/// Where `eval-calls` (and `benchmark --eval-calls`) put the corpus, the
/// indexes and the results, relative to the workspace root.
const EVAL_DIR: &str = "target/eval";

/// The seed `test-all` gives property tests (`PROPTEST_RNG_SEED`).
const PROPTEST_SEED: u64 = 20_261_206;

/// The benchmark task: the release `kausal` binary, then the harness, then
/// a look at the report it wrote.
fn benchmark(runner: &mut Runner, options: &BenchmarkOptions) {
    let BenchmarkOptions {
        quick,
        no_peer,
        save_baseline,
        baseline,
        only,
        corpus,
        eval_calls: _,
    } = options;
    let mut args = vec![
        "run",
        "--release",
        "--quiet",
        "--package",
        "kausal-benches",
        "--bin",
        "kausal-bench",
    ];
    if !*no_peer {
        args.extend(["--features", "fjall,redb"]);
    }
    args.push("--");
    if *quick {
        args.push("--quick");
    }
    if let Some(name) = &save_baseline {
        args.extend(["--save-baseline", name]);
    }
    if let Some(name) = &baseline {
        args.extend(["--baseline", name]);
    }
    if let Some(groups) = &only {
        args.extend(["--only", groups]);
    }
    // Absolute: the harness runs from the workspace root.
    let corpus = corpus
        .as_ref()
        .map(|dir| std::path::absolute(dir).unwrap_or_else(|_| dir.clone()));
    let corpus_arg = corpus.as_ref().map(|dir| dir.to_string_lossy().to_string());
    if let Some(dir) = &corpus_arg {
        args.extend(["--corpus", dir]);
    }
    // The `kausal callers` row runs the release binary as a whole
    // process; the harness finds it beside itself.
    let binary_built = runner.command(
        "kausal binary (release)",
        "cargo",
        &[
            "build",
            "--release",
            "--quiet",
            "--package",
            "kausal-cli",
            "--bin",
            "kausal",
        ],
    );
    if binary_built && runner.command("benchmark harness", "cargo", &args) {
        runner.check("report.html written", || {
            let report = checks::workspace_root()
                .join("target")
                .join("benchmark")
                .join("report.html");
            let text = std::fs::read_to_string(&report)
                .map_err(|error| format!("{}: {error}", report.display()))?;
            // The harness parsed every chart back before writing;
            // here: the file is this run's and holds charts.
            let charts = text.matches("<svg").count();
            if charts == 0 {
                return Err(format!("{} holds no chart", report.display()));
            }
            Ok(format!("{} ({charts} charts)", report.display()))
        });
    }
}

/// The simulation task: `kausal-sim` in release mode with these options.
fn sim(runner: &mut Runner, options: &SimOptions) {
    let SimOptions {
        seeds,
        ops,
        seed,
        first_seed,
        without,
        premade_data_dir,
        wal_flip_bits,
    } = options;
    let seeds = seeds.to_string();
    let ops = ops.to_string();
    let first_seed = first_seed.to_string();
    let wal_flip_bits = wal_flip_bits.to_string();
    let mut args = vec![
        "run",
        "--release",
        "--quiet",
        "--package",
        "kausal-sim",
        "--bin",
        "kausal-sim",
        "--",
        "--seeds",
        &seeds,
        "--ops",
        &ops,
        "--first-seed",
        &first_seed,
    ];
    let seed_text = seed.map(|seed| seed.to_string());
    if let Some(seed_text) = &seed_text {
        args.extend(["--seed", seed_text]);
    }
    for kind in without {
        args.extend(["--without", kind]);
    }
    if *premade_data_dir {
        args.push("--premade-data-dir");
    }
    args.extend(["--wal-flip-bits", &wal_flip_bits]);
    runner.command("simulation", "cargo", &args);
}

/// kausal-export's DataFusion test (`cargo xtask export-check`): built
/// with the `datafusion-test` feature, which test-all leaves off.
fn export_check(runner: &mut Runner) {
    runner.command(
        "DataFusion cross-repository query (kausal-export)",
        "cargo",
        &[
            "test",
            "--package",
            "kausal-export",
            "--features",
            "datafusion-test",
            "--test",
            "datafusion_query",
        ],
    );
}

/// The in-process checks over the sources and manifests (test-all's and
/// `cargo xtask checks`).
fn source_checks(runner: &mut Runner) {
    runner.check("dependency direction", checks::dependency_direction);
    runner.check("no std::fs outside OsVfs", checks::no_std_fs);
    runner.check("no import loop inside a crate", structure::no_import_loops);
    runner.check("file and function size limits", structure::size_limits);
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut runner = Runner::new();
    match cli.command {
        Task::TestAll => {
            runner.command("rustfmt", "cargo", &["fmt", "--all", "--", "--check"]);
            runner.command(
                "clippy",
                "cargo",
                &[
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--",
                    "-D",
                    "warnings",
                ],
            );
            source_checks(&mut runner);
            // After clippy, whose build filled the registry index cache that
            // offline packaging resolves third-party dependencies from.
            runner.check("cargo package (library crates)", checks::package_crates);
            valgrind_memory(&mut runner);
            // `cargo test` also builds every example (crates/*/examples/)
            // without running it, and clippy --all-targets above lints them,
            // so examples need no step of their own.
            // Property tests draw their cases from a fixed seed here, so a
            // run's verdict does not depend on chance (a new seed explores:
            // `PROPTEST_RNG_SEED=N cargo xtask test-all`, or plain `cargo
            // test`, which draws a random one).
            let seed =
                std::env::var("PROPTEST_RNG_SEED").unwrap_or_else(|_| PROPTEST_SEED.to_string());
            runner.command_with_env(
                "workspace tests, examples and doc tests",
                "cargo",
                &["test", "--workspace"],
                &[("PROPTEST_RNG_SEED", seed)],
            );
            runner.finish("test-all")
        }
        Task::Checks => {
            source_checks(&mut runner);
            runner.finish("checks")
        }
        Task::Package => {
            runner.check("cargo package (library crates)", checks::package_crates);
            runner.finish("package")
        }
        Task::TestStorage => {
            test_storage(&mut runner);
            runner.finish("test-storage")
        }
        Task::Benchmark(options) => {
            benchmark(&mut runner, &options);
            let benchmark_code = runner.finish("benchmark");
            if !options.eval_calls {
                return benchmark_code;
            }
            let eval_code = eval_calls::eval_calls(&eval_calls::Plan {
                language: None,
                project: None,
                dir: std::path::PathBuf::from(EVAL_DIR),
                show: 0,
                peers: false,
            });
            if benchmark_code == ExitCode::SUCCESS {
                eval_code
            } else {
                benchmark_code
            }
        }
        Task::Repeat {
            runs,
            packages,
            tests,
            load,
            test_args,
        } => {
            let plan = repeat::RepeatPlan {
                runs,
                packages,
                tests,
                load,
                test_args,
            };
            runner.check("repeat", || repeat::repeat(&plan));
            runner.finish("repeat")
        }
        Task::ValgrindMemory => {
            valgrind_memory(&mut runner);
            runner.finish("valgrind-memory")
        }
        Task::Sim(options) => {
            sim(&mut runner, &options);
            runner.finish("sim")
        }
        Task::ExportCheck => {
            export_check(&mut runner);
            runner.finish("export-check")
        }
        Task::EvalCalls(options) => eval_calls::eval_calls(&eval_calls::Plan {
            language: options.lang,
            project: options.project,
            dir: options.dir,
            show: options.show,
            peers: options.peers,
        }),
    }
}
