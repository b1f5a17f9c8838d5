//! `target/benchmark/report.html`: the run as charts people can look at.
//!
//! Self-contained (inline SVG, inline CSS, no script, no network): bars of
//! kausal against each peer per compared row, the latency distribution
//! (p50/p99/p99.9) of every row, and, with a baseline, each row's p50
//! against it. Charts are drawn by plotters' SVG backend; every chart and
//! the whole page are parsed back as XML (roxmltree) and checked for their
//! bars and labels before the file is written, so a broken report fails the
//! run instead of being published.

use std::fmt::Write as _;
use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde_json::Value;

use crate::compare::Comparison;
use crate::report::{Row, format_ns};

/// Width of every chart, in pixels.
const CHART_WIDTH: u32 = 1200;
/// Pixels per category (one row of the benchmark table) in a bar chart.
const CATEGORY_HEIGHT: u32 = 34;
/// Pixels above and below the bars (title, axis).
const CHART_CHROME: u32 = 110;
/// Width reserved for the category labels left of the bars.
const LABEL_WIDTH: u32 = 470;
/// Colours of the series, in order (kausal first).
const PALETTE: [RGBColor; 5] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
];

/// A named series of values, one per category (`None`: no bar).
pub struct Series {
    pub name: String,
    pub values: Vec<Option<f64>>,
}

/// How the value axis is scaled and labelled.
#[derive(Clone, Copy)]
pub enum Axis {
    /// Nanoseconds on a log scale (latencies span ns to seconds).
    LogNanoseconds,
    /// A plain ratio on a linear scale.
    Ratio,
}

