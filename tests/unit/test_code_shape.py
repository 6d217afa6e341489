"""The shape of the code, read with the standard library's `ast` (nothing is imported, so this runs in a second).

- no import cycle among the project's modules: a cycle makes import order matter and invites imports hidden in
  functions to dodge it;
- an import inside a function says why on its line (`# local import: <reason>`), because the only good reason is an
  optional or heavy dependency that most callers never need;
- no library module over 350 lines unless its docstring says why, in a sentence starting "Longer than 350 lines:";
- assets stay thin wiring: every `@dg.asset` / `@dg.multi_asset` function in assets/ is at most 40 lines.

The modules are those of the packages in pyproject.toml's `package-dir` (aiinfra_dagster, and the top-level folders
assets/, resources/, sensors/ under their installed names aiinfra_dagster.assets etc.).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MAX_LINES = 350
MAX_ASSET_LINES = 40
ASSET_DECORATORS = {"asset", "multi_asset"}
LONG_REASON = re.compile(r"(?:^|[.!?:;]\s+|\n\s*)Longer than 350 lines:\s*\S+(?:\s+\S+){2,}")
LOCAL_IMPORT = "# local import:"


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    source: str
    tree: ast.Module

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"

    @property
    def where(self) -> str:
        return self.path.relative_to(REPO).as_posix()


@dataclass(frozen=True)
class Edge:
    target: str
    line: int


@cache
def modules() -> dict[str, Module]:
    """Every module of the packages pyproject.toml installs, by its import name."""
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    found: dict[str, Module] = {}
    for package, folder in setuptools["package-dir"].items():
        base = REPO / folder
        for path in sorted(base.rglob("*.py")):
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            source = path.read_text()
            found[".".join([package, *parts])] = Module(
                ".".join([package, *parts]), path, source, ast.parse(source, str(path))
            )
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def module_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Imports that run when the module is imported: not in a function, not under `if TYPE_CHECKING:`."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if isinstance(node, ast.Import | ast.ImportFrom):
                found.append(node)
            elif isinstance(node, ast.If) and _is_type_checking(node.test):
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)
            else:
                for name in ("body", "orelse", "finalbody"):
                    visit(getattr(node, name, None) or [])

    visit(tree.body)
    return found


def function_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Imports inside a function or method body (at any depth), each once, in line order."""
    found: dict[int, ast.Import | ast.ImportFrom] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    found[id(inner)] = inner
    return sorted(found.values(), key=lambda n: (n.lineno, n.col_offset))


def imported_modules(module: Module, node: ast.Import | ast.ImportFrom, known: dict[str, Module]) -> set[str]:
    """The project modules an import statement executes: what it names, and the packages above them.

    Packages above the importing module are left out: they are already being imported when it runs.
    """
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = module.name if module.is_package else module.name.rpartition(".")[0]
            parts = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*parts, *([node.module] if node.module else [])])
        names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
    targets: set[str] = set()
    for name in names:
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name:
            targets.add(name)
    for target in list(targets):
        parts = target.split(".")
        for i in range(1, len(parts)):
            parent = ".".join(parts[:i])
            if parent in known and not (module.name == parent or module.name.startswith(parent + ".")):
                targets.add(parent)
    targets.discard(module.name)
    return targets


def import_graph(*, with_function_imports: bool) -> dict[str, dict[str, int]]:
    """module -> {imported project module: line of the first import of it}."""
    known = modules()
    graph: dict[str, dict[str, int]] = {}
    for name, module in known.items():
        nodes = module_level_imports(module.tree)
        if with_function_imports:
            nodes += function_imports(module.tree)
        edges: dict[str, int] = {}
        for node in sorted(nodes, key=lambda n: n.lineno):
            for target in imported_modules(module, node, known):
                edges.setdefault(target, node.lineno)
        graph[name] = edges
    return graph


def strongly_connected(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; only components with more than one module (a cycle)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return components


def _find_path_back(graph: dict[str, dict[str, int]], component: list[str]) -> list[str]:
    """A shortest cycle through the component's first module (breadth-first inside the component)."""
    members = set(component)
    start = component[0]
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph[node]):
                if target not in members:
                    continue
                if target == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parents[path[-1]])
                    return [*reversed(path), start]
                if target not in parents:
                    parents[target] = node
                    following.append(target)
        frontier = following
    return [start, start]


def cycle_report(graph: dict[str, dict[str, int]]) -> list[str]:
    reports = []
    for component in strongly_connected(graph):
        path = _find_path_back(graph, component)
        steps = [
            f"  {a} imports {b}  ({modules()[a].where}:{graph[a][b]})" for a, b in zip(path, path[1:], strict=False)
        ]
        reports.append(f"cycle among {', '.join(component)}:\n" + "\n".join(steps))
    return reports


def comment_lines(source: str) -> dict[int, str]:
    """line number -> the comment on that line."""
    comments: dict[int, str] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            comments[token.start[0]] = token.string
    return comments


def test_no_import_cycle():
    cycles = cycle_report(import_graph(with_function_imports=False))
    assert not cycles, "import cycles (move code so imports run one way):\n" + "\n".join(cycles)


def test_no_cycle_is_hidden_by_imports_inside_functions():
    """A local import may save load time; it must not be what keeps two modules from importing each other."""
    cycles = cycle_report(import_graph(with_function_imports=True))
    assert not cycles, "cycles closed by imports inside functions:\n" + "\n".join(cycles)


