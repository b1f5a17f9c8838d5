//! One small Python or TypeScript tree per rule, and the call edges it
//! must (and must not) make.

use kausal_storage::EdgeType;
use rustc_hash::FxHashMap;

use crate::language::Language;
use crate::naming::name_file;
use crate::resolve::{FileView, resolve};

/// The `calls` / `calls_method` edges of a tree, as `caller -> callee`
/// qualified names.
fn calls(files: &[(&str, &str)]) -> Vec<String> {
    edges_of(files, &[EdgeType::Calls, EdgeType::CallsMethod])
}

/// The edges of `types`, as `source -> target` qualified names.
fn edges_of(files: &[(&str, &str)], types: &[EdgeType]) -> Vec<String> {
    let mut parser = tree_sitter::Parser::new();
    let parsed: Vec<_> = files
        .iter()
        .map(|(path, source)| {
            let language = Language::from_path(path).expect("a known extension");
            let summary = crate::extract(language, source, &mut parser).expect("parses");
            let names = name_file(language, path, &summary);
            (*path, language, summary, names)
        })
        .collect();
    let views: Vec<FileView> = parsed
        .iter()
        .map(|(path, language, summary, names)| FileView::new(path, *language, summary, names))
        .collect();
    let mut names: FxHashMap<_, String> = FxHashMap::default();
    for (path, _, _, file_names) in &parsed {
        names.insert(file_names.file_id, path.to_string());
        for (id, name) in file_names.item_ids.iter().zip(&file_names.qualified) {
            names.insert(*id, name.clone());
        }
    }
    let mut out: Vec<String> = resolve(&views, 1)
        .edges
        .iter()
        .filter(|e| types.contains(&e.edge_type))
        .map(|e| format!("{} -> {}", names[&e.source], names[&e.target]))
        .collect();
    out.sort();
    out
}

fn has(edges: &[String], edge: &str) -> bool {
    edges.iter().any(|e| e == edge)
}

#[test]
fn python_self_and_super_go_through_imported_bases() {
    let edges = calls(&[
        (
            "pkg/base.py",
            "class Base:\n    def __init__(self):\n        pass\n    def run(self):\n        pass\n    def stop(self):\n        pass\n",
        ),
        (
            "pkg/app.py",
            "from .base import Base\n\nclass App(Base):\n    def __init__(self):\n        super().__init__()\n        super().close()\n    def stop(self):\n        self.run()\n        self.stop()\n    @classmethod\n    def make(cls):\n        cls.run(None)\n",
        ),
    ]);
    assert!(
        has(&edges, "pkg.app.App.__init__ -> pkg.base.Base.__init__"),
        "{edges:?}"
    );
    assert!(
        has(&edges, "pkg.app.App.stop -> pkg.base.Base.run"),
        "{edges:?}"
    );
    // The nearest definition wins: App's own stop, not Base's.
    assert!(
        has(&edges, "pkg.app.App.stop -> pkg.app.App.stop"),
        "{edges:?}"
    );
    assert!(
        !has(&edges, "pkg.app.App.stop -> pkg.base.Base.stop"),
        "{edges:?}"
    );
    assert!(
        has(&edges, "pkg.app.App.make -> pkg.base.Base.run"),
        "{edges:?}"
    );
    assert_eq!(
        edges.len(),
        4,
        "super().close() is a base's outside the tree: {edges:?}"
    );
}

#[test]
fn python_attributes_locals_and_returns_are_typed() {
    let edges = calls(&[
        (
            "pkg/models.py",
            "class Session:\n    def get(self):\n        pass\n    def child(self) -> \"Session\":\n        pass\n\nclass Context:\n    def fail(self):\n        pass\n\ndef make() -> Session:\n    pass\n\nclass Decoy:\n    def child(self):\n        pass\n    def fail(self):\n        pass\n",
        ),
        (
            "pkg/app.py",
            "from . import models\nfrom .models import Context, make\n\nclass App:\n    def __init__(self, ctx: Context):\n        self.session = models.Session()\n        self.ctx = ctx\n    def run(self):\n        self.session.get()\n        self.ctx.fail()\n\ndef main(ctx: 't.Optional[Context]'):\n    s = models.Session()\n    s.child().get()\n    make().get()\n    with make() as m:\n        m.get()\n    ctx.fail()\n",
        ),
    ]);
    for edge in [
        "pkg.app.App.run -> pkg.models.Session.get",
        "pkg.app.App.run -> pkg.models.Context.fail",
        "pkg.app.main -> pkg.models.Session.child",
        "pkg.app.main -> pkg.models.Session.get",
        "pkg.app.main -> pkg.models.Context.fail",
        "pkg.app.main -> pkg.models.make",
    ] {
        assert!(has(&edges, edge), "{edge} missing from {edges:?}");
    }
}