/// One horizontal grouped bar chart as an SVG document.
pub fn bar_chart(
    title: &str,
    categories: &[String],
    series: &[Series],
    axis: Axis,
) -> Result<String, String> {
    let height = CHART_CHROME + CATEGORY_HEIGHT * categories.len().max(1) as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (CHART_WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let values = series
            .iter()
            .flat_map(|s| s.values.iter().flatten().copied());
        let (low, high) = values.fold((f64::MAX, 0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let rows = categories.len().max(1) as f64;
        let mut builder = ChartBuilder::on(&root);
        builder
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(LABEL_WIDTH);
        // The y axis grows upwards: the first category and the first series
        // get the highest positions, so the chart reads top-down like the table.
        let count = categories.len();
        let row_y = move |category: usize| (count - 1 - category) as f64;
        let bar = move |chart_series: usize, index: usize, category: usize| {
            let slot = 0.8 / chart_series.max(1) as f64;
            let bottom = row_y(category) + 0.1 + slot * (chart_series - 1 - index) as f64;
            (bottom, bottom + slot)
        };
        // Category names are drawn as text beside each group of bars (a
        // numeric axis would label round numbers, not categories).
        let label_style = ("sans-serif", 12)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Right, VPos::Center));
        let draw_labels = |pixels: Vec<(i32, i32)>| -> Result<(), String> {
            for (name, (x, y)) in categories.iter().zip(pixels) {
                root.draw(&Text::new(name.clone(), (x - 8, y), label_style.clone()))
                    .map_err(|e| e.to_string())?;
            }
            Ok(())
        };
        match axis {
            Axis::LogNanoseconds => {
                let low = (low.max(1.0) / 2.0).max(1.0);
                let high = (high * 2.0).max(low * 10.0);
                let mut chart = builder
                    .build_cartesian_2d((low..high).log_scale(), 0f64..rows)
                    .map_err(|e| e.to_string())?;
                chart
                    .configure_mesh()
                    .disable_y_mesh()
                    .x_desc("nanoseconds per operation (log scale)")
                    .x_label_formatter(&|x| format_ns(*x))
                    .y_labels(0)
                    .draw()
                    .map_err(|e| e.to_string())?;
                draw_labels(
                    (0..categories.len())
                        .map(|i| chart.backend_coord(&(low, row_y(i) + 0.5)))
                        .collect(),
                )?;
                for (index, s) in series.iter().enumerate() {
                    let color = PALETTE[index % PALETTE.len()];
                    chart
                        .draw_series(s.values.iter().enumerate().filter_map(|(category, v)| {
                            let v = (*v)?;
                            let (top, bottom) = bar(series.len(), index, category);
                            Some(Rectangle::new(
                                [(low, top), (v.max(low), bottom)],
                                color.filled(),
                            ))
                        }))
                        .map_err(|e| e.to_string())?
                        .label(s.name.clone())
                        .legend(move |(x, y)| {
                            Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled())
                        });
                }
                chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::LowerRight)
                    .background_style(WHITE.mix(0.9))
                    .border_style(BLACK)
                    .draw()
                    .map_err(|e| e.to_string())?;
            }
            Axis::Ratio => {
                let high = (high * 1.1).max(2.0);
                let mut chart = builder
                    .build_cartesian_2d(0f64..high, 0f64..rows)
                    .map_err(|e| e.to_string())?;
                chart
                    .configure_mesh()
                    .disable_y_mesh()
                    .x_desc("p50 now / p50 baseline (1 = unchanged, below 1 = faster)")
                    .y_labels(0)
                    .draw()
                    .map_err(|e| e.to_string())?;
                draw_labels(
                    (0..categories.len())
                        .map(|i| chart.backend_coord(&(0.0, row_y(i) + 0.5)))
                        .collect(),
                )?;
                for (index, s) in series.iter().enumerate() {
                    let color = PALETTE[index % PALETTE.len()];
                    chart
                        .draw_series(s.values.iter().enumerate().filter_map(|(category, v)| {
                            let v = (*v)?;
                            let (top, bottom) = bar(series.len(), index, category);
                            Some(Rectangle::new([(0.0, top), (v, bottom)], color.filled()))
                        }))
                        .map_err(|e| e.to_string())?
                        .label(s.name.clone())
                        .legend(move |(x, y)| {
                            Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled())
                        });
                }
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(1.0, 0.0), (1.0, rows)],
                        BLACK.stroke_width(1),
                    )))
                    .map_err(|e| e.to_string())?;
                chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::LowerRight)
                    .background_style(WHITE.mix(0.9))
                    .border_style(BLACK)
                    .draw()
                    .map_err(|e| e.to_string())?;
            }
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// Parses `svg` as XML and checks it is an `<svg>` with at least `bars`
/// filled rectangles and a text element holding each of `labels`.
pub fn validate_svg(svg: &str, bars: usize, labels: &[&str]) -> Result<(), String> {
    let document = roxmltree::Document::parse(svg).map_err(|e| format!("not XML: {e}"))?;
    let root = document.root_element();
    if root.tag_name().name() != "svg" {
        return Err(format!("root element is <{}>", root.tag_name().name()));
    }
    let rects = root
        .descendants()
        .filter(|node| node.has_tag_name("rect"))
        .count();
    if rects < bars {
        return Err(format!("{rects} rectangles, expected at least {bars} bars"));
    }
    let texts: Vec<String> = root
        .descendants()
        .filter(|node| node.has_tag_name("text"))
        .map(|node| node.text().unwrap_or_default().to_string())
        .collect();
    for label in labels {
        if !texts.iter().any(|text| text.contains(label)) {
            return Err(format!("no text element shows {label:?}"));
        }
    }
    Ok(())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A chart together with what it must show.
struct Chart {
    heading: String,
    svg: String,
}

fn comparison_chart(title: &str, comparisons: &[Comparison]) -> Result<Chart, String> {
    // One shared state goes in the title; otherwise each label names its own.
    let shared_state = comparisons
        .first()
        .map(|c| c.state)
        .filter(|state| comparisons.iter().all(|c| c.state == *state));
    let title = match shared_state {
        Some(state) => format!("{title} [{state}]"),
        None => title.to_string(),
    };
    let categories: Vec<String> = comparisons
        .iter()
        .map(|c| match shared_state {
            Some(_) => c.operation.clone(),
            None => format!("{} [{}]", c.operation, c.state),
        })
        .collect();
    let engines: Vec<&str> = comparisons
        .first()
        .map(|c| c.results.iter().map(|(name, _)| *name).collect())
        .unwrap_or_default();
    let series: Vec<Series> = engines
        .iter()
        .map(|engine| Series {
            name: engine.to_string(),
            values: comparisons
                .iter()
                .map(|c| {
                    c.results
                        .iter()
                        .find(|(name, _)| name == engine)
                        .map(|(_, row)| row.p50_ns)
                })
                .collect(),
        })
        .collect();
    let svg = bar_chart(&title, &categories, &series, Axis::LogNanoseconds)?;
    let bars = series
        .iter()
        .map(|s| s.values.iter().flatten().count())
        .sum();
    let mut labels: Vec<&str> = engines.clone();
    labels.extend(comparisons.first().map(|c| c.operation.as_str()));
    validate_svg(&svg, bars, &labels)?;
    Ok(Chart {
        heading: title,
        svg,
    })
}

fn distribution_chart(title: &str, rows: &[&Row]) -> Result<Chart, String> {
    let categories: Vec<String> = rows.iter().map(|row| row.name.clone()).collect();
    let pick = |name: &str, value: fn(&Row) -> f64| Series {
        name: name.to_string(),
        values: rows.iter().map(|row| Some(value(row))).collect(),
    };
    let series = vec![
        pick("p50", |row| row.p50_ns),
        pick("p99", |row| row.p99_ns),
        pick("p99.9", |row| row.p999_ns),
    ];
    let svg = bar_chart(title, &categories, &series, Axis::LogNanoseconds)?;
    let mut labels = vec!["p50", "p99", "p99.9"];
    labels.extend(rows.first().map(|row| row.name.as_str()));
    validate_svg(&svg, rows.len() * 3, &labels)?;
    Ok(Chart {
        heading: title.to_string(),
        svg,
    })
}

fn baseline_chart(name: &str, rows: &[&Row], baseline: &Value) -> Result<Option<Chart>, String> {
    let old = |row: &Row| -> Option<f64> {
        baseline["rows"]
            .as_array()?
            .iter()
            .find(|old| old["name"] == row.name.as_str())?["p50_ns"]
            .as_f64()
            .filter(|p50| *p50 > 0.0)
    };
    let changed: Vec<(&Row, f64)> = rows
        .iter()
        .filter_map(|row| old(row).map(|p50| (*row, row.p50_ns / p50)))
        .collect();
    if changed.is_empty() {
        return Ok(None);
    }
    let categories: Vec<String> = changed.iter().map(|(row, _)| row.name.clone()).collect();
    let series = vec![Series {
        name: format!("p50 against baseline {name}"),
        values: changed.iter().map(|(_, ratio)| Some(*ratio)).collect(),
    }];
    let title = format!("Change against baseline {name}");
    let svg = bar_chart(&title, &categories, &series, Axis::Ratio)?;
    validate_svg(&svg, changed.len(), &[categories[0].as_str()])?;
    Ok(Some(Chart {
        heading: title,
        svg,
    }))
}

fn rows_table(html: &mut String, rows: &[&Row]) {
    html.push_str(
        "<table><tr><th>operation</th><th>ops/s</th><th>p50</th><th>p99</th><th>p99.9</th>\
         <th>max</th><th>allocs/op</th><th>target</th><th>note</th></tr>\n",
    );
    for row in rows {
        let target = match row.targets_met() {
            None => String::new(),
            Some(true) => "met".into(),
            Some(false) => "<b>MISSED</b>".into(),
        };
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{:.0}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{:.2}</td><td>{}</td><td>{}</td></tr>",
            escape(&row.name),
            row.ops_per_second(),
            format_ns(row.p50_ns),
            format_ns(row.p99_ns),
            format_ns(row.p999_ns),
            format_ns(row.max_ns),
            row.allocations_per_op,
            target,
            escape(&row.note)
        );
    }
    html.push_str("</table>\n");
}

