"""The shape docs/architecture.md promises, read from every import the apps' code makes.

Every import counts: at module level, inside functions and methods (``from .tasks import dispatch`` in a function
still ties the two modules together), ``importlib.import_module("…")`` with a literal name, and
``apps.get_model("app", "Model")`` (a dependency on that app's models). Two rules follow:

- no module of the apps imports a module that imports it back, directly or through others;
- the apps stand on three floors, reports → prescriptions → registry: a module imports only from its own floor
  or below (registry, the lowest, never imports prescriptions or reports; prescriptions never imports reports).
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("registry", "prescriptions", "reports")
FLOOR = {"registry": 0, "prescriptions": 1, "reports": 2}


def _modules() -> dict[str, Path]:
    modules = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "migrations" in parts:
                continue
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _called(node: ast.Call) -> str:
    function = node.func
    if isinstance(function, ast.Attribute):
        return function.attr
    return function.id if isinstance(function, ast.Name) else ""


def imported_names(source: str, name: str, is_package: bool, modules) -> set[str]:
    """Every dotted name ``source`` (the module ``name``) imports, anywhere in it (``from a import b``: ``a.b``
    when that is one of ``modules``, else ``a``)."""
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                found.add(candidate if candidate in modules else target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Call) and node.args:
            first = _literal(node.args[0])
            if first is None:
                continue
            if _called(node) == "import_module":
                found.add(first)
            elif _called(node) == "get_model":
                # apps.get_model("prescriptions", "Prescription") or apps.get_model("prescriptions.Prescription")
                found.add(f"{first.partition('.')[0]}.models")
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The apps' modules ``name`` depends on: each imported name taken to the module that holds it (``from .x
    import f`` is a dependency on ``x``; ``from . import x`` on the submodule ``x``)."""
    found = set()
    for imported in imported_names(path.read_text(), name, path.name == "__init__.py", modules):
        while imported and imported not in modules:
            imported = imported.rpartition(".")[0]
        if imported and imported != name:
            found.add(imported)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    assert len(modules) > 50  # the walk found the apps
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    state: dict[str, str] = {}
    cycles: list[list[str]] = []

    def visit(name: str, stack: list[str]) -> None:
        state[name] = "open"
        stack.append(name)
        for target in sorted(graph[name]):
            if state.get(target) == "open":
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target, stack)
        stack.pop()
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [])
    return cycles


def test_function_level_and_dynamic_imports_are_seen():
    source = """
import importlib
from django.apps import apps

def late():
    from .tasks import dispatch
    from . import runs

class Command:
    def handle(self):
        import prescriptions.services
        importlib.import_module("reports.metrics")
        apps.get_model("prescriptions", "Prescription")
"""
    names = imported_names(source, "reports.services", is_package=False, modules={"reports.runs"})
    assert names >= {
        "reports.tasks",
        "reports.runs",
        "prescriptions.services",
        "reports.metrics",
        "prescriptions.models",
    }


def test_the_apps_import_graph_has_no_cycle():
    assert _cycles(_graph()) == []


def test_imports_point_down_the_floors():
    """reports → prescriptions → registry: nothing imports from a floor above its own (seed commands, tasks and
    function-level imports included)."""
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in _graph().items()
        for target in targets
        if FLOOR[target.split(".")[0]] > FLOOR[module.split(".")[0]]
    )
    assert upward == []


def test_task_modules_only_declare_tasks():
    """A ``tasks`` module is an entry point, like a view: it calls into services and ``runs``, and nothing of the
    apps imports it but its own ``apps.py`` (which registers the tasks so they are sent by their names)."""
    importers = sorted(
        f"{module} -> {target}"
        for module, targets in _graph().items()
        for target in targets
        if target.rpartition(".")[2] == "tasks" and module != f"{target.partition('.')[0]}.apps"
    )
    assert importers == []


# prescriptions/ by concern: the entry points (the pages, the API) sit on the domain (services, selectors, the
# course, the rule engine, interop) and nothing of the domain reaches back up to them.
ENTRY_PACKAGES = ("prescriptions.web", "prescriptions.api")
DOMAIN_PACKAGES = (
    "prescriptions.services",
    "prescriptions.selectors",
    "prescriptions.course",
    "prescriptions.eligibility",
    "prescriptions.interop",
    "prescriptions.models",
    "prescriptions.permissions",
)


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == package or module.startswith(package + ".") for package in packages)


def test_prescriptions_is_organised_by_concern():
    modules = _modules()
    for package in (*ENTRY_PACKAGES, "prescriptions.course", "prescriptions.interop"):
        assert package in modules, f"{package} is the home docs/architecture.md names"
    flat = sorted(name for name in modules if name.count(".") == 1 and name.startswith("prescriptions."))
    for concern in ("views", "urls", "forms", "serializers", "fhir", "workflow", "alerts", "regimen"):
        assert f"prescriptions.{concern}" not in flat, f"prescriptions/{concern}.py belongs in its package"


def test_the_domain_does_not_import_the_pages_or_the_api():
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in _graph().items()
        if _within(module, DOMAIN_PACKAGES)
        for target in targets
        if _within(target, ENTRY_PACKAGES)
    )
    assert upward == []
