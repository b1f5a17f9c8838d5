//! The results of `cargo xtask eval-calls`: one row per project, read from
//! the scorer's JSON, and the table printed and written as markdown and
//! JSON. Beside kausal's heuristic edges, each row holds the check of
//! precise mode (`scip-eval --precise`: the index merged, its edges scored
//! against the same index, and the callers of 20 functions compared),
//! which must reach [`PRECISE_AT_LEAST`] and find every caller set exact.
//! With `--peers`, each row also holds the peer tools' scores on the same
//! reference, in four columns per peer.

use super::corpus::Project;

/// The precision and recall the precise merge must reach on every project
/// (its edges come from the index it is scored against: anything below is
/// a mapping fault).
pub const PRECISE_AT_LEAST: f64 = 0.99;

/// The callers check of precise mode: functions checked, and of those the
/// ones whose callers in the database are exactly the index's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallersCheck {
    pub checked: u64,
    pub exact: u64,
}

/// What the scorer measured on one project (`scip-eval --json`).
#[derive(Clone, Debug, PartialEq)]
pub struct Score {
    /// Source files kausal ingested.
    pub files: u64,
    /// Edges of the reference call graph.
    pub reference: u64,
    /// kausal's call edges between functions of the tree.
    pub ours: u64,
    /// Edges in both.
    pub both: u64,
    pub precision: f64,
    pub recall: f64,
    pub ingest_seconds: f64,
    /// The callers check (only `scip-eval --precise` makes one).
    pub callers: Option<CallersCheck>,
}

impl Score {
    /// Reads the scorer's JSON summary.
    pub fn from_json(text: &str) -> Result<Score, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|error| format!("not JSON: {error}"))?;
        let count = |key: &str| {
            value[key]
                .as_u64()
                .ok_or_else(|| format!("no count `{key}`"))
        };
        let number = |key: &str| {
            value[key]
                .as_f64()
                .ok_or_else(|| format!("no number `{key}`"))
        };
        Ok(Score {
            files: count("files")?,
            reference: count("reference")?,
            ours: count("ours")?,
            both: count("both")?,
            precision: number("precision")?,
            recall: number("recall")?,
            ingest_seconds: number("ingest_seconds")?,
            callers: match (count("callers_checked"), count("callers_exact")) {
                (Ok(checked), Ok(exact)) => Some(CallersCheck { checked, exact }),
                _ => None,
            },
        })
    }

    /// Why this score of the precise merge misses the check, if it does:
    /// precision or recall below [`PRECISE_AT_LEAST`], a caller set not
    /// exact, no callers check.
    pub fn precise_miss(&self) -> Option<String> {
        let mut missed = Vec::new();
        if self.precision < PRECISE_AT_LEAST {
            missed.push(format!("precision {:.3}", self.precision));
        }
        if self.recall < PRECISE_AT_LEAST {
            missed.push(format!("recall {:.3}", self.recall));
        }
        match self.callers {
            Some(callers) if callers.exact < callers.checked => missed.push(format!(
                "callers exact for {} of {}",
                callers.exact, callers.checked
            )),
            Some(_) => {}
            None => missed.push("no callers check".into()),
        }
        if missed.is_empty() {
            return None;
        }
        Some(format!(
            "precise merge MISSED (>= {PRECISE_AT_LEAST} and every caller set exact): {}",
            missed.join(", ")
        ))
    }
}

/// A peer tool's score on one project, or why there is none.
#[derive(Clone, Debug, PartialEq)]
pub struct PeerScore {
    pub name: &'static str,
    pub version: &'static str,
    /// Seconds the tool took to index the tree, when it ran.
    pub seconds: Option<f64>,
    /// The scorer's summary of the peer's edges (`ours` is the peer's).
    pub score: Result<Score, String>,
}

/// One project's row: its score, or why there is none.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub language: &'static str,
    pub name: &'static str,
    pub version: &'static str,
    /// Seconds the indexer took when the index was made.
    pub index_seconds: Option<f64>,
    pub score: Result<Score, String>,
    /// The check of precise mode: kausal's edges with the index merged,
    /// scored against the same index.
    pub precise: Result<Score, String>,
    /// The peers' scores, in [`super::peers::PEERS`] order (empty without
    /// `--peers`).
    pub peers: Vec<PeerScore>,
}

impl Row {
    pub fn new(project: &Project) -> Row {
        Row {
            language: project.language.name(),
            name: project.name,
            version: project.version,
            index_seconds: None,
            score: Err("not scored".into()),
            precise: Err("not scored".into()),
            peers: Vec::new(),
        }
    }

