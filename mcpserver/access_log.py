"""The health-data access log (issue 16 item 4): every call of a tool that reads or changes a
patient's data or a hospital's is recorded with who, which application, the tool, the ids it
named or reached (never free text) and the outcome, before its answer is sent. A record that
cannot be written fails the call: an answer is never given without its record."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import Enum

import mcp_types as mt
from anyio import CancelScope, to_thread
from fastmcp.exceptions import ToolError, ValidationError
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.tools.base import ToolResult

from mcpserver.context import current
from mcpserver.domain.models import DataAccess
from mcpserver.domain.store import DomainStore
from mcpserver.messages import _
from mcpserver.refusal import Refusal
from mcpserver.settings import Settings

log = logging.getLogger(__name__)

# Arguments that hold ids, which the log keeps; every other argument (a reason, a note, a
# figure) is left out.
ID_ARGUMENTS = ("appointment_id", "slot_id", "record_id", "doctor_id")
MAX_IDS = 50


class Whose(Enum):
    """Whose data a logged tool reaches."""

    # The acting user's own (their appointments, records, profile).
    OWN = "own"
    # Patients the tool finds (a hospital desk's appointment): it names them with touched().
    PATIENTS = "patients"
    # A hospital's own data (its live status).
    HOSPITAL = "hospital"


@dataclass
class Touched:
    # Ids the call reached, for every row it writes; and by patient, for that patient's row
    # only (a desk's list names many patients: none of them sees the others' ids).
    ids: list[str] = field(default_factory=list)
    by_subject: dict[str, list[str]] = field(default_factory=dict)
    hospital_id: str | None = None


_touched: ContextVar[Touched | None] = ContextVar("hospiai_touched", default=None)


def touched(
    *ids: str, subject: str | None = None, hospital_id: str | None = None
) -> None:
    """Tell the log what the running call reached: ids it made or found, the patient whose
    data it is, the hospital. Outside a logged call it does nothing."""
    found = _touched.get()
    if found is None:
        return
    reached = found.ids if subject is None else found.by_subject.setdefault(subject, [])
    reached.extend(i for i in ids if i not in reached)
    if hospital_id is not None:
        found.hospital_id = hospital_id


class AccessLog(Middleware):
    def __init__(self, logged: Mapping[str, Whose]) -> None:
        self.logged = logged

    async def on_call_tool(
        self,
        context: MiddlewareContext[mt.CallToolRequestParams],
        call_next: CallNext[mt.CallToolRequestParams, ToolResult],
    ) -> ToolResult:
        name = context.message.name
        whose = self.logged.get(name)
        if whose is None:
            return await call_next(context)
        found = Touched()
        reset = _touched.set(found)
        try:
            result = await call_next(context)
        except BaseException as error:
            # A call cancelled (its client went away) may have changed data already: its
            # record is written all the same, shielded from the cancellation.
            with CancelScope(shield=True):
                await _record(name, whose, context.message.arguments or {}, found,
                              _outcome(error))
            raise
        finally:
            _touched.reset(reset)
        await _record(name, whose, context.message.arguments or {}, found, "ok")
        return result


def _outcome(error: BaseException) -> str:
    """FastMCP hands a tool's own fault on as a ToolError too: only a refusal (or arguments it
    refused) is the caller's to act on; any other exception is a failure."""
    if isinstance(error, Refusal | ValidationError):
        return "refused"
    return "failed" if isinstance(error, Exception) else "cancelled"


async def _record(
    tool: str, whose: Whose, arguments: Mapping[str, object], found: Touched, outcome: str
) -> None:
    call = current()
    identity = call.identity
    named = [str(arguments[key])[:80] for key in ID_ARGUMENTS if isinstance(
        arguments.get(key), str)]
    hospital = arguments.get("hospital_id")
    hospital_id = found.hospital_id or (hospital[:64] if isinstance(hospital, str) else None)
    subjects = _subjects(whose, identity.sub, found)
    at = int(call.services.clock())
    rows = [
        # Without the ORM's per-object set-up (4 against 31 us a row), which the store's
        # INSERT of their values does not need; a table model is not validated either way.
        DataAccess.model_construct(
            at=at, actor_sub=identity.sub,
            actor_name=f"{identity.given_name} {identity.family_name}".strip(),
            actor_role=identity.role, client_id=identity.client_id, tool=tool,
            subject_sub=subject, hospital_id=hospital_id, outcome=outcome,
            ids=list(dict.fromkeys([*named, *found.ids, *theirs]))[:MAX_IDS],
        )
        for subject, theirs in subjects.items()
    ]
    try:
        await call.services.access_log.write(rows)
    except Exception:
        log.exception("the health-data access log could not be written; the call fails")
        raise ToolError(_(
            "This call could not be recorded in the health-data access log, so its answer "
            "is withheld. Try again in a moment (a change it made is kept: list before "
            "changing again)."
        )) from None


def _subjects(whose: Whose, sub: str, found: Touched) -> dict[str | None, list[str]]:
    """One row per patient whose data the call reached, with the ids only theirs; one row
    with no patient when it reached none (a hospital's status, a desk that found nobody)."""
    if whose is Whose.OWN:
        return {sub: []}
    if whose is Whose.PATIENTS and found.by_subject:
        return {subject: ids for subject, ids in found.by_subject.items()}
    return {None: []}


async def purge(store: DomainStore, settings: Settings, clock: Callable[[], float]) -> None:
    """Delete the entries past their retention; idempotent, so replicas may all run it. A
    failure is logged and the next interval tries again."""
    try:
        deleted = await to_thread.run_sync(
            store.purge_accesses, int(clock()) - settings.access_log_retention)
        if deleted:
            log.info("access log: %d entries past retention deleted", deleted)
    except Exception:
        log.exception("access log purge failed; it runs again at the next interval")


async def purge_every(
    store: DomainStore, settings: Settings, clock: Callable[[], float]
) -> None:
    """The purge every purge_interval while serving (the first one runs before serving)."""
    while settings.purge_interval > 0:
        await asyncio.sleep(settings.purge_interval)
        await purge(store, settings, clock)
