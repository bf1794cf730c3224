"""The per-call context tools read: who is acting (from introspection) and the services.

The bearer guard sets it for each HTTP request; tools read it through ``current()`` only."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass, field

from mcpserver.auth import Identity
from mcpserver.domain.access_log import GroupCommit
from mcpserver.domain.store import DomainStore


@dataclass(frozen=True)
class Services:
    store: DomainStore
    clock: Callable[[], float]
    # The health-data access log's writer (mcpserver.access_log).
    access_log: GroupCommit = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "access_log", GroupCommit(self.store))


@dataclass(frozen=True)
class Call:
    identity: Identity
    services: Services


_current: ContextVar[Call] = ContextVar("hospiai_mcp_call")


def current() -> Call:
    return _current.get()


def enter(call: Call) -> Token[Call]:
    return _current.set(call)


def leave(token: Token[Call]) -> None:
    _current.reset(token)
