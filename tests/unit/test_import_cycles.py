"""No import cycles among the application's modules (include/cdop, include/cdop_airflow).

The modules are read with `ast`, never imported: every `import` / `from ... import`
anywhere in a file counts (module level, inside functions and methods, in class bodies,
under try/except, and under `if TYPE_CHECKING:`), so a cycle that only bites when a
function first runs, or only for a type checker, is still reported.

Edges of the graph `module -> imported module` (modules outside the root are ignored):

* `import a.b.c` imports `a.b.c` and, because Python runs their `__init__` first, the
  packages `a.b` and `a`.
* `from a.b import y` imports `a.b` (and `a`), plus `a.b.y` when that is a submodule;
  relative imports are resolved against the importing module's package.
* An edge to a parent package that exists only because Python must initialise it before
  its submodule (the implicit `a`, `a.b` above; `a.b` in `from a.b import submodule`) is
  left out when that package is the importing module itself or one of its own ancestor
  packages: those have necessarily started initialising before the importer runs, so the
  import cannot trigger them (otherwise every `__init__.py` that re-exports from its
  submodules would be "in a cycle" with each submodule that imports a sibling). Naming the
  package itself (`import a.b`, `from a.b import some_name`, `from . import some_name`)
  always counts: the importer then needs the package's contents, which is exactly the
  partially-initialised-module hazard a cycle causes.

Imports built at run time (`importlib.import_module(...)`, `__import__`) are not seen.
"""

from __future__ import annotations

import ast
from collections import deque
from dataclasses import dataclass
from pathlib import Path

INCLUDE = Path(__file__).resolve().parents[2] / "include"
PACKAGES = ("cdop", "cdop_airflow")


@dataclass(frozen=True)
class ModuleFile:
    name: str
    path: Path
    is_package: bool  # an __init__.py


@dataclass(frozen=True)
class Edge:
    path: Path
    line: int
    where: str  # "module level", "in def f", "under TYPE_CHECKING", ...


Graph = dict[str, dict[str, Edge]]


def discover_modules(root: Path) -> dict[str, ModuleFile]:
    """Every .py file of the top-level packages (folders with an __init__.py) under root,
    and root's own top-level .py files, keyed by dotted module name."""
    modules: dict[str, ModuleFile] = {}

    def add(path: Path) -> None:
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        name = ".".join(parts)
        modules[name] = ModuleFile(name, path, is_package)

    for entry in sorted(root.iterdir()):
        if entry.is_file() and entry.suffix == ".py":
            add(entry)
        elif entry.is_dir() and (entry / "__init__.py").is_file():
            for path in sorted(entry.rglob("*.py")):
                rel = path.relative_to(root).parts
                if any(part == "__pycache__" or part.startswith(".") for part in rel):
                    continue
                add(path)
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _ImportCollector(ast.NodeVisitor):
    """Collects (node, where) for every Import/ImportFrom in the tree, wherever it sits."""

    def __init__(self) -> None:
        self.found: list[tuple[ast.Import | ast.ImportFrom, str]] = []
        self._where: list[str] = []

    def _inside(self, label: str, node: ast.AST) -> None:
        self._where.append(label)
        self.generic_visit(node)
        self._where.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._inside(f"in def {node.name}", node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._inside(f"in async def {node.name}", node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._inside(f"in class {node.name}", node)

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        # `if TYPE_CHECKING:` imports never run, but they are treated as edges like any
        # other: they are one refactor (a type used at run time) away from a real cycle.
        self.visit(node.test)
        self._where.append("under TYPE_CHECKING")
        for child in node.body:
            self.visit(child)
        self._where.pop()
        for child in node.orelse:
            self.visit(child)

    def _record(self, node: ast.Import | ast.ImportFrom) -> None:
        self.found.append((node, ", ".join(self._where) or "module level"))

    visit_Import = _record
    visit_ImportFrom = _record


def _literal_all(module: ModuleFile) -> list[str]:
    """The names in a module's literal `__all__ = [...]`, if it has one."""
    tree = ast.parse(module.path.read_text(encoding="utf-8"), filename=str(module.path))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                return []
            return [v for v in value if isinstance(v, str)]
    return []


def _ancestors(name: str) -> list[str]:
    """`a.b.c` -> [`a`, `a.b`]."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _imported_targets(
    module: ModuleFile, node: ast.Import | ast.ImportFrom, modules: dict[str, ModuleFile]
) -> list[tuple[str, bool]]:
    """(target module, explicit?) pairs for one import statement; explicit=False marks a
    parent package that is imported only because its submodule is."""
    targets: list[tuple[str, bool]] = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            targets += [(parent, False) for parent in _ancestors(alias.name)]
            targets.append((alias.name, True))
        return targets

    if node.level:
        package = module.name.split(".")
        if not module.is_package:
            package.pop()
        keep = len(package) - (node.level - 1)
        if keep < 1:  # beyond the top-level package: an ImportError at run time
            return []
        base = ".".join(package[:keep] + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    targets += [(parent, False) for parent in _ancestors(base)]

    names = [alias.name for alias in node.names]
    if names == ["*"]:
        targets.append((base, True))
        if base in modules and modules[base].is_package:
            targets += [(f"{base}.{n}", True) for n in _literal_all(modules[base])]
        return targets
    # `from base import y`: y may be a submodule (then `base` is only its container) or a
    # name defined in base's __init__.py / base.py (then base's contents are needed).
    submodules = [f"{base}.{n}" for n in names if f"{base}.{n}" in modules]
    targets.append((base, len(submodules) < len(names)))
    targets += [(sub, True) for sub in submodules]
    return targets


def build_import_graph(root: Path) -> Graph:
    """module -> {imported module under root: where the first such import is}."""
    modules = discover_modules(root)
    graph: Graph = {name: {} for name in modules}
    for module in modules.values():
        source = module.path.read_text(encoding="utf-8")
        collector = _ImportCollector()
        collector.visit(ast.parse(source, filename=str(module.path)))
        own_packages = {module.name, *_ancestors(module.name)}
        for node, where in collector.found:
            for target, explicit in _imported_targets(module, node, modules):
                if target not in modules:
                    continue  # outside root (stdlib, third party) or not a module
                if not explicit and target in own_packages:
                    continue  # already initialising before this module runs
                graph[module.name].setdefault(
                    target, Edge(module.path.relative_to(root), node.lineno, where)
                )
    return graph


def strongly_connected_components(graph: Graph) -> list[list[str]]:
    """Tarjan's algorithm, iterative; each component sorted, components in sorted order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0

    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = counter
                    counter += 1
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(graph[succ]))))
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
    return sorted(components)


