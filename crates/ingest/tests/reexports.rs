//! Re-exports followed to the definition (issue 21): a TypeScript barrel
//! module (`export * from`, `export { x } from`) and a Python package's
//! `__init__.py` (`from .utils import echo`, reached as `pkg.echo()`), and
//! `new X()` reaching X's `constructor`.

mod support;

use support::*;

#[test]
fn calls_through_barrels_and_package_inits_reach_the_definition() {
    let root = tempfile::tempdir().unwrap();
    let db = tempfile::tempdir().unwrap();
    write_tree(
        root.path(),
        &[
            (
                "web/src/a.ts",
                "export function helperXyz(): number {\n  return 1;\n}\n",
            ),
            (
                "web/src/b.ts",
                "export function otherXyz(): number {\n  return 2;\n}\n",
            ),
            (
                "web/src/index.ts",
                "export * from './a';\nexport { otherXyz as renamedXyz, ParserXyz } from './b';\n",
            ),
            (
                "web/src/run.ts",
                "import { helperXyz, renamedXyz, ParserXyz } from './index';\nexport function run(): number {\n  new ParserXyz();\n  return helperXyz() + renamedXyz();\n}\n",
            ),
            ("pkg/utils.py", "def echo_xyz():\n    return 1\n"),
            ("pkg/__init__.py", "from .utils import echo_xyz\n"),
            (
                "tests/test_pkg.py",
                "import pkg\n\n\ndef test_echo():\n    return pkg.echo_xyz()\n",
            ),
        ],
    );
    let (engine, report) = ingest_fresh(root.path(), db.path());
    let all = edge_lines(&engine);
    let has = |from: &str, to: &str| {
        all.iter()
            .any(|line| line.contains(from) && line.contains("-calls") && line.ends_with(to))
    };
    assert!(has("run", "helperXyz"), "export *: {all:#?}\n{report}");
    assert!(
        has("run", "otherXyz"),
        "export {{ x as y }}: {all:#?}\n{report}"
    );
    assert!(
        has("test_echo", "echo_xyz"),
        "__init__.py: {all:#?}\n{report}"
    );
}

#[test]
fn a_typescript_receiver_with_a_written_type_reaches_its_class_method() {
    let root = tempfile::tempdir().unwrap();
    let db = tempfile::tempdir().unwrap();
    write_tree(
        root.path(),
        &[
            (
                "src/shapes.ts",
                "export class Circle {\n  drawXyz(): void {}\n}\nexport class Square {\n  drawXyz(): void {}\n}\n",
            ),
            (
                "src/use.ts",
                "import { Circle, Square } from './shapes';\nexport function paint(c: Circle): void {\n  c.drawXyz();\n  const s = new Square();\n  s.drawXyz();\n}\n",
            ),
        ],
    );
    let (engine, report) = ingest_fresh(root.path(), db.path());
    let calls: Vec<String> = edge_lines(&engine)
        .into_iter()
        .filter(|line| line.contains("-calls") && line.contains("drawXyz"))
        .collect();
    assert_eq!(calls.len(), 2, "{calls:#?}\n{report}");
    assert!(calls.iter().any(|l| l.contains("Circle")), "{calls:#?}");
    assert!(calls.iter().any(|l| l.contains("Square")), "{calls:#?}");
}
