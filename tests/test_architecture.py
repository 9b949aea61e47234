"""The import rules of docs/architecture.md, read from its tables and checked against
every module's imports (read with ast, so nothing is imported or run).

What fails: an import between apps that the table doesn't allow, or of a module outside
the imported app's public surface; an import cycle between apps or between the modules
of one app; an import that is not at the top of its module, unless the table of
deliberate ones lists it."""

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
PROJECT = "config"
# The project modules any app may import (see the doc).
SHARED_PROJECT_MODULES = {"config.converters"}
DEFAULT_ROW = "*any other app*"


def _table(name: str) -> list[list[str]]:
    """The rows of the table between <!-- name: start --> and <!-- name: end -->, each
    cell a list of the `code` spans in it."""
    text = DOC.read_text()
    match = re.search(rf"<!-- {name}: start -->(.*?)<!-- {name}: end -->", text, re.S)
    assert match, f"docs/architecture.md has no {name} table"
    rows = []
    for line in match.group(1).strip().splitlines()[2:]:  # past the header and ---
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        rows.append(cells)
    return rows


def _codes(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def local_apps() -> list[str]:
    """The project's own apps: INSTALLED_APPS entries that are folders here."""
    return [app for app in settings.INSTALLED_APPS if (ROOT / app / "apps.py").exists()]


def rules() -> dict:
    """{app: {"may_import": set, "surface": set}}, with DEFAULT_ROW for other apps."""
    table = {}
    for app_cell, may_cell, surface_cell in _table("import-rules"):
        app = DEFAULT_ROW if app_cell == DEFAULT_ROW else _codes(app_cell)[0]
        table[app] = {"may_import": set(_codes(may_cell)), "surface": set(_codes(surface_cell))}
    return table


def rule_for(app: str, table: dict) -> dict:
    return table.get(app, table[DEFAULT_ROW])


def deferred_imports() -> set[tuple[str, str]]:
    return {(_codes(m)[0], _codes(i)[0]) for m, i, _ in _table("deferred-imports")}


# --- Reading the code --------------------------------------------------------------------


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _existing(name: str) -> str:
    """The longest prefix of a dotted name that is a module of this project."""
    parts = name.split(".")
    while parts and not _is_module(".".join(parts)):
        parts.pop()
    return ".".join(parts)


class Import:
    def __init__(self, importer, target, line, at_top):
        self.importer, self.target, self.line, self.at_top = importer, target, line, at_top

    def __repr__(self):
        return f"{self.importer}:{self.line} imports {self.target}"


def imports_of(path: Path) -> list[Import]:
    """Every import of a project module in `path`, resolved to that module: `from a
    import b` is a.b when that is a module, else a."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(), str(path))
    top_level = _top_imports(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            targets = [f"{source}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            resolved = _existing(target)
            if resolved:
                found.append(Import(module, resolved, node.lineno, node in top_level))
    return found


def _top_imports(tree: ast.Module) -> set:
    """The imports at the top of the module: before any other statement but the
    docstring (`if TYPE_CHECKING:` blocks count as imports)."""
    top = set()
    for index, node in enumerate(tree.body):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            top.add(node)
        elif index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the docstring
        elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            top.update(n for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom)))
        else:
            break
    return top


def project_files(apps) -> list[Path]:
    """The Python files of these apps and of config, migrations left out."""
    files = []
    for app in [*apps, PROJECT]:
        files += [p for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts]
    return sorted(files)


def all_imports(apps) -> list[Import]:
    return [imp for path in project_files(apps) for imp in imports_of(path)]


def app_of(module: str) -> str:
    return module.split(".")[0]


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node, or with a self-loop
    (Tarjan's algorithm), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in edges.get(node, ()):
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


# --- The rules -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def apps():
    return local_apps()


@pytest.fixture(scope="module")
def imports(apps):
    return all_imports(apps)


def test_the_rules_table_names_every_app_it_lists_and_a_row_for_new_apps(apps):
    table = rules()
    assert DEFAULT_ROW in table
    named = set(table) - {DEFAULT_ROW}
    assert named <= set(apps), f"rows for apps that don't exist: {named - set(apps)}"
    for app, rule in table.items():
        assert rule["may_import"] <= named, f"{app} may import an app with no row"
        for module in rule["surface"]:
            assert app_of(module) == app and _is_module(module), f"{app}: no module {module}"


def test_apps_import_only_the_apps_the_rules_allow_and_only_their_public_surface(apps, imports):
    table = rules()
    wrong = []
    for imp in imports:
        importer, imported = app_of(imp.importer), app_of(imp.target)
        if importer == imported or importer == PROJECT:
            continue
        if imported == PROJECT:
            if imp.target not in SHARED_PROJECT_MODULES:
                wrong.append(f"{imp}: apps may import only {sorted(SHARED_PROJECT_MODULES)}")
            continue
        allowed = rule_for(importer, table)["may_import"]
        if imported not in allowed:
            wrong.append(f"{imp}: {importer} may import only {sorted(allowed) or 'no app'}")
            continue
        surface = rule_for(imported, table)["surface"]
        # `from papers import ranking` resolves to papers.ranking; a bare `import papers`
        # names the package itself, which is no one's public surface.
        if imp.target not in surface:
            wrong.append(f"{imp}: not in {imported}'s public surface (docs/architecture.md)")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycle_between_apps(apps, imports):
    edges = defaultdict(set)
    for imp in imports:
        importer, imported = app_of(imp.importer), app_of(imp.target)
        if importer != imported and PROJECT not in (importer, imported):
            edges[importer].add(imported)
    assert cycles(edges) == []


def test_no_import_cycle_between_the_modules_of_an_app(apps, imports):
    edges = defaultdict(set)
    for imp in imports:
        if app_of(imp.importer) == app_of(imp.target) and imp.importer != imp.target:
            edges[imp.importer].add(imp.target)
    assert cycles(edges) == []


def test_every_import_is_at_the_top_of_its_module_but_the_documented_ones(apps):
    allowed = deferred_imports()
    late = []
    for path in project_files(apps):
        module = _module_name(path)
        tree = ast.parse(path.read_text(), str(path))
        top = _top_imports(tree)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and node not in top:
                names = {imp.target for imp in imports_of(path) if imp.line == node.lineno}
                if not names or not all((module, name) in allowed for name in names):
                    late.append(f"{module}:{node.lineno}: {ast.unparse(node)}")
    assert not late, "imports below the top of the module:\n" + "\n".join(late)


# --- The checker itself ---------------------------------------------------------------------


def test_the_cycle_finder_finds_a_cycle_and_only_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": {"c"}}) == []
    assert cycles({"a": {"a"}}) == [["a"]]


def test_the_checker_sees_a_late_import_and_resolves_relative_ones(tmp_path, monkeypatch):
    package = tmp_path / "papers"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "models.py").write_text("")
    (package / "views.py").write_text(
        '"""Doc."""\n\nfrom . import models\n\nX = 1\n\nimport json\n\n\n'
        "def f():\n    from .models import Paper\n"
    )
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    found = imports_of(package / "views.py")
    assert [(i.target, i.at_top) for i in found] == [
        ("papers.models", True),
        ("papers.models", False),
    ]
    tree = ast.parse((package / "views.py").read_text())
    assert len(_top_imports(tree)) == 1  # `import json` after X = 1 is not at the top