def _example_cycle(graph: Graph, component: list[str]) -> list[str]:
    """A shortest cycle from the component's first module back to itself."""
    start, members = component[0], set(component)
    previous: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for succ in sorted(graph[node]):
            if succ == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [*reversed(path), start]
            if succ in members and succ not in previous:
                previous[succ] = node
                queue.append(succ)
    raise AssertionError(f"no cycle through {start} in {component}")


def find_cycles(graph: Graph) -> list[tuple[list[str], list[str]]]:
    """(component, example cycle path) for each strongly connected component of more than
    one module, and for each module that imports itself."""
    return [
        (component, _example_cycle(graph, component))
        for component in strongly_connected_components(graph)
        if len(component) > 1 or component[0] in graph[component[0]]
    ]


def format_cycles(graph: Graph, cycles: list[tuple[list[str], list[str]]]) -> str:
    lines = [f"{len(cycles)} import cycle(s):"]
    for number, (component, path) in enumerate(cycles, 1):
        lines.append(f"{number}. {len(component)} module(s): {', '.join(component)}")
        lines.append(f"   {' -> '.join(path)}")
        for here, there in zip(path, path[1:], strict=False):
            edge = graph[here][there]
            lines.append(f"     {edge.path}:{edge.line} ({edge.where}) imports {there}")
    return "\n".join(lines)


def test_no_import_cycles_under_include():
    graph = build_import_graph(INCLUDE)
    assert {name.split(".")[0] for name in graph} >= set(PACKAGES)
    cycles = find_cycles(graph)
    assert not cycles, format_cycles(graph, cycles)


def _write_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_the_cycle_finder_itself(tmp_path):
    acyclic = _write_tree(
        tmp_path / "acyclic",
        {
            # __init__ re-exports from submodules that import their siblings: no cycle.
            "app/__init__.py": "from app.core.api import run\nfrom . import util\n",
            "app/util.py": "import json\n",
            "app/core/__init__.py": "",
            "app/core/api.py": (
                "from typing import TYPE_CHECKING\n"
                "from app.core import models\n"
                "if TYPE_CHECKING:\n    from ..util import Helper\n"
                "def run():\n    import app.core.models\n"
            ),
            "app/core/models.py": "from app import util\nclass M:\n    from app.util import x\n",
            "tool.py": "import app.core.api\n",
        },
    )
    graph = build_import_graph(acyclic)
    assert set(graph["app"]) == {"app.core", "app.core.api", "app.util"}
    assert set(graph["app.core.api"]) == {"app.core.models", "app.util"}
    assert graph["app.core.api"]["app.util"].where == "under TYPE_CHECKING"
    # `from app import util` needs only the submodule: no edge back up to `app`.
    assert set(graph["app.core.models"]) == {"app.util"}
    assert graph["app.core.models"]["app.util"].line == 1
    assert set(graph["tool"]) == {"app", "app.core", "app.core.api"}
    # app.core.models -> app is there, but app never reaches app.core.models back.
    assert find_cycles(graph) == []

    cyclic = _write_tree(
        tmp_path / "cyclic",
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "import pkg.b\n",
            "pkg/b.py": "import os\n\ndef later():\n    from . import a\n    return a\n",
            "pkg/me.py": "from pkg import me\n",
            # __init__ imports a submodule that needs a name from the package itself.
            "lib/__init__.py": "from lib.impl import f\nVERSION = 1\n",
            "lib/impl.py": "from lib import VERSION\ndef f():\n    return VERSION\n",
        },
    )
    graph = build_import_graph(cyclic)
    cycles = find_cycles(graph)
    assert [(component, path) for component, path in cycles] == [
        (["lib", "lib.impl"], ["lib", "lib.impl", "lib"]),
        (["pkg.a", "pkg.b"], ["pkg.a", "pkg.b", "pkg.a"]),
        (["pkg.me"], ["pkg.me", "pkg.me"]),
    ]
    report = format_cycles(graph, cycles)
    assert "pkg.a -> pkg.b -> pkg.a" in report
    assert "pkg/b.py:4 (in def later) imports pkg.a" in report
