"""The import rules that keep the rooms apart (issue 11): read from the code with grimp."""

from __future__ import annotations

import grimp
import pytest

PACKAGES = ("authserver", "mcpserver", "shared", "hospiai")


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