#[test]
fn python_module_attribute_chains() {
    let edges = calls(&[
        ("pkg/__init__.py", ""),
        ("pkg/util.py", "def helper():\n    pass\n"),
        (
            "app.py",
            "import pkg.util\nfrom pkg import util as u\n\ndef main():\n    pkg.util.helper()\n    u.helper()\n    pkg.helper()\n",
        ),
    ]);
    assert_eq!(
        edges,
        vec!["app.main -> pkg.util.helper"],
        "pkg.helper() is no name of the package: {edges:?}"
    );
}

#[test]
fn python_unknown_receivers_make_no_guess() {
    let edges = calls(&[
        (
            "pkg/env.py",
            "class Environment:\n    def from_string(self):\n        pass\n    def set(self):\n        pass\n",
        ),
        (
            "tests/test_env.py",
            "import threading\n\ndef test_a(env):\n    env.from_string()\n\ndef test_b():\n    e = threading.Event()\n    e.set()\n",
        ),
    ]);
    assert!(edges.is_empty(), "{edges:?}");
}

#[test]
fn python_overloads_are_one_binding() {
    let edges = calls(&[(
        "deco.py",
        "@overload\ndef command(name: str) -> int: ...\n@overload\ndef command() -> str: ...\ndef command(name=None):\n    pass\n\ndef main():\n    command()\n",
    )]);
    assert_eq!(edges, vec!["deco.main -> deco.command"], "{edges:?}");
}

#[test]
fn typescript_this_super_and_fields_go_through_extends() {
    let edges = calls(&[
        (
            "src/base.ts",
            "export class Base {\n  close(): void {}\n  run(): void {}\n}\nexport class Scheduler {\n  schedule(): void {}\n}\nexport class Decoy {\n  close(): void {}\n  schedule(): void {}\n}\n",
        ),
        ("src/index.ts", "export * from './base';\n"),
        (
            "src/action.ts",
            "import { Base, Scheduler } from './index';\n\nexport class Action extends Base {\n  private other: Scheduler;\n  #cache = new Scheduler();\n  constructor(private scheduler: Scheduler) {\n    super();\n    this.made = new Scheduler();\n  }\n  run(): void {\n    super.run();\n    this.close();\n    this.scheduler.schedule();\n    this.other.schedule();\n    this.made.schedule();\n  }\n}\n",
        ),
    ]);
    for edge in [
        "src.action.Action.run -> src.base.Base.run",
        "src.action.Action.run -> src.base.Base.close",
        "src.action.Action.run -> src.base.Scheduler.schedule",
    ] {
        assert!(has(&edges, edge), "{edge} missing from {edges:?}");
    }
}

#[test]
fn typescript_namespaces_and_return_types() {
    let edges = calls(&[
        (
            "src/observable.ts",
            "export class Observable {\n  subscribe(): void {}\n  pipe(): Observable { return this; }\n}\nexport function innerFrom(x: number): Observable { return new Observable(); }\nexport class Decoy {\n  subscribe(): void {}\n  pipe(): void {}\n}\n",
        ),
        (
            "src/op.ts",
            "import * as obs from './observable';\nimport { innerFrom } from './observable';\n\nexport function op(): void {\n  obs.innerFrom(1).subscribe();\n  innerFrom(2).pipe().subscribe();\n  const o = innerFrom(3);\n  o.subscribe();\n}\n",
        ),
    ]);
    for edge in [
        "src.op.op -> src.observable.innerFrom",
        "src.op.op -> src.observable.Observable.subscribe",
        "src.op.op -> src.observable.Observable.pipe",
    ] {
        assert!(has(&edges, edge), "{edge} missing from {edges:?}");
    }
}

