"""The layout's rules, checked on the source text (pure AST: nothing in app/ is imported).

Imports run one way, from the edges down to the kit, with no circles; modules stay small; the
platform deliveries and the store writers say each thing once. Every failure names the rule that
broke and how to mend it. The last tests run the checkers on small synthetic trees, so a checker
that quietly stopped seeing violations would fail here too.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# --- The rules -----------------------------------------------------------------------------------

# Layer of each room (the first package under app/), lowest first.  A module may import a module
# of a strictly lower layer, or of its own layer in its own room.  Layer 1 (db, settings and every
# `*.models` module: the schema) counts as one room, so tables may refer to each other and to db.
LAYERS: dict[str, int] = {
    "kit": 0,
    "db": 1,
    "settings": 1,
    "store": 2,
    "stores": 2,  # the stores as records (reads settings); the store's data is `store`'s
    "agents": 3,
    "integrations": 3,  # same layer as agents, but a different room: neither imports the other
    "card": 4,
    "push": 5,
    "calls": 6,
    "summaries": 7,  # after the call: transcripts, AI summaries and their jobs (reads the call core)
    "insights": 8,  # KPIs and why customers call (reads calls and summaries)
}
MODELS_LAYER = 1  # every module named `models`, in any room: any layer may import the schema
EDGE_LAYER = 9  # edges may import anything (they wire the layers together)
EDGE_ROOMS = {"telephony", "platforms", "web", "ops", "demo", "console", "main", "cli", "deps"}
EDGE_MODULE = re.compile(r"^(routes|\w+_routes|cli)$")  # an HTTP or command-line edge in any room

PY_MAX_LINES = 400
PY_SIZE_EXCEPTIONS = {"app/kit/phones.py"}  # its docstring says why it stays whole
JS_MAX_LINES = 300
JS_DIR = "app/console/static"

DUPLICATE_MIN_LINES = 6
DUPLICATE_SCOPE = ["app/platforms/**/*.py", "app/store/*.py"]
DUPLICATE_SCOPE_EXCLUDED = {"app/store/routes.py"}  # the sync API is an edge, not a writer

# --- Reading the import graph --------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    source: str  # the importing module, dotted (app.agents.management)
    target: str  # the imported module, dotted, resolved to the deepest module in the tree
    path: str  # the importing file, relative to the root
    line: int


def module_files(root: Path) -> dict[str, Path]:
    """Every module under root/app by dotted name (a package by its __init__.py)."""
    found: dict[str, Path] = {}
    for path in sorted((root / "app").rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import at any depth (functions included), except under `if TYPE_CHECKING:`."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The deepest module of the tree that `name` (a.b.c, where c may be an attribute) names."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(root: Path) -> list[Import]:
    modules = module_files(root)
    found: list[Import] = []
    for source, path in modules.items():
        is_package = path.name == "__init__.py"
        package = source if is_package else source.rpartition(".")[0]
        rel = path.relative_to(root).as_posix()
        for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"), filename=rel)):
            names: list[str]
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                names = [f"{base}.{alias.name}" for alias in node.names]
            for name in names:
                target = _resolve(name, modules) if name.split(".")[0] == "app" else None
                if target is not None and target != source:
                    found.append(Import(source, target, rel, node.lineno))
    return list(dict.fromkeys(found))  # `from m import a, b` is one import of m


# --- (a) No circles ------------------------------------------------------------------------------


def import_cycles(imports: list[Import]) -> list[list[Import]]:
    """One cycle (as its imports, in order) for every strongly connected part of the graph."""
    graph: dict[str, list[Import]] = defaultdict(list)
    for imp in imports:
        graph[imp.source].append(imp)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[set[str]] = []

    def visit(node: str) -> None:  # Tarjan; the graph is a few hundred modules
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for imp in graph[node]:
            if imp.target not in index:
                visit(imp.target)
                low[node] = min(low[node], low[imp.target])
            elif imp.target in on_stack:
                low[node] = min(low[node], index[imp.target])
        if low[node] == index[node]:
            component: set[str] = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_within(component, graph) for component in components]


def _cycle_within(component: set[str], graph: dict[str, list[Import]]) -> list[Import]:
    """A shortest way from the component's first module back to itself (breadth first)."""
    start = min(component)
    came_by: dict[str, Import] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for imp in graph[node]:
                if imp.target not in component:
                    continue
                if imp.target == start:
                    path = [imp]
                    while path[0].source != start:
                        path.insert(0, came_by[path[0].source])
                    return path
                if imp.target not in came_by:
                    came_by[imp.target] = imp
                    following.append(imp.target)
        frontier = following
    raise AssertionError(f"no cycle through {start}")  # a component of two or more always has one


# --- (b) One direction ---------------------------------------------------------------------------


def room_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "app"


