//! PY001 beside CPython's own parser: every module of a corpus is a syntax error for PY001
//! exactly when `ast.parse` raises `SyntaxError`, on the first error's line.
//!
//! The oracle is the machine's `python3` (3.11 here). PY001 parses with the newest grammar, so
//! the corpus holds no syntax newer than the oracle (PEP 695 `type` statements, PEP 701
//! f-strings): such modules would be errors for the oracle only. Checks CPython makes after
//! parsing, when it compiles (`return` outside a function, `nonlocal` at module level), are not
//! PY001's either; neither are its tokenizer's limits (200 nested brackets, 100 indentation
//! levels). `docs/rules/PY001.md` says so.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use lambda_gate::rules::python;

/// (name, module source). The names say what each case is about.
const CORPUS: &[(&str, &str)] = &[
    // Valid modules, in the shapes handlers have.
    ("handler", "from typing import Any\n\n\ndef handler(event: dict[str, Any], context: object) -> dict[str, Any]:\n    return {\"statusCode\": 200}\n"),
    ("decorated async", "import functools\n\n@functools.cache\nasync def f(*, x: int = 1, **kw) -> None:\n    await g()\n"),
    ("positional-only and keyword-only", "def f(a, b=1, /, c=2, *args, d, e=3, **kwargs):\n    pass\n"),
    ("walrus and comprehension", "if (n := len(xs)) > 3:\n    ys = [y for x in xs if (y := x * 2)]\n"),
    ("match statement", "match command.split():\n    case [\"go\", direction]:\n        pass\n    case _:\n        pass\n"),
    ("soft keyword names", "match = 1\ncase = 2\ntype = 3\nprint(match, case, type)\n"),
    ("try star", "try:\n    pass\nexcept* ValueError as group:\n    pass\n"),
    ("f-strings", "name = 'x'\ns = f\"{name!r:>10} {name=} {{literal}} {1 + 2:{'>'}{10}}\"\n"),
    ("strings of every kind", "a = b'\\x00'\nb = r'\\d+'\nc = '''multi\nline'''\nd = u'x'\ne = rb'raw'\nf = 'con' 'cat'\n"),
    ("numbers", "x = 1_000_000 + 0x_ff + 0o17 + 0b1010 + 1.5e-3 + 3j + .5 + 1.\n"),
    ("line continuation", "total = 1 + \\\n    2\nitems = [\n    1,\n    2,\n]\n"),
    ("unicode identifiers", "café = 1\nπ = 3.14\n"),
    ("lambda and conditional", "f = lambda x, *a, k=1, **kw: x if x else None\n"),
    ("star expressions", "first, *rest = items\nprint(*rest, **{'sep': ''})\n"),
    ("global and nonlocal", "def f():\n    x = 1\n    def g():\n        nonlocal x\n        global y\n        x = 2\n    return g\n"),
    ("class with metaclass", "class A(Base, metaclass=Meta):\n    \"\"\"Doc.\"\"\"\n    x: int = 0\n\n    def m(self) -> int:\n        return self.x\n"),
    ("with parenthesised", "with (\n    open('a') as a,\n    open('b') as b,\n):\n    pass\n"),
    ("type comments", "def f(a, b):\n    # type: (int, str) -> None\n    x = []  # type: list[int]\n"),
    ("semicolons and one-liners", "import os; import sys\nif x: pass\nwhile False: break\n"),
    ("empty module", ""),
    ("only comments", "# just a comment\n"),
    ("no trailing newline", "x = 1"),
    ("tabs consistently", "if x:\n\tpass\n"),
    ("decorator expression", "@buttons[0].clicked.connect\ndef f():\n    pass\n"),
    ("yield forms", "def g():\n    yield\n    yield 1\n    x = yield from h()\n"),
    ("assert and del", "assert x, 'msg'\ndel x[0], y.z\n"),
    ("dict and set", "d = {**a, 'k': 1}\ns = {*a, 1}\n"),
    ("slices", "x = a[1:2, ::3, ...]\n"),
    ("chained comparison", "ok = 1 < x <= 10 != y is not None\n"),
    ("ellipsis body", "def f(): ...\nclass C: ...\n"),
    // Invalid modules.
    ("missing colon", "def handler(event, context)\n    return {}\n"),
    ("unclosed parameter list", "def handler(event, context:\n    return {}\n"),
    ("unclosed bracket at end", "x = [1, 2,\n"),
    ("unterminated string", "x = 'abc\n"),
    ("unterminated triple-quoted string", "x = \"\"\"abc\ny = 1\n"),
    ("unexpected indent", "x = 1\n    y = 2\n"),
    ("unindent does not match", "if x:\n        y = 1\n    z = 2\n"),
    ("empty block", "def f(x):\n    if x:\n    return 1\n"),
    ("block at end of file", "if x:\n"),
    ("missing comma in parameters", "def f(x y):\n    pass\n"),
    ("double equals in assignment", "x = = 1\n"),
    ("assignment to a literal", "1 = x\n"),
    ("assignment to a call", "f() = 1\n"),
    ("keyword as a name", "class = 1\n"),
    ("print statement", "print 'hello'\n"),
    ("backticks", "x = `y`\n"),
    ("else without if", "else:\n    pass\n"),
    ("lone except", "except ValueError:\n    pass\n"),
    ("try without except", "try:\n    x = 1\ny = 2\n"),
    ("unbalanced closing bracket", "x = 1)\n"),
    ("invalid character", "x = 1 $ 2\n"),
    ("lambda with annotation", "f = lambda x: int: x\n"),
    ("default before non-default", "def f(a=1, b):\n    pass\n"),
    ("two starred parameters", "def f(*a, *b):\n    pass\n"),
    ("walrus at statement level", "x := 1\n"),
    ("keyword argument repeated as positional after", "f(a=1, 2)\n"),
    ("starred assignment alone", "*a = b\n"),
    ("decorator without definition", "@decorator\nx = 1\n"),
    ("import without name", "from os import\n"),
    ("relative import statement", "import .sibling\n"),
    ("unclosed inner bracket", "x = [1, (2)\ny = 1\n"),
    ("unclosed bracket at end, nested", "x = [1, (2,\n"),
    ("mismatched closer", "x = (1]\n"),
    ("inconsistent tabs", "if x:\n        a = 1\n\tb = 2\n"),
    ("unclosed bracket far from where parsing breaks", "x = 1\ny = 2\nz = 3\n\n\ndef f():\n    return (1,\n\nw = 4\n"),
];

