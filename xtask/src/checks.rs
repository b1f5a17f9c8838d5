//! In-process checks of `cargo xtask test-all`: the crate layering and the
//! rule that only `OsVfs` touches `std::fs`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The layered crates, lowest first: each may depend only on crates before it.
const LAYERS: &[&str] = &[
    "kausal-memory",
    "kausal-vfs",
    "kausal-storage",
    "kausal-query",
    "kausal-sim",
    "kausal-ingest",
    "kausal-cli",
];

/// The production files allowed to use `std::fs`: `OsVfs`, and the
/// server's `server.json` (created with mode 0600, which the `Vfs` trait
/// cannot express; it holds the bearer token, not database bytes).
const STD_FS_ALLOWED: &[&str] = &["crates/vfs/src/os.rs", "crates/cli/src/server/discovery.rs"];

/// Root of the workspace (the parent of the xtask crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn cargo_metadata() -> Result<serde_json::Value, String> {
    let output = Command::new("cargo")
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(workspace_root())
        .output()
        .map_err(|error| format!("cannot run cargo metadata: {error}"))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    serde_json::from_slice(&output.stdout).map_err(|error| format!("bad cargo metadata: {error}"))
}

/// Fails when a layered crate depends (in any dependency kind) on a crate at
/// its own layer or above.
pub fn dependency_direction() -> Result<String, String> {
    let metadata = cargo_metadata()?;
    let packages = metadata["packages"]
        .as_array()
        .ok_or("cargo metadata has no packages")?;
    let mut violations = Vec::new();
    let mut checked = 0;
    for package in packages {
        let name = package["name"].as_str().unwrap_or_default();
        let Some(layer) = LAYERS.iter().position(|layer| *layer == name) else {
            continue;
        };
        checked += 1;
        for dependency in package["dependencies"].as_array().into_iter().flatten() {
            let dependency_name = dependency["name"].as_str().unwrap_or_default();
            if let Some(dependency_layer) = LAYERS.iter().position(|l| *l == dependency_name)
                && dependency_layer >= layer
            {
                violations.push(format!("{name} -> {dependency_name}"));
            }
        }
    }
    if checked != LAYERS.len() {
        return Err(format!(
            "found {checked} of the {} layered crates in the workspace",
            LAYERS.len()
        ));
    }
    if violations.is_empty() {
        Ok(format!(
            "{checked} crates, all arrows point down: {}",
            LAYERS.join(" <- ")
        ))
    } else {
        Err(format!("upward dependencies: {}", violations.join(", ")))
    }
}

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
}

/// Fails when production code of a library crate other than `OsVfs` names
/// `std::fs` (tests, benches and xtask may).
pub fn no_std_fs() -> Result<String, String> {
    let root = workspace_root();
    let mut files = Vec::new();
    rust_files(&root.join("crates"), &mut files);
    let mut offenders = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&root).unwrap_or(file);
        let relative_text = relative.to_string_lossy();
        // `tests.rs` files hold `#[cfg(test)] mod tests;` bodies.
        let test_module = file.file_name().is_some_and(|name| name == "tests.rs");
        if STD_FS_ALLOWED.contains(&relative_text.as_ref())
            || !relative_text.contains("/src/")
            || test_module
        {
            continue;
        }
        let text =
            std::fs::read_to_string(file).map_err(|error| format!("{relative_text}: {error}"))?;
        // Unit tests sit in `#[cfg(test)]` modules at the end of a file and
        // may use the real file system; production code comes before them.
        let production = text.split("#[cfg(test)]").next().unwrap_or_default();
        for (number, line) in production.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            let grouped_import = code.contains("std::{") && code.contains(" fs");
            if code.contains("std::fs") || grouped_import {
                offenders.push(format!("{relative_text}:{}: {}", number + 1, line.trim()));
            }
        }
    }
    if offenders.is_empty() {
        Ok(format!("{} production files checked", files.len()))
    } else {
        Err(format!(
            "std::fs used outside OsVfs:\n      {}",
            offenders.join("\n      ")
        ))
    }
}

/// Builds the unit-test binary of `package` and returns its path.
pub fn test_binary(package: &str) -> Result<String, String> {
    println!("==> build {package} tests: cargo test --package {package} --lib --no-run");
    let output = Command::new("cargo")
        .args([
            "test",
            "--package",
            package,
            "--lib",
            "--no-run",
            "--message-format=json",
        ])
        .current_dir(workspace_root())
        .output()
        .map_err(|error| format!("cannot run cargo: {error}"))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] == "compiler-artifact"
            && message["target"]["name"] == package.replace('-', "_")
            && message["profile"]["test"] == true
            && let Some(executable) = message["executable"].as_str()
        {
            return Ok(executable.to_string());
        }
    }
    Err(format!("no test binary for {package} in cargo's output"))
}
