"""No import cycles: between the packages of publisher/, and between its modules.

Every import is counted, at module level or inside a function or an ``if TYPE_CHECKING:``
block: a lazy import hides a cycle from Python, not from the reader. ``from publisher.X…`` maps
to X, a package (``web``, ``service``…) or a top-level module (``app``, ``errors``…).
"""

import ast
from pathlib import Path

import publisher

ROOT = Path(publisher.__file__).parent
# click's command registration: publisher/cli/__init__ defines the group that its command
# modules decorate, and imports them so that they register. The cycle stays inside the package.
REGISTRATION_PACKAGE = "publisher.cli"
TRANSPORTS = ("publisher.delivery.outbox", "publisher.delivery.smtp", "publisher.delivery.sendgrid_api")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in ROOT.rglob("*.py")}


def imported_modules(name: str) -> set[str]:
    """The publisher modules that module ``name`` imports (a name imported from a package counts
    as the submodule when there is one, else as the package)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(_known(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                found.add(_known(f"{base}.{alias.name}"))
    return {module for module in found if module is not None and module != name}


def _known(dotted: str) -> str | None:
    while dotted and dotted not in MODULES:
        dotted = dotted.rpartition(".")[0]
    return dotted or None


def top_level(module: str) -> str:
    """``publisher.web.admin`` → ``web``; ``publisher.errors`` → ``errors``; ``publisher`` → ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_graph() -> dict[str, set[str]]:
    return {name: imported_modules(name) for name in MODULES}


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, imports in module_graph().items():
        source = top_level(name)
        targets = graph.setdefault(source, set())
        targets.update(top_level(target) for target in imports if top_level(target) != source)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"web": {"store"}, "service": {"web", "store"}}) == []


def test_imports_are_mapped_to_modules_and_packages():
    imports = imported_modules("publisher.web.admin")
    assert "publisher.web.security" in imports and "publisher.errors" in imports
    assert top_level("publisher.web.admin") == "web" and top_level("publisher.errors") == "errors"
    assert "store" in package_graph()["app"]


def test_no_cycle_between_the_packages_of_publisher():
    graph = package_graph()
    assert cycles(graph) == [], "import cycle between packages; the package graph is:\n" + "\n".join(
        f"{source} -> {', '.join(sorted(targets))}" for source, targets in sorted(graph.items())
    )


def test_no_cycle_between_modules():
    found = [component for component in cycles(module_graph()) if not _click_registration(component)]
    assert found == []


def _click_registration(component: list[str]) -> bool:
    return all(module == REGISTRATION_PACKAGE or module.startswith(f"{REGISTRATION_PACKAGE}.") for module in component)


def test_transports_import_the_interface_and_the_registry_imports_them():
    for transport in TRANSPORTS:
        imports = imported_modules(transport)
        assert "publisher.delivery.registry" not in imports, transport
        assert imports.isdisjoint(TRANSPORTS), transport
    assert imported_modules("publisher.delivery.transport").isdisjoint({*TRANSPORTS, "publisher.delivery.registry"})
    assert set(TRANSPORTS) <= imported_modules("publisher.delivery.registry")


def test_web_does_not_import_the_service():
    """The web app gets what it shows of the scheduler through publisher.web.context.Schedule."""
    assert "service" not in package_graph()["web"]
    assert "web" in package_graph()["service"]