fn comparison_table(html: &mut String, comparisons: &[Comparison]) {
    let Some(first) = comparisons.first() else {
        return;
    };
    let peers: Vec<&str> = first.results.iter().skip(1).map(|(n, _)| *n).collect();
    html.push_str("<table><tr><th>operation</th><th>state</th><th>kausal p50</th>");
    for peer in &peers {
        let _ = write!(html, "<th>{peer} p50</th><th>kausal/{peer}</th>");
    }
    html.push_str("</tr>\n");
    for c in comparisons {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td>",
            escape(&c.operation),
            escape(c.state),
            format_ns(c.results[0].1.p50_ns)
        );
        for peer in &peers {
            let p50 = c
                .results
                .iter()
                .find(|(name, _)| name == peer)
                .map(|(_, row)| format_ns(row.p50_ns))
                .unwrap_or_default();
            let ratio = c
                .ratio(peer)
                .map(|r| format!("{r:.2}x"))
                .unwrap_or_default();
            let _ = write!(html, "<td>{p50}</td><td>{ratio}</td>");
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</table>\n");
}

/// What the report shows.
pub struct ReportInput<'a> {
    pub rows: &'a [Row],
    pub comparisons: &'a [Comparison],
    pub peer_settings: &'a [String],
    pub graph_comparisons: &'a [Comparison],
    pub graph_note: &'a str,
    pub baseline: Option<(&'a str, &'a Value)>,
    pub summary: &'a str,
}