def test_runtime_code_never_imports_the_test_helpers():
    """aiinfra_dagster.testing ships in the wheel for benchmarks; nothing that runs in production may lean on it."""
    helpers = "aiinfra_dagster.testing"
    offenders = [
        f"{module.where}:{line} imports {target}"
        for name, edges in import_graph(with_function_imports=True).items()
        if not (name == helpers or name.startswith(helpers + "."))
        for target, line in edges.items()
        if target == helpers or target.startswith(helpers + ".")
        for module in [modules()[name]]
    ]
    assert not offenders, "\n".join(offenders)


def test_every_import_inside_a_function_says_why():
    unexplained = []
    for module in modules().values():
        nodes = function_imports(module.tree)
        if not nodes:
            continue
        comments = comment_lines(module.source)
        lines = module.source.splitlines()
        for node in nodes:
            span = range(node.lineno, (node.end_lineno or node.lineno) + 1)
            if not any(LOCAL_IMPORT in comments.get(line, "") for line in span):
                unexplained.append(f"{module.where}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    assert not unexplained, (
        f"imports inside functions without a `{LOCAL_IMPORT} <reason>` comment on their line (move them to the "
        "module top, or say which optional or heavy dependency justifies them):\n" + "\n".join(unexplained)
    )


def test_no_module_over_350_lines_without_a_reason():
    too_long = []
    for module in modules().values():
        count = len(module.source.splitlines())
        if count > MAX_LINES and not LONG_REASON.search(ast.get_docstring(module.tree) or ""):
            too_long.append(f"{module.where}: {count} lines")
    assert not too_long, (
        f"modules over {MAX_LINES} lines: split them by concern, or state why not in the module docstring with a "
        'sentence starting "Longer than 350 lines:"\n' + "\n".join(too_long)
    )


def _is_asset_decorator(decorator: ast.expr) -> bool:
    """`@dg.asset`, `@dg.asset(...)`, `@dg.multi_asset(...)` (or the bare names); not `@dg.asset_check`."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    name = target.attr if isinstance(target, ast.Attribute) else target.id if isinstance(target, ast.Name) else ""
    return name in ASSET_DECORATORS


def asset_functions(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Asset functions at any depth (the GPU assets are defined inside a factory function)."""
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and any(map(_is_asset_decorator, node.decorator_list))
    ]


def function_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """From the `def` line (decorators not counted) to the function's last line."""
    return (node.end_lineno or node.lineno) - node.lineno + 1


def test_asset_functions_are_thin_wiring():
    """Every `@dg.asset` / `@dg.multi_asset` function in assets/ is at most 40 lines from `def` to its end.

    An asset calls its stage's library entry with resources and config and turns the typed outcome into metadata
    (CONTRIBUTING.md, "The shape of a stage"); reading inputs, building, experiment records and markdown live in the
    stage package (`<stage>/run.py`, `<stage>/render.py`), where they are unit-tested without Dagster.
    """
    too_long = [
        f"{module.where}:{node.lineno} {node.name}: {function_lines(node)} lines"
        for name, module in modules().items()
        if name == "aiinfra_dagster.assets" or name.startswith("aiinfra_dagster.assets.")
        for node in asset_functions(module.tree)
        if function_lines(node) > MAX_ASSET_LINES
    ]
    assert not too_long, (
        f"asset functions over {MAX_ASSET_LINES} lines: move the logic into the stage's library entry and its "
        "metadata into a render function, and keep the asset to wiring:\n" + "\n".join(too_long)
    )


def test_the_checks_see_what_they_should():
    """The checks themselves: a cycle, a TYPE_CHECKING import, and imports inside functions are told apart."""
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "import os\n"
        "if TYPE_CHECKING:\n"
        "    import json\n"
        "def f():\n"
        "    import re  # local import: the reason\n"
        "    class C:\n"
        "        import sys\n"
    )
    assert [n.names[0].name for n in module_level_imports(tree)] == ["TYPE_CHECKING", "os"]
    assert [n.names[0].name for n in function_imports(tree)] == ["re", "sys"]
    graph = {"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3}, "d": {"a": 4}}
    assert strongly_connected(graph) == [["a", "b", "c"]]
    assert _find_path_back(graph, ["a", "b", "c"]) == ["a", "b", "c", "a"]
    assert LONG_REASON.search("Parsers.\n\nLonger than 350 lines: one state machine, split it and it is unreadable.")
    assert not LONG_REASON.search("It is Longer than 350 lines: sorry.")
    assert len(modules()) > 50 and "aiinfra_dagster.assets" in modules()
    assets = ast.parse(
        "@dg.asset\n"
        "def a(): pass\n"
        "@dg.asset_check(asset=a)\n"
        "def check(): pass\n"
        "def factory():\n"
        "    @dg.multi_asset(specs=[])\n"
        "    def b():\n"
        "        x = 1\n"
        "        return x\n"
        "    @asset(key='c')\n"
        "    def c(): pass\n"
    )
    assert {n.name: function_lines(n) for n in asset_functions(assets)} == {"a": 1, "b": 3, "c": 1}
    real = [
        n.name
        for m in modules().values()
        if m.name.startswith("aiinfra_dagster.assets.")
        for n in asset_functions(m.tree)
    ]
    assert {"raw_documents", "vector_index", "lora_checkpoint", "topic_classifier", "champion_model"} <= set(real)