/// The first syntax error's line per module as CPython's parser sees it (`None`: it parses).
fn oracle(corpus: &[(&str, &str)]) -> Vec<Option<usize>> {
    let script = r#"
import ast, json, sys
out = []
for source in json.load(sys.stdin):
    try:
        ast.parse(source)
        out.append(None)
    except SyntaxError as error:
        out.append(error.lineno)
json.dump(out, sys.stdout)
"#;
    let sources: Vec<&str> = corpus.iter().map(|(_, source)| *source).collect();
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(serde_json::to_string(&sources).unwrap().as_bytes())
        .unwrap();
    let output = child.wait_with_output().expect("python3");
    assert!(output.status.success(), "the oracle failed");
    serde_json::from_slice(&output.stdout).expect("the oracle's JSON")
}

/// PY001's first finding's line, 1-based.
fn py001_first_line(source: &str) -> Option<usize> {
    let findings = python::lint(Path::new("module.py"), source, None, &|rule| {
        rule.id == "PY001"
    });
    findings
        .first()
        .map(|(_, finding)| source[..finding.span.start].matches('\n').count() + 1)
}

#[test]
fn py001_agrees_with_cpythons_parser() {
    let expected = oracle(CORPUS);
    let mut disagreements = Vec::new();
    let mut invalid = 0;
    for ((name, source), cpython) in CORPUS.iter().zip(&expected) {
        invalid += usize::from(cpython.is_some());
        let mine = py001_first_line(source);
        // Both must agree on whether the module parses. Where it does not, the line of the
        // first error may differ by one: CPython reports an unclosed bracket at the bracket, a
        // missing block where the block should start.
        let agrees = match (mine, cpython) {
            (None, None) => true,
            (Some(line), Some(theirs)) => line.abs_diff(*theirs) <= 1,
            _ => false,
        };
        if !agrees {
            disagreements.push(format!("{name}: PY001 {mine:?}, CPython {cpython:?}"));
        }
    }
    assert!(invalid >= 25, "the corpus should hold invalid modules");
    assert!(
        disagreements.is_empty(),
        "PY001 and CPython disagree:\n{}",
        disagreements.join("\n")
    );
}
