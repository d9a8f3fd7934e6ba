"""The house's one-way flow: each stage imports only from itself and the stages before it,
and no module imports itself back through others. Read from the source with `ast`, so a
lazy (function-level) or type-checking import counts the same as one at the top."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "netlm_bayes"

# The stages in the order data flow through them. A top-level module is its own stage
# unless listed under "foundation" (shared plumbing that every stage may use).
STAGES = [
    "foundation",  # errors, tomlfiles, paths, labels, runs, runner
    "evidence",
    "frequentist",
    "synthetic",
    "priors",
    "families",
    "sampling",
    "fitting",
    "checks",
    "planning",
    "report",
    "study",
    "cli",
    # The notebook's front door: a thin facade over the stages, above all of them, so that
    # no stage's work passes through it (test_nothing_imports_the_api).
    "api",
]
FOUNDATION = {"errors", "tomlfiles", "paths", "labels", "runs", "runner", "__init__"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def stage_of(module: str) -> str:
    first = module.split(".")[1] if "." in module else "__init__"
    return "foundation" if first in FOUNDATION else first


def imports() -> dict[str, set[str]]:
    """Module -> the modules it imports, for every `netlm_bayes` import in the package."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            # `from pkg import module` names a module (the first target); `from module import
            # thing` does not, and then the module itself (the last target) is what counts.
            for target in targets:
                if target in modules and target != name:
                    graph[name].add(target)
                    break
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


GRAPH = imports()


def test_every_module_belongs_to_a_declared_stage():
    unknown = sorted({stage_of(m) for m in GRAPH if m != "netlm_bayes"} - set(STAGES))
    assert not unknown, f"modules outside the stage table: {unknown}; add them to STAGES"


def test_no_import_cycles():
    groups = cycles(GRAPH)
    assert not groups, "modules that import each other: " + "; ".join(map(str, groups))


def test_no_import_runs_against_the_flow():
    upward = [
        f"{source} (stage {stage_of(source)}) imports {target} (stage {stage_of(target)})"
        for source, targets in GRAPH.items()
        for target in targets
        if source != "netlm_bayes"
        and STAGES.index(stage_of(target)) > STAGES.index(stage_of(source))
    ]
    assert not upward, "imports from a later stage:\n" + "\n".join(sorted(upward))


def test_nothing_imports_the_api():
    """api.py is a facade: only the package's lazy `__getattr__` reaches it."""
    importers = sorted(m for m, targets in GRAPH.items() if "netlm_bayes.api" in targets)
    assert importers == ["netlm_bayes"], f"modules importing netlm_bayes.api: {importers}"


def test_the_api_uses_stages_below_it():
    """The facade uses the stages that compute; it is not one of them."""
    used = {stage_of(t) for t in GRAPH["netlm_bayes.api"]}
    assert {"fitting", "planning"} <= used
    assert "cli" not in used and "study" not in used


def test_modules_borrow_no_other_package_name():
    """`from netlm_bayes.x import y as z` where z is another module's or stage's name
    (`sampler as inference`, `gate as checks`) sends readers to the wrong room."""
    names = {path.stem for path in PACKAGE.rglob("*.py")} | set(STAGES)
    borrowed = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("netlm_bayes"):
                borrowed += [
                    f"{module_name(path)}: {a.name} as {a.asname}"
                    for a in node.names
                    if a.asname and a.asname != a.name and a.asname in names
                ]
    assert not borrowed, "aliases that borrow another module's name: " + "; ".join(borrowed)


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: module_name(p))
def test_modules_stay_small(path):
    """Past ~400 lines a module probably holds two jobs."""
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= 400, f"{module_name(path)}: {lines} lines"


def _long_functions(path: Path, limit: int = 80) -> list[str]:
    """Functions whose body (docstring to last line; a typer command's option declarations
    are its signature, not its body) runs past `limit` lines."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{node.name}: {node.end_lineno - node.body[0].lineno + 1} lines"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.body[0].lineno + 1 > limit
    ]


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: module_name(p))
def test_functions_stay_short(path):
    """Past ~80 lines a function probably does two things."""
    assert not _long_functions(path), f"{module_name(path)}: {_long_functions(path)}"
