"""Every audit event the authorization server can write has a label for the admin console's
audit log, in French too: the event names are read from the code (the calls that write audit
rows, and the helpers that pass an event on to them), so that a new event cannot reach the log
without one. The page shows the label and, for the IT teams who search for it, the name."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from authserver.messages import _
from authserver.web.labels import AUDIT_EVENTS
from shared.i18n import speaking

ROOT = Path(__file__).resolve().parents[2]
# Audit's own methods: the row's event is their first argument.
WRITERS = {"record", "entry"}
# Calls that run their first argument with the rest (Starlette's thread pool).
RUNNERS = {"run_in_threadpool"}
# A helper's name -> the module defining it -> where its callers put the event.
Helpers = dict[str, dict[Path, int]]


def _functions(tree: ast.Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _is_audit(node: ast.expr) -> bool:
    """``audit.record``, ``context.audit.entry``, ``self._context.audit.record``."""
    return (
        isinstance(node, ast.Attribute) and node.attr in WRITERS
        and _name(node.value) in {"audit", "_audit"}
    )


class _Module:
    """One module's audit writes: each call's event argument, where the call is."""

    def __init__(self, path: Path, tree: ast.Module, helpers: Helpers) -> None:
        self.path, self.tree = path, tree
        # A helper of this module, else the one of that name elsewhere (imported).
        self.helpers = {
            name: places.get(path, next(iter(places.values())))
            for name, places in helpers.items() if path in places or len(places) == 1
        }
        self.parents = {
            child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)
        }

    def writes(self) -> Iterator[tuple[ast.expr | None, ast.AST]]:
        for call in (node for node in ast.walk(self.tree) if isinstance(node, ast.Call)):
            callee, args = call.func, list(call.args)
            if _name(callee) in RUNNERS and args:
                callee, args = args[0], args[1:]
            if _is_audit(callee):
                yield (args[0] if args else _keyword(call, "event")), call
            elif _name(callee) in self.helpers:
                index = self.helpers[_name(callee)]
                yield (args[index] if len(args) > index else _keyword(call, "event")), call

    def enclosing(self, node: ast.AST) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                return node
        return None


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((keyword.value for keyword in call.keywords if keyword.arg == name), None)


def _parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    return [argument.arg for argument in function.args.posonlyargs + function.args.args]


def _helpers(trees: dict[Path, ast.Module]) -> Helpers:
    """Functions with an ``event`` parameter that they pass on to the audit log, by name, and
    where each is defined, the position callers give it at (``self`` not counted)."""
    found: Helpers = {}
    for path, tree in trees.items():
        for function in _functions(tree):
            parameters = [name for name in _parameters(function) if name != "self"]
            forwards = any(
                isinstance(node, ast.Call) and _is_audit(node.func)
                and any(isinstance(arg, ast.Name) and arg.id == "event" for arg in node.args)
                for node in ast.walk(function)
            )
            if "event" in parameters and forwards:
                found.setdefault(function.name, {})[path] = parameters.index("event")
    return found


def _strings(node: ast.expr) -> list[str] | None:
    """The event names an expression can be: a literal, or either side of ``a if c else b``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        both = (_strings(node.body), _strings(node.orelse))
        return None if None in both else [name for side in both for name in side or []]
    return None


def _admin_actions(module: _Module) -> Iterator[str]:
    """admin.access.action("client_blocked", ...) records "admin.client_blocked"."""
    for function in _functions(module.tree):
        for decorator in function.decorator_list:
            if isinstance(decorator, ast.Call) and _name(decorator.func) == "action":
                name = decorator.args[0]
                assert isinstance(name, ast.Constant) and isinstance(name.value, str)
                yield f"admin.{name.value}"


def written_events() -> set[str]:
    """Every event name the authorization server's code can write to the audit log."""
    trees = {
        path: ast.parse(path.read_text(encoding="utf-8"))
        for path in sorted((ROOT / "authserver").rglob("*.py"))
    }
    helpers = _helpers(trees)
    events: set[str] = set()
    unread: list[str] = []
    for path, tree in trees.items():
        module = _Module(path, tree, helpers)
        events.update(_admin_actions(module))
        for argument, call in module.writes():
            where = f"{path.relative_to(ROOT)}:{getattr(call, 'lineno', '?')}"
            function = module.enclosing(call)
            if argument is None:
                unread.append(where)
            elif (names := _strings(argument)) is not None:
                events.update(names)
            elif isinstance(argument, ast.Name) and function is not None:
                if argument.id in _parameters(function):
                    continue  # a helper's own parameter: its callers are read instead
                assigned = [
                    _strings(node.value) for node in ast.walk(function)
                    if isinstance(node, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == argument.id for t in node.targets)
                ]
                if not assigned or None in assigned:
                    unread.append(where)
                events.update(name for names in assigned for name in names or [])
            elif isinstance(argument, ast.JoinedStr) and path.name == "access.py":
                continue  # f"admin.{name}": the actions, read from their decorators above
            else:
                unread.append(where)
    assert not unread, f"cannot tell which audit event these calls write: {unread}"
    return events


def test_the_code_s_events_are_found() -> None:
    """The reading finds events of each way they are written (a check on the reader)."""
    events = written_events()
    for event in (
        "login.failed", "token.issued", "token.refreshed", "consent.given", "consent.refused",
        "admin.client_blocked", "factor.enrolled", "second_factor.failed", "grant.revoked",
        "code.reuse_detected", "client.registered", "accounts.imported",
    ):
        assert event in events


def test_every_audit_event_has_a_label() -> None:
    missing = sorted(written_events() - set(AUDIT_EVENTS))
    assert not missing, f"add a label to authserver/web/labels.py AUDIT_EVENTS: {missing}"
    unwritten = sorted(set(AUDIT_EVENTS) - written_events())
    assert not unwritten, f"labels of events no code writes any longer: {unwritten}"


@pytest.mark.parametrize("event", sorted(AUDIT_EVENTS))
def test_every_label_reads_french(event: str) -> None:
    with speaking("fr"):
        french = _(AUDIT_EVENTS[event])
    assert french != AUDIT_EVENTS[event]