    /// The row's cells, in [`header`] order, for the peers `peers`.
    fn cells(&self, peers: &[&str]) -> Vec<String> {
        let seconds = |s: Option<f64>| s.map_or("-".to_string(), |s| format!("{s:.1}"));
        let mut notes = Vec::new();
        let mut cells = vec![
            self.language.to_string(),
            self.name.to_string(),
            self.version.to_string(),
        ];
        match &self.score {
            Ok(score) => cells.extend([
                score.files.to_string(),
                score.reference.to_string(),
                score.ours.to_string(),
                format!("{:.3}", score.precision),
                format!("{:.3}", score.recall),
                seconds(self.index_seconds),
                seconds(Some(score.ingest_seconds)),
            ]),
            Err(reason) => {
                cells.extend(["-", "-", "-", "-", "-"].map(String::from));
                cells.push(seconds(self.index_seconds));
                cells.push("-".into());
                notes.push(reason.clone());
            }
        }
        cells.extend(self.precise_cells(&mut notes));
        for &name in peers {
            let peer = self.peers.iter().find(|peer| peer.name == name);
            match peer.map(|peer| (peer, &peer.score)) {
                Some((peer, Ok(score))) => cells.extend([
                    score.ours.to_string(),
                    format!("{:.3}", score.precision),
                    format!("{:.3}", score.recall),
                    seconds(peer.seconds),
                ]),
                Some((peer, Err(reason))) => {
                    cells.extend(["-", "-", "-"].map(String::from));
                    cells.push(seconds(peer.seconds));
                    notes.push(format!("{name}: {reason}"));
                }
                None => cells.extend(["-", "-", "-", "-"].map(String::from)),
            }
        }
        cells.push(notes.join("; "));
        cells
    }

    /// The cells of the precise check ([`PRECISE_COLUMNS`]); a miss or a
    /// failure goes to `notes` (a failure only when the heuristic score
    /// stands: else the row's own reason says it).
    fn precise_cells(&self, notes: &mut Vec<String>) -> [String; 3] {
        match &self.precise {
            Ok(score) => {
                notes.extend(score.precise_miss());
                let callers = score.callers.map_or("-".to_string(), |callers| {
                    format!("{}/{} exact", callers.exact, callers.checked)
                });
                [
                    format!("{:.3}", score.precision),
                    format!("{:.3}", score.recall),
                    callers,
                ]
            }
            Err(reason) => {
                if self.score.is_ok() {
                    notes.push(format!("precise: {reason}"));
                }
                ["-", "-", "-"].map(String::from)
            }
        }
    }

    /// Why the row misses the precise check (`None`: met, or the project
    /// was not scored at all).
    pub fn precise_miss(&self) -> Option<String> {
        match (&self.score, &self.precise) {
            (Err(_), _) => None,
            (Ok(_), Ok(score)) => score.precise_miss(),
            (Ok(_), Err(reason)) => Some(format!("precise: {reason}")),
        }
    }
}

/// One line on the precise check over the projects scored: how many met
/// it, and which missed (`None` when no project was scored).
pub fn precise_summary(rows: &[Row]) -> Option<String> {
    let scored: Vec<&Row> = rows.iter().filter(|row| row.score.is_ok()).collect();
    if scored.is_empty() {
        return None;
    }
    let missed: Vec<String> = scored
        .iter()
        .filter_map(|row| Some(format!("{} ({})", row.name, row.precise_miss()?)))
        .collect();
    let callers = |pick: fn(&CallersCheck) -> u64| -> u64 {
        let checks = scored
            .iter()
            .filter_map(|row| row.precise.as_ref().ok()?.callers);
        checks.map(|check| pick(&check)).sum()
    };
    let mut line = format!(
        "precise merge: {} of {} projects at precision and recall >= {PRECISE_AT_LEAST} with every caller set exact ({} of {} caller sets exact)",
        scored.len() - missed.len(),
        scored.len(),
        callers(|check| check.exact),
        callers(|check| check.checked),
    );
    if !missed.is_empty() {
        line.push_str(&format!("; MISSED: {}", missed.join("; ")));
    }
    Some(line)
}

/// The peers that any row has a score or a failure for, in order.
fn peer_names(rows: &[Row]) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for peer in rows.iter().flat_map(|row| &row.peers) {
        if !names.contains(&peer.name) {
            names.push(peer.name);
        }
    }
    names
}

