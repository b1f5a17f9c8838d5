//! The results of `cargo xtask eval-calls`: one row per project, read from
//! the scorer's JSON, and the table printed and written as markdown and
//! JSON. With `--peers`, each row also holds the peer tools' scores on
//! the same reference, in four columns per peer.

use super::corpus::Project;

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
        })
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

/// The columns of the table: kausal's, four per peer, the note.
pub fn header(peers: &[&str]) -> Vec<String> {
    let mut columns: Vec<String> = KAUSAL_COLUMNS.iter().map(|c| c.to_string()).collect();
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
            for peer in &row.peers {
                value["peers"][peer.name] = peer_json(peer);
            }
            value
        })
        .collect();
    serde_json::Value::Array(rows)
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
