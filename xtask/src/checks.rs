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
    "kausal-service",
    "kausal-export",
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

pub fn cargo_metadata() -> Result<serde_json::Value, String> {
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

/// Files every publishable crate must hold in its own directory: `cargo
/// package` ships only files inside the crate directory (a symlink to the
/// workspace's `LICENSE` is followed and its content shipped).
const PACKAGE_FILES: &[&str] = &["LICENSE", "README.md"];

/// Manifest fields every publishable crate must set.
const PACKAGE_FIELDS: &[&str] = &["description", "license", "repository", "readme"];

/// Packages every publishable workspace crate (all but `publish = false`)
/// with `cargo package --no-verify --offline`, and fails on a missing
/// manifest field or file, on any packaging error and on any warning.
///
/// `--no-verify`: building each crate again from its `.crate` file would
/// rebuild every dependency with the crate's own (default) profile, minutes
/// on a fresh machine; the workspace build and tests already compile the
/// same sources. `--offline`: nothing is published, so the crates are
/// resolved against each other through cargo's local overlay registry, and
/// third-party dependencies from the index cache the earlier steps filled.
/// `--allow-dirty`: test-all runs before a commit, too.
pub fn package_crates() -> Result<String, String> {
    let metadata = cargo_metadata()?;
    let packages = metadata["packages"]
        .as_array()
        .ok_or("cargo metadata has no packages")?;
    let mut names = Vec::new();
    let mut problems = Vec::new();
    for package in packages {
        // `publish = false` appears as an empty list of registries.
        if package["publish"].as_array().is_some_and(Vec::is_empty) {
            continue;
        }
        let name = package["name"].as_str().unwrap_or_default().to_string();
        for field in PACKAGE_FIELDS {
            if package[*field].as_str().is_none_or(str::is_empty) {
                problems.push(format!("{name}: Cargo.toml sets no `{field}`"));
            }
        }
        for field in ["keywords", "categories"] {
            if package[field].as_array().is_none_or(Vec::is_empty) {
                problems.push(format!("{name}: Cargo.toml sets no `{field}`"));
            }
        }
        let manifest = Path::new(package["manifest_path"].as_str().unwrap_or_default());
        let dir = manifest.parent().unwrap_or(Path::new("."));
        for file in PACKAGE_FILES {
            if !dir.join(file).is_file() {
                problems.push(format!(
                    "{name}: no {file} in {} (for LICENSE: `ln -s ../../LICENSE {}/LICENSE`)",
                    dir.display(),
                    dir.display()
                ));
            }
        }
        names.push(name);
    }
    if !problems.is_empty() {
        return Err(format!(
            "publishable crates lack package metadata:\n      {}",
            problems.join("\n      ")
        ));
    }
    let mut args = vec!["package", "--no-verify", "--offline", "--allow-dirty"];
    for name in &names {
        args.extend(["--package", name.as_str()]);
    }
    println!("    cargo {}", args.join(" "));
    let output = Command::new("cargo")
        .args(&args)
        .current_dir(workspace_root())
        .output()
        .map_err(|error| format!("cannot run cargo: {error}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!(
            "cargo package failed:\n{stderr}\n    Every kausal-* entry of [workspace.dependencies] needs \
             `version = \"...\"` next to its `path`; if a third-party crate could not be \
             resolved offline, run `cargo fetch` and retry."
        ));
    }
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("warning:"))
        .collect();
    if !warnings.is_empty() {
        return Err(format!(
            "cargo package warned (fix the manifests):\n{stderr}"
        ));
    }
    Ok(format!(
        "{} crates packaged (sources not rebuilt): {}",
        names.len(),
        names.join(", ")
    ))
}
