"""The rules that keep the rooms apart and small (issue 11): the imports, read from the code
with grimp, and the sizes and complexity of modules and functions, with radon."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest
from radon.complexity import cc_visit
from radon.visitors import Class, Function

PACKAGES = ("authserver", "mcpserver", "shared", "hospiai")
ROOT = Path(__file__).resolve().parents[1]
# Issue 11's limits. Migrations are written once and never read as code (each is one revision).
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 50
MAX_COMPLEXITY = 10


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    # External packages too (each squashed into one node), so that "imports authlib" is a fact
    # of the graph and not an empty search.
    return grimp.build_graph(
        *PACKAGES, include_external_packages=True, exclude_type_checking_imports=True
    )


@pytest.mark.parametrize("engine", ["authserver.oauth", "authserver.endpoints"])
@pytest.mark.parametrize("pages", ["authserver.interactions", "authserver.admin"])
def test_the_protocol_engine_never_imports_the_pages(
    graph: grimp.ImportGraph, engine: str, pages: str
) -> None:
    # node-oidc-provider's rule: the engine hands an interaction to the pages, never renders.
    assert graph.find_shortest_chains(engine, pages, as_packages=True) == set()


@pytest.mark.parametrize("other", ["authserver", "authlib"])
def test_the_mcp_server_imports_nothing_of_the_authorization_server(
    graph: grimp.ImportGraph, other: str
) -> None:
    # Not even through the CLI: `hospiai mcpserver` is how production starts it.
    assert graph.find_shortest_chains("mcpserver", other, as_packages=True) == set()


def test_shared_depends_on_neither_service(graph: grimp.ImportGraph) -> None:
    for service in ("authserver", "mcpserver", "hospiai"):
        assert graph.find_shortest_chains("shared", service, as_packages=True) == set()


def test_only_the_oauth_package_imports_authlib(graph: grimp.ImportGraph) -> None:
    # The untyped, OAuth 2.0-permissive library is quarantined behind one package (STYLE.md).
    outside = sorted(
        module
        for module in graph.find_modules_that_directly_import("authlib")
        if module != "authserver.oauth" and not module.startswith("authserver.oauth.")
    )
    assert outside == []


def test_no_import_cycles(graph: grimp.ImportGraph) -> None:
    ours = sorted(m for m in graph.modules if m.split(".")[0] in PACKAGES)
    cycles = _cycles(graph, ours)
    assert cycles == []


def _cycles(graph: grimp.ImportGraph, modules: list[str]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    wanted = set(modules)

    def edges(module: str) -> list[str]:
        return sorted(graph.find_modules_directly_imported_by(module) & wanted)

    for root in modules:
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, edges(root))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, pending = work[-1]
            if pending:
                nxt = pending.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, edges(nxt)))
                elif nxt in on_stack:
                    low[module] = min(low[module], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == module:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _modules(package: str) -> list[Path]:
    found = sorted(
        path for path in (ROOT / package).rglob("*.py") if "migrations" not in path.parts
    )
    assert found, package  # a wrong root would pass every rule below
    return found


def _named(path: Path, line: int, name: str) -> str:
    return f"{path.relative_to(ROOT)}:{line} {name}"


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_is_over_300_lines(package: str) -> None:
    long = [
        f"{path.relative_to(ROOT)}: {lines}"
        for path in _modules(package)
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    ]
    assert long == [], "\n".join(long)


@pytest.mark.parametrize("package", PACKAGES)
def test_no_function_is_over_50_lines(package: str) -> None:
    long = [
        f"{_named(path, node.lineno, node.name)}: {lines}"
        for path in _modules(package)
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        # Decorators aside, as the issue measures: first line of the def to its last line.
        and (lines := (node.end_lineno or node.lineno) - node.lineno + 1) > MAX_FUNCTION_LINES
    ]
    assert long == [], "\n".join(long)


@pytest.mark.parametrize("package", PACKAGES)
def test_no_function_is_over_complexity_10(package: str) -> None:
    complex_ = [
        f"{_named(path, function.lineno, function.fullname)}: {function.complexity}"
        for path in _modules(package)
        for function in _functions(cc_visit(path.read_text()))
        if function.complexity > MAX_COMPLEXITY
    ]
    assert complex_ == [], "\n".join(complex_)


def _functions(blocks: list[Function | Class]) -> Iterator[Function]:
    """Every function radon scored, methods and closures included. cc_visit lists each function,
    and each class followed by its methods (a class's own score is their average: not a
    function's); the closures and the classes inside them are reachable only from there."""
    for block in blocks:
        if isinstance(block, Class):
            yield from _functions([b for inner in block.inner_classes for b in _listed(inner)])
        else:
            yield block
            yield from _functions(block.closures)


def _listed(block: Class) -> list[Function | Class]:
    return [block, *block.methods]


def test_the_complexity_rule_scores_methods_closures_and_inner_classes() -> None:
    source = (
        "def outer():\n    def closure():\n        pass\n"
        "class Outer:\n    def method(self):\n        pass\n"
        "    class Inner:\n        def inner(self):\n            pass\n"
    )
    names = [function.fullname for function in _functions(cc_visit(source))]
    assert sorted(names) == ["Inner.inner", "Outer.method", "closure", "outer"]