/// Renders the report as one XHTML document (well-formed XML, so it is
/// checked by parsing it back).
pub fn render(input: &ReportInput<'_>) -> Result<String, String> {
    let mut charts = Vec::new();
    if !input.comparisons.is_empty() {
        charts.push(comparison_chart(
            "Peers: p50 per engine, same data in the same state",
            input.comparisons,
        )?);
    }
    if !input.graph_comparisons.is_empty() {
        charts.push(comparison_chart(
            "In-memory limit: kausal and petgraph, same graph, same queries",
            input.graph_comparisons,
        )?);
    }
    let main_rows: Vec<&Row> = input.rows.iter().collect();
    if !main_rows.is_empty() {
        charts.push(distribution_chart(
            "Latency distribution per row (p50, p99, p99.9)",
            &main_rows,
        )?);
    }
    let peer_rows: Vec<&Row> = input
        .comparisons
        .iter()
        .flat_map(|c| c.results.iter().map(|(_, row)| row))
        .collect();
    if !peer_rows.is_empty() {
        charts.push(distribution_chart(
            "Latency distribution of the peer rows (p50, p99, p99.9)",
            &peer_rows,
        )?);
    }
    if let Some((name, baseline)) = input.baseline {
        charts.extend(baseline_chart(name, &main_rows, baseline)?);
    }
    let mut html = String::new();
    html.push_str(
        "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\
         <meta charset=\"utf-8\"/><title>kausal benchmark</title><style>\
         body{font-family:sans-serif;margin:2em;max-width:1200px}\
         table{border-collapse:collapse;margin:1em 0;font-size:13px}\
         td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}\
         </style></head>\n<body>\n<h1>kausal benchmark</h1>\n",
    );
    let _ = writeln!(html, "<p>{}</p>", escape(input.summary));
    for chart in &charts {
        let _ = writeln!(html, "<h2>{}</h2>", escape(&chart.heading));
        // The SVG's own XML declaration may not appear inside a document.
        let body = chart
            .svg
            .trim_start_matches(|c| c != '<')
            .trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
        html.push_str(body.trim());
        html.push('\n');
    }
    if !input.comparisons.is_empty() {
        html.push_str("<h2>Peer figures</h2>\n");
        comparison_table(&mut html, input.comparisons);
        html.push_str("<ul>\n");
        for settings in input.peer_settings {
            let _ = writeln!(html, "<li>{}</li>", escape(settings));
        }
        html.push_str("</ul>\n");
    }
    if !input.graph_comparisons.is_empty() {
        html.push_str("<h2>In-memory limit figures</h2>\n");
        comparison_table(&mut html, input.graph_comparisons);
        let _ = writeln!(html, "<p>{}</p>", escape(input.graph_note));
    }
    html.push_str("<h2>All rows</h2>\n");
    rows_table(&mut html, &main_rows);
    html.push_str("</body>\n</html>\n");
    validate_page(&html, charts.len())?;
    Ok(html)
}

/// Parses the page back and checks it holds `charts` inline SVG charts.
fn validate_page(html: &str, charts: usize) -> Result<(), String> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    let document = roxmltree::Document::parse_with_options(html, options)
        .map_err(|e| format!("report.html is not well-formed: {e}"))?;
    let found = document
        .descendants()
        .filter(|node| node.has_tag_name("svg"))
        .count();
    if found != charts {
        return Err(format!(
            "report.html holds {found} charts, expected {charts}"
        ));
    }
    Ok(())
}

/// Renders and writes the report to `path`.
pub fn write(path: &Path, input: &ReportInput<'_>) -> Result<(), String> {
    let html = render(input)?;
    std::fs::write(path, html).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::report::measure;

    fn row(name: &str) -> Row {
        let mut row = measure(name, 10, 1, |_| ());
        row.p50_ns = 100.0;
        row.p99_ns = 1_000.0;
        row.p999_ns = 10_000.0;
        row
    }

    #[test]
    fn the_report_has_every_chart_with_its_bars_and_labels() {
        let rows = vec![row("find_block <hit> & more"), row("put_block")];
        let comparisons = vec![Comparison {
            operation: "get (hit)".into(),
            state: "memtable",
            results: vec![("kausal", row("kausal: get")), ("fjall", row("fjall: get"))],
            tail: false,
        }];
        let baseline = serde_json::json!({
            "rows": [{"name": "put_block", "p50_ns": 50.0}]
        });
        let html = render(&ReportInput {
            rows: &rows,
            comparisons: &comparisons,
            peer_settings: &["fjall: settings".into()],
            graph_comparisons: &[],
            graph_note: "",
            baseline: Some(("before", &baseline)),
            summary: "test run",
        })
        .unwrap();
        // Peers, two distributions, baseline.
        assert_eq!(html.matches("<svg").count(), 4);
        assert!(html.contains("find_block &lt;hit&gt; &amp; more"));
        assert!(html.contains("Change against baseline before"));
    }

    #[test]
    fn validation_rejects_a_chart_without_its_labels() {
        let svg = bar_chart(
            "t",
            &["a".into()],
            &[Series {
                name: "kausal".into(),
                values: vec![Some(5.0)],
            }],
            Axis::LogNanoseconds,
        )
        .unwrap();
        assert!(validate_svg(&svg, 1, &["kausal", "a"]).is_ok());
        assert!(validate_svg(&svg, 1, &["redb"]).is_err());
        assert!(validate_svg("<html/>", 0, &[]).is_err());
    }
}
