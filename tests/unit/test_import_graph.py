"""Import hygiene, read from the source with ``ast`` (nothing is imported):

- no import cycles between portal modules (modules are declared, not registered by import);
- the staff kernel (``portal/staff/``) builds on kernel modules only, never on a domain;
- no portal package imports another one's private (underscore) names;
- the libraries keep their boundaries: ``workflows/`` and ``chatbot/`` import nothing of the portal
  (``payments/`` has its own test: tests/payments/test_library_boundary.py).

Every ``import`` statement counts, at module level and inside functions alike: an import moved into
a function to dodge a cycle still is one.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# What the staff kernel may build on besides itself: the app's kernel modules, no domain package.
STAFF_KERNEL_DEPENDENCIES = {
    "portal.config",
    "portal.db",
    "portal.deps",
    "portal.errors",
    "portal.i18n",
    "portal.modules",  # what a module declares (the staff kernel is one)
    "portal.ratelimit",
    "portal.routing",
    "portal.services",
    "portal.templating",
    "portal.web.bodies",
    "portal.web.render",
    "portal.web.security",
}


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def python_files(directory: Path) -> list[Path]:
    """The package's sources (not virtualenvs, caches or other hidden folders)."""
    return sorted(
        p
        for p in directory.rglob("*.py")
        if not any(part.startswith(".") or part == "__pycache__" for part in p.relative_to(directory).parts)
    )


def import_nodes(path: Path) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node


def imported_names(path: Path, module: str) -> Iterator[tuple[str, str | None, str]]:
    """(absolute module, name taken from it or None, the name bound) for each import of ``path``."""
    for node in import_nodes(path):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, alias.asname or alias.name.split(".")[0]
            continue
        if node.level:  # relative: resolved against the importing module's package
            package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
            package = package[: len(package) - node.level + 1]
            base = ".".join([*package, *([node.module] if node.module else [])])
        else:
            base = node.module or ""
        for alias in node.names:
            yield base, alias.name, alias.asname or alias.name


def _known(name: str, modules: set[str]) -> str | None:
    """The innermost portal module ``name`` is in (``portal.a.b.Thing`` -> ``portal.a.b``)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (``from a import b`` counts as a.b when b is one)."""
    files = {module_name(p): p for p in python_files(package)}
    modules = set(files)
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        targets = set()
        for base, name, _ in imported_names(path, module):
            target = _known(f"{base}.{name}" if name else base, modules)
            if target is not None and target != module:
                targets.add(target)
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components with more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = len(index)
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(graph.get(succ, ())))))
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(component)
    return found


def unit(module: str) -> str:
    """The package (or top-level module) of portal that ``module`` belongs to: portal.x."""
    return ".".join(module.split(".")[:2])


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


GRAPH = import_graph(ROOT / "portal")


# -- (a) cycles ----------------------------------------------------------------------------------


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}
    assert cycles(graph) == [{"a", "b", "c"}]


def test_no_import_cycles() -> None:
    found = [sorted(c) for c in cycles(GRAPH)]
    assert found == [], "import cycles (follow the imports between these modules and cut one)"


# -- (b) the staff kernel --------------------------------------------------------------------------


def test_the_staff_kernel_imports_no_domain() -> None:
    staff = [m for m in GRAPH if m == "portal.staff" or m.startswith("portal.staff.")]
    assert staff, "portal/staff/ not found"
    offenders = sorted(
        f"{module} imports {target}"
        for module in staff
        for target in GRAPH[module]
        if unit(target) != "portal.staff" and target not in STAFF_KERNEL_DEPENDENCIES
    )
    assert offenders == []


# -- (c) private names -----------------------------------------------------------------------------


def _private_uses(path: Path, module: str, modules: set[str]) -> Iterator[str]:
    """``from other import _name``, ``import other._module`` and ``alias._name`` of another package."""
    aliases: dict[str, str] = {}  # local name -> the portal module it is bound to
    for base, name, bound in imported_names(path, module):
        if not base.startswith("portal"):
            continue
        full = f"{base}.{name}" if name else base
        if full in modules and (name or bound != "portal"):
            aliases[bound] = full
        if unit(full) != unit(module) and any(is_private(part) for part in full.split(".")):
            yield f"{module} imports {full}"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and is_private(node.attr):
            target = aliases.get(node.value.id)
            if target is not None and unit(target) != unit(module):
                yield f"{module} uses {target}.{node.attr} (line {node.lineno})"


def test_no_package_uses_another_packages_private_names() -> None:
    files = {module_name(p): p for p in python_files(ROOT / "portal")}
    offenders = sorted(o for module, path in files.items() for o in _private_uses(path, module, set(files)))
    assert offenders == [], "make the name public (or move it to a module both may use)"


# -- library boundaries ----------------------------------------------------------------------------

BOUNDARIES = {
    # the workflow library: definitions, engine, calendar; no web app, no database, no payments
    "workflows": ("portal", "fastapi", "starlette", "sqlalchemy", "alembic", "psycopg", "payments"),
    # the assistant (Rasa, own virtualenv) reaches the portal through /api/v1 only (chatbot/actions/portal.py)
    "chatbot": ("portal", "workflows", "payments"),
}


def _absolute_imports(path: Path) -> Iterator[str]:
    for node in import_nodes(path):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif node.level == 0 and node.module:  # relative imports stay inside the package
            yield node.module


@pytest.mark.parametrize(
    "path",
    [p for package in BOUNDARIES for p in python_files(ROOT / package)],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_library_boundary(path: Path) -> None:
    forbidden = BOUNDARIES[path.relative_to(ROOT).parts[0]]
    bad = sorted({name for name in _absolute_imports(path) if name.split(".")[0] in forbidden})
    assert bad == [], f"{path.relative_to(ROOT)} imports {bad}"
