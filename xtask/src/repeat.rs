//! `cargo xtask repeat`: runs chosen test binaries many times, optionally
//! with busy threads competing for the cores, to find flaky tests before CI
//! does.
//!
//! The test binaries are built once (`cargo test --no-run`), then each run
//! executes every selected binary directly, from its package's directory as
//! `cargo test` would. A run passes when every binary exits 0.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::checks::workspace_root;

/// What to repeat.
pub struct RepeatPlan {
    /// How many times to run the selection.
    pub runs: u32,
    /// Packages whose tests run (all of the workspace when empty).
    pub packages: Vec<String>,
    /// Integration test targets (`--test NAME`); all of the packages'
    /// test binaries when empty.
    pub tests: Vec<String>,
    /// Busy-spinning threads started beside the runs.
    pub load: usize,
    /// Arguments passed to every test binary (a name filter, `--exact` …).
    pub test_args: Vec<String>,
}

/// One test binary, as cargo built it.
struct TestBinary {
    path: PathBuf,
    /// The package directory: tests run from there, as under `cargo test`.
    package_dir: PathBuf,
    name: String,
}

/// Runs the plan; `Ok` with the summary line when every run passed.
pub fn repeat(plan: &RepeatPlan) -> Result<String, String> {
    let binaries = build(plan)?;
    if binaries.is_empty() {
        return Err("the selection has no test binary".into());
    }
    let names: Vec<&str> = binaries.iter().map(|binary| binary.name.as_str()).collect();
    println!(
        "    {} runs of [{}] with {} busy threads",
        plan.runs,
        names.join(", "),
        plan.load
    );
    let stop = Arc::new(AtomicBool::new(false));
    let spinners: Vec<_> = (0..plan.load)
        .map(|_| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut counter = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    counter = std::hint::black_box(counter.wrapping_add(1));
                }
            })
        })
        .collect();
    let started = Instant::now();
    let mut passed = 0u32;
    let mut failed = 0u32;
    let mut first_failure: Option<String> = None;
    for run in 1..=plan.runs {
        let mut run_ok = true;
        for binary in &binaries {
            let output = Command::new(&binary.path)
                .args(&plan.test_args)
                .current_dir(&binary.package_dir)
                .env("CARGO_MANIFEST_DIR", &binary.package_dir)
                .stdin(Stdio::null())
                .output();
            let ok = match output {
                Ok(output) if output.status.success() => true,
                Ok(output) => {
                    if first_failure.is_none() {
                        first_failure = Some(format!(
                            "run {run}, {} ({}):\n{}{}",
                            binary.name,
                            output.status,
                            String::from_utf8_lossy(&output.stdout),
                            String::from_utf8_lossy(&output.stderr)
                        ));
                    }
                    false
                }
                Err(error) => {
                    if first_failure.is_none() {
                        first_failure = Some(format!(
                            "run {run}: cannot start {}: {error}",
                            binary.path.display()
                        ));
                    }
                    false
                }
            };
            if !ok {
                println!("    run {run}: {} FAILED", binary.name);
                run_ok = false;
            }
        }
        if run_ok {
            passed += 1;
        } else {
            failed += 1;
        }
        if run % 10 == 0 || run == plan.runs {
            println!(
                "    {run} of {} runs: {passed} passed, {failed} failed ({:.0}s)",
                plan.runs,
                started.elapsed().as_secs_f64()
            );
        }
    }
    stop.store(true, Ordering::Relaxed);
    for spinner in spinners {
        let _ = spinner.join();
    }
    println!("{passed} passed, {failed} failed");
    match first_failure {
        None => Ok(format!(
            "{passed} runs in {:.0}s",
            started.elapsed().as_secs_f64()
        )),
        Some(output) => Err(format!(
            "{failed} of {} runs failed; the first failure:\n{output}",
            plan.runs
        )),
    }
}

/// Builds the selected test binaries and lists them.
fn build(plan: &RepeatPlan) -> Result<Vec<TestBinary>, String> {
    let mut args = vec![
        "test".to_string(),
        "--no-run".into(),
        "--message-format=json-render-diagnostics".into(),
    ];
    if plan.packages.is_empty() {
        args.push("--workspace".into());
    }
    for package in &plan.packages {
        args.extend(["--package".into(), package.clone()]);
    }
    for test in &plan.tests {
        args.extend(["--test".into(), test.clone()]);
    }
    let output = Command::new("cargo")
        .args(&args)
        .current_dir(workspace_root())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|error| format!("cannot run cargo: {error}"))?;
    if !output.status.success() {
        return Err(format!("cargo {} failed", args.join(" ")));
    }
    let mut binaries = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact" || message["profile"]["test"] != true {
            continue;
        }
        let (Some(path), Some(manifest)) = (
            message["executable"].as_str(),
            message["manifest_path"].as_str(),
        ) else {
            continue;
        };
        let package_dir = PathBuf::from(manifest)
            .parent()
            .map(PathBuf::from)
            .unwrap_or_else(workspace_root);
        let kind = message["target"]["kind"][0].as_str().unwrap_or("test");
        let target = message["target"]["name"].as_str().unwrap_or("?");
        binaries.push(TestBinary {
            path: PathBuf::from(path),
            package_dir,
            name: format!("{target} ({kind})"),
        });
    }
    Ok(binaries)
}