#[test]
fn typescript_callback_parameters_take_the_callees_parameter_types() {
    let edges = calls(&[
        (
            "src/core.ts",
            "export class Subscriber<T> {\n  complete(): void {}\n}\nexport class Observable<T> {\n  constructor(subscribe?: (this: Observable<T>, subscriber: Subscriber<T>) => void) {}\n  subscribe(): void {}\n}\nexport class Decoy {\n  complete(): void {}\n  subscribe(): void {}\n}\nexport function operate<T, R>(\n  init: (liftedSource: Observable<T>, subscriber: Subscriber<R>) => (() => void) | void\n): void {}\n",
        ),
        (
            "src/op.ts",
            "import { operate, Observable } from './core';\n\nexport function take(): void {\n  operate((source, subscriber) => {\n    source.subscribe();\n    subscriber.complete();\n  });\n}\nexport const EMPTY = () => new Observable((s) => s.complete());\n",
        ),
    ]);
    for edge in [
        "src.op.take -> src.core.Observable.subscribe",
        "src.op.take -> src.core.Subscriber.complete",
        "src.op.EMPTY -> src.core.Subscriber.complete",
    ] {
        assert!(has(&edges, edge), "{edge} missing from {edges:?}");
    }
}

#[test]
fn typescript_declared_fields_win_and_stray_methods_bind_nothing() {
    let edges = calls(&[
        (
            "src/atom.ts",
            "export interface IAtom {\n  reportObserved(): boolean\n}\nexport class Atom implements IAtom {\n  reportObserved(): boolean { return true; }\n}\nexport class Decoy {\n  reportObserved(): void {}\n}\nexport function init(f: () => void): void {}\n",
        ),
        (
            "src/array.ts",
            "import { Atom, IAtom, init } from './atom';\n\nexport class Admin {\n  atom_: IAtom\n  constructor() {\n    this.atom_ = new Atom();\n  }\n  length(): void {\n    this.atom_.reportObserved();\n    init(() => {});\n  }\n}\n",
        ),
        // An object literal's method is a property, no binding of the
        // module: `init()` is the imported function.
        (
            "src/factories.ts",
            "import { init } from './atom';\n\nconst factories = {\n  init(): void {},\n};\nexport function make(): void {\n  init();\n}\n",
        ),
    ]);
    assert!(
        has(
            &edges,
            "src.array.Admin.length -> src.atom.IAtom.reportObserved"
        ),
        "{edges:?}"
    );
    assert!(
        has(&edges, "src.array.Admin.length -> src.atom.init"),
        "{edges:?}"
    );
    assert!(
        has(&edges, "src.factories.make -> src.atom.init"),
        "{edges:?}"
    );
}

#[test]
fn python_module_variables_and_rebinding_locals_are_typed() {
    let edges = calls(&[
        (
            "pkg/env.py",
            "class Template:\n    def render(self):\n        pass\n\nclass Environment:\n    def get_template(self) -> Template:\n        pass\n\nclass Frame:\n    def soft(self) -> \"Frame\":\n        pass\n    def inner(self) -> \"Frame\":\n        pass\n\nclass Decoy:\n    def render(self):\n        pass\n    def get_template(self):\n        pass\n    def soft(self):\n        pass\n    def inner(self):\n        pass\n",
        ),
        (
            "tests/test_env.py",
            "from pkg.env import Environment, Frame\n\ni18n_env = Environment()\n\ndef test_render():\n    tmpl = i18n_env.get_template()\n    tmpl.render()\n\ndef visit(frame: Frame):\n    frame = frame.soft()\n    frame.inner()\n",
        ),
    ]);
    for edge in [
        "tests.test_env.test_render -> pkg.env.Environment.get_template",
        "tests.test_env.test_render -> pkg.env.Template.render",
        "tests.test_env.visit -> pkg.env.Frame.soft",
        "tests.test_env.visit -> pkg.env.Frame.inner",
    ] {
        assert!(has(&edges, edge), "{edge} missing from {edges:?}");
    }
}

#[test]
fn python_builtin_functions_are_not_the_trees() {
    let edges = calls(&[
        ("examples/termui.py", "def open():\n    pass\n"),
        (
            "src/utils.py",
            "def read(path):\n    with open(path) as f:\n        return f\n",
        ),
        (
            "src/shadow.py",
            "def open(path):\n    pass\n\ndef read(path):\n    return open(path)\n",
        ),
    ]);
    assert_eq!(
        edges,
        vec!["src.shadow.read -> src.shadow.open"],
        "{edges:?}"
    );
}

#[test]
fn python_extends_edges_follow_module_attributes() {
    let edges = edges_of(
        &[
            ("pkg/__init__.py", ""),
            ("pkg/nodes.py", "class Node:\n    pass\n"),
            (
                "pkg/ext.py",
                "from . import nodes\n\nclass Call(nodes.Node, metaclass=Meta):\n    pass\n",
            ),
        ],
        &[EdgeType::Extends],
    );
    assert_eq!(edges, vec!["pkg.ext.Call -> pkg.nodes.Node"], "{edges:?}");
}