/// The columns of the table: kausal's, the precise check's, four per
/// peer, the note.
pub fn header(peers: &[&str]) -> Vec<String> {
    let mut columns: Vec<String> = KAUSAL_COLUMNS
        .iter()
        .chain(&PRECISE_COLUMNS)
        .map(|c| c.to_string())
        .collect();
    for peer in peers {
        for column in ["edges", "P", "R", "s"] {
            columns.push(format!("{peer} {column}"));
        }
    }
    columns.push("note".into());
    columns
}

/// kausal's columns.
const KAUSAL_COLUMNS: [&str; 10] = [
    "language",
    "project",
    "version",
    "files",
    "reference edges",
    "kausal edges",
    "precision",
    "recall",
    "index s",
    "ingest s",
];

/// The precise check's columns: the merge's precision and recall, and the
/// callers check.
const PRECISE_COLUMNS: [&str; 3] = ["precise P", "precise R", "callers"];

/// Columns aligned to the right (numbers): all but the first three and
/// the note.
fn numeric(column: usize, columns: usize) -> bool {
    (3..columns - 1).contains(&column)
}

/// The table as aligned text, for the terminal.
pub fn text(rows: &[Row]) -> String {
    let peers = peer_names(rows);
    let header = header(&peers);
    let cells: Vec<Vec<String>> = rows.iter().map(|row| row.cells(&peers)).collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|column| {
            cells
                .iter()
                .map(|row| row[column].chars().count())
                .chain([header[column].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |row: Vec<&str>| {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(column, cell)| {
                let width = widths[column];
                if numeric(column, widths.len()) {
                    format!("{cell:>width$}")
                } else {
                    format!("{cell:<width$}")
                }
            })
            .collect();
        format!("{}\n", cells.join("  ").trim_end())
    };
    let mut out = line(header.iter().map(String::as_str).collect());
    for row in &cells {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// The table in markdown.
pub fn markdown(rows: &[Row]) -> String {
    let peers = peer_names(rows);
    let header = header(&peers);
    let mut out = format!("| {} |\n|", header.join(" | "));
    for column in 0..header.len() {
        out.push_str(if numeric(column, header.len()) {
            "---:|"
        } else {
            "---|"
        });
    }
    out.push('\n');
    for row in rows {
        let cells: Vec<String> = row
            .cells(&peers)
            .iter()
            .map(|c| c.replace('|', "\\|"))
            .collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

/// The rows as JSON.
pub fn json(rows: &[Row]) -> serde_json::Value {
    let rows: Vec<serde_json::Value> = rows
        .iter()
        .map(|row| {
            let mut value = serde_json::json!({
                "language": row.language,
                "project": row.name,
                "version": row.version,
                "index_seconds": row.index_seconds,
            });
            match &row.score {
                Ok(score) => {
                    value["files"] = score.files.into();
                    value["reference_edges"] = score.reference.into();
                    value["kausal_edges"] = score.ours.into();
                    value["both"] = score.both.into();
                    value["precision"] = score.precision.into();
                    value["recall"] = score.recall.into();
                    value["ingest_seconds"] = score.ingest_seconds.into();
                }
                Err(reason) => value["error"] = reason.as_str().into(),
            }
            if row.score.is_ok() {
                value["precise"] = precise_json(row);
            }
            for peer in &row.peers {
                value["peers"][peer.name] = peer_json(peer);
            }
            value
        })
        .collect();
    serde_json::Value::Array(rows)
}

/// The precise check as JSON: the merge's score, its callers check, and
/// whether it met the check.
fn precise_json(row: &Row) -> serde_json::Value {
    let mut value = serde_json::json!({ "met": row.precise_miss().is_none() });
    match &row.precise {
        Ok(score) => {
            value["kausal_edges"] = score.ours.into();
            value["both"] = score.both.into();
            value["precision"] = score.precision.into();
            value["recall"] = score.recall.into();
            if let Some(callers) = score.callers {
                value["callers_checked"] = callers.checked.into();
                value["callers_exact"] = callers.exact.into();
            }
        }
        Err(reason) => value["error"] = reason.as_str().into(),
    }
    value
}

/// A peer's score as JSON.
fn peer_json(peer: &PeerScore) -> serde_json::Value {
    let mut value = serde_json::json!({
        "version": peer.version,
        "index_seconds": peer.seconds,
    });
    match &peer.score {
        Ok(score) => {
            value["edges"] = score.ours.into();
            value["both"] = score.both.into();
            value["precision"] = score.precision.into();
            value["recall"] = score.recall.into();
        }
        Err(reason) => value["error"] = reason.as_str().into(),
    }
    value
}