def layer_of(module: str) -> int:
    last = module.rsplit(".", 1)[-1]
    if last == "models":  # the schema, even in an edge room (app/platforms/models.py)
        return MODELS_LAYER
    if EDGE_MODULE.match(last) or room_of(module) in EDGE_ROOMS:
        return EDGE_LAYER
    if module == "app":
        return 0
    if room_of(module) not in LAYERS:
        room = room_of(module)
        raise AssertionError(f"{module}: room {room!r} has no layer; add it to LAYERS or EDGE_ROOMS")
    return LAYERS[room_of(module)]


def _same_room(a: str, b: str) -> bool:
    return room_of(a) == room_of(b) or layer_of(a) == layer_of(b) == MODELS_LAYER


def upward_imports(imports: list[Import]) -> list[str]:
    found = []
    for imp in imports:
        src, dst = layer_of(imp.source), layer_of(imp.target)
        if src == EDGE_LAYER or dst < src or (dst == src and _same_room(imp.source, imp.target)):
            continue
        found.append(f"{imp.path}:{imp.line}: {imp.source} (layer {src}) imports {imp.target} (layer {dst})")
    return found


# --- (c) Small modules ---------------------------------------------------------------------------


def _line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def oversized(root: Path) -> list[str]:
    found = []
    for path in sorted((root / "app").rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel not in PY_SIZE_EXCEPTIONS and (n := _line_count(path)) > PY_MAX_LINES:
            found.append(f"{rel}: {n} lines (Python limit {PY_MAX_LINES})")
    for path in sorted((root / JS_DIR).rglob("*.js")):
        # A language's catalogue is data, one file per language by design (adding a language is
        # adding one file): it grows with every text the console shows, not with its logic.
        if path.parent.name == "locales":
            continue
        if (n := _line_count(path)) > JS_MAX_LINES:
            found.append(f"{path.relative_to(root).as_posix()}: {n} lines (JS limit {JS_MAX_LINES})")
    return found


# --- (d) No copied runs --------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    path: str
    number: int
    text: str  # comment stripped, whitespace collapsed


def meaningful_lines(path: Path, rel: str) -> list[Line]:
    """The file's lines without blanks, comments or imports, whitespace normalised."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            row, col = token.start
            lines[row - 1] = lines[row - 1][:col]
    skipped: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            skipped.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    kept = []
    for number, text in enumerate(lines, start=1):
        text = " ".join(text.split())
        if text and number not in skipped:
            kept.append(Line(rel, number, text))
    return kept


def duplicate_files(root: Path) -> list[tuple[str, Path]]:
    files = {p for pattern in DUPLICATE_SCOPE for p in root.glob(pattern)}
    named = ((p.relative_to(root).as_posix(), p) for p in files)
    return sorted((rel, p) for rel, p in named if rel not in DUPLICATE_SCOPE_EXCLUDED)


def duplicated_runs(files: list[tuple[str, Path]], size: int = DUPLICATE_MIN_LINES) -> list[str]:
    """Runs of `size` or more identical meaningful lines found twice (in two files or one)."""
    texts = {rel: meaningful_lines(path, rel) for rel, path in files}
    seen: dict[tuple[str, ...], list[tuple[str, int]]] = defaultdict(list)
    for rel, lines in texts.items():
        for i in range(len(lines) - size + 1):
            seen[tuple(line.text for line in lines[i : i + size])].append((rel, i))
    pairs: set[tuple[tuple[str, int], tuple[str, int]]] = set()
    for places in seen.values():
        for a_at, a in enumerate(places):
            for b in places[a_at + 1 :]:
                if a[0] != b[0] or b[1] - a[1] >= size:  # a run overlapping itself is not a copy
                    pairs.add((a, b))
    found = []
    for (a_rel, a), (b_rel, b) in sorted(pairs):
        if ((a_rel, a - 1), (b_rel, b - 1)) in pairs:
            continue  # inside a longer run, reported from its start
        length = size
        while ((a_rel, a + length - size + 1), (b_rel, b + length - size + 1)) in pairs:
            length += 1
        first, last = texts[a_rel][a], texts[a_rel][a + length - 1]
        other, other_last = texts[b_rel][b], texts[b_rel][b + length - 1]
        found.append(
            f"{a_rel}:{first.number}-{last.number} = {b_rel}:{other.number}-{other_last.number}"
            f" ({length} lines, starting {first.text!r})"
        )
    return found


# --- The checks ----------------------------------------------------------------------------------


def _report(rule: str, fix: str, found: list[str]) -> str:
    return f"{rule}\n  " + "\n  ".join(found) + f"\nFix: {fix}"


def test_no_import_circles() -> None:
    cycles = [
        " -> ".join([c[0].source] + [f"{i.target} ({i.path}:{i.line})" for i in c])
        for c in import_cycles(imports_of(ROOT))
    ]
    assert not cycles, _report(
        "Rule: no import circles in app/ (function-level imports count; TYPE_CHECKING ones don't).",
        "move what both sides need into a lower module, or let the caller (a layer up) pass it in.",
        cycles,
    )


def test_imports_run_downwards() -> None:
    found = upward_imports(imports_of(ROOT))
    assert not found, _report(
        "Rule: a module imports only its own room or lower layers "
        "(kit 0 < db/settings/models 1 < store 2 < agents, integrations 3 < card 4 < push 5 < calls 6 "
        "< edges 7: telephony, platforms, web, ops, demo, console, main, cli, deps, routes, *_routes).",
        "move the needed piece down to a layer both can import, or do the work in the edge that calls it.",
        found,
    )


def test_modules_stay_small() -> None:
    found = oversized(ROOT)
    assert not found, _report(
        f"Rule: a Python module in app/ has at most {PY_MAX_LINES} lines, a console JS module at most "
        f"{JS_MAX_LINES}.",
        "split the module along its seams into modules whose names say what they hold.",
        found,
    )


def test_size_exception_says_why() -> None:
    for rel in PY_SIZE_EXCEPTIONS:
        docstring = ast.get_docstring(ast.parse((ROOT / rel).read_text(encoding="utf-8"))) or ""
        assert re.search(rf"\bwhy\b[^.]*\b{PY_MAX_LINES}-line limit", docstring, re.I), (
            f"Rule: a module allowed over {PY_MAX_LINES} lines says why in its docstring.\n  {rel}\n"
            f"Fix: add 'Why ... over the {PY_MAX_LINES}-line limit: ...' to its docstring (or split it and "
            "drop the exception)."
        )


def test_no_copied_runs_in_platforms_and_store_writers() -> None:
    found = duplicated_runs(duplicate_files(ROOT))
    assert not found, _report(
        f"Rule: no identical run of {DUPLICATE_MIN_LINES}+ lines (blanks, comments and imports aside) "
        "in app/platforms or the store writers.",
        "keep the shared steps once (app/platforms/pipeline.py, a store helper) and call them.",
        found,
    )


# --- The checkers see what they should -----------------------------------------------------------


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_checkers_report_a_circle_and_an_upward_import(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/kit/__init__.py": "",
            "app/kit/lines.py": "def f() -> None:\n    from app.store import models\n",  # upward
            "app/store/__init__.py": "",
            "app/store/models.py": "from app.db import Base\n",  # the schema: allowed
            "app/store/writes.py": "from . import reads\nfrom app.kit.lines import f\n",  # downward
            "app/store/reads.py": "from .writes import x\n",  # circle writes -> reads -> writes
            "app/db/all_models.py": "import app.store.models\n",  # the schema: allowed
            "app/platforms/models.py": "from app.db import Base\n",  # the schema, in an edge room
            "app/store/erasures.py": "from app.platforms.models import T\n",  # so allowed
            "app/agents/__init__.py": "",
            "app/agents/access.py": "from app.integrations import status\n",  # sideways
            "app/agents/routes.py": "from app.calls import intake\n",  # an edge: allowed
            "app/integrations/__init__.py": "",
            "app/integrations/status.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from app.calls import intake\n"
            ),
            "app/calls/__init__.py": "",
            "app/calls/intake.py": "import app.agents.access\n",
        },
    )
    imports = imports_of(root)
    cycles = [[(i.source, i.target, i.line) for i in cycle] for cycle in import_cycles(imports)]
    assert cycles == [
        [("app.store.reads", "app.store.writes", 1), ("app.store.writes", "app.store.reads", 1)]
    ]
    assert sorted(upward_imports(imports)) == [
        "app/agents/access.py:1: app.agents.access (layer 3) imports app.integrations.status (layer 3)",
        "app/kit/lines.py:2: app.kit.lines (layer 0) imports app.store.models (layer 1)",
    ]


def test_checkers_report_a_big_module_and_a_copied_run(tmp_path: Path) -> None:
    run = "".join(f"x{i} = compute({i})\n" for i in range(DUPLICATE_MIN_LINES))
    root = _tree(
        tmp_path,
        {
            "app/platforms/a.py": "import os\n\n" + run + "# why\n",
            "app/platforms/b.py": "import sys\n" + run.replace("= ", "=   ").replace("\n", "  # note\n", 1),
            "app/kit/big.py": "pass\n" * (PY_MAX_LINES + 1),
            "app/console/static/js/big.js": ";\n" * (JS_MAX_LINES + 1),
            "app/console/static/js/locales/xx.js": ";\n" * (JS_MAX_LINES + 1),
        },
    )
    assert oversized(root) == [
        f"app/kit/big.py: {PY_MAX_LINES + 1} lines (Python limit {PY_MAX_LINES})",
        f"app/console/static/js/big.js: {JS_MAX_LINES + 1} lines (JS limit {JS_MAX_LINES})",
    ]
    found = duplicated_runs(duplicate_files(root))
    assert found == [
        f"app/platforms/a.py:3-{2 + DUPLICATE_MIN_LINES} = app/platforms/b.py:2-{1 + DUPLICATE_MIN_LINES}"
        f" ({DUPLICATE_MIN_LINES} lines, starting 'x0 = compute(0)')"
    ]
