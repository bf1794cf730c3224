"""The health-data access log as tools: the patient's own view (list_my_data_access, with
read:profile: who reached their data, with which application, what and when) and the admins'
(list_data_access, filtered); and the patient's view again as JSON at /data-access, which the
authorization server's account page reads with a one-minute token of the user's."""

from __future__ import annotations

from typing import Annotated

from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mcpserver.context import current
from mcpserver.domain.models import DataAccess
from mcpserver.messages import _
from mcpserver.refusal import Refusal
from mcpserver.tools import Tools, paris_time, run

Limit = Annotated[int, Field(ge=1, le=200, description="At most this many entries (1-200).")]
Before = Annotated[
    int | None,
    Field(default=None, ge=1, le=2**63 - 1,
          description="Older entries than this entry_id (for the next page)."),
]
Filter = Annotated[str | None, Field(default=None, min_length=1, max_length=80)]
# What reading one's own log needs, over MCP and at /data-access alike.
OWN_LOG_SCOPE = "read:profile"
READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)


class AccessEntry(BaseModel):
    entry_id: int
    at: str
    # Who: "you", or their name and role; and the application (OAuth client_id) they used.
    who: str
    actor_role: str
    client_id: str
    tool: str
    ids: list[str]
    outcome: str
    hospital_id: str | None


class AdminAccessEntry(AccessEntry):
    actor_sub: str
    subject_sub: str | None


class AccessList(BaseModel):
    entries: list[AccessEntry]


class AdminAccessList(BaseModel):
    entries: list[AdminAccessEntry]


def _entry(row: DataAccess, me: str) -> dict[str, object]:
    assert row.id is not None  # stored rows are numbered
    return {
        "entry_id": row.id, "at": paris_time(row.at),
        "who": "you" if row.actor_sub == me else f"{row.actor_name} ({row.actor_role})",
        "actor_role": row.actor_role, "client_id": row.client_id, "tool": row.tool,
        "ids": row.ids, "outcome": row.outcome, "hospital_id": row.hospital_id,
    }


class Page(BaseModel):
    limit: Limit = 50
    before: Before = None


async def list_my_data_access(limit: Limit = 50, before: Before = None) -> AccessList:
    """Who read or changed your health data (appointments, records, profile), with which
    application, what and when; newest first."""
    call = current()
    me = call.identity.sub
    rows = await run(lambda: call.services.store.accesses(
        subject_sub=me, before=before, limit=limit))
    return AccessList(entries=[AccessEntry.model_validate(_entry(row, me)) for row in rows])


async def endpoint(request: Request) -> Response:
    """GET /data-access?limit=&before=: list_my_data_access's answer, for the bearer guard's
    user (who holds read:profile: the guard checked)."""
    try:
        page = Page.model_validate(dict(request.query_params))
    except ValidationError:
        return JSONResponse(
            {"error": "invalid_request",
             "error_description": "limit must be 1-200 and before an entry_id."},
            status_code=400)
    found = await list_my_data_access(page.limit, page.before)
    return JSONResponse(found.model_dump(), headers={"Cache-Control": "no-store"})


async def list_data_access(
    subject_sub: Filter = None,
    actor_sub: Filter = None,
    hospital_id: Filter = None,
    tool: Filter = None,
    limit: Limit = 50,
    before: Before = None,
) -> AdminAccessList:
    """Admins: the health-data access log, newest first, filtered by patient, actor, hospital
    or tool."""
    call = current()
    if call.identity.role != "admin":
        raise Refusal(_("Only HospiAI administrators can read the whole access log."))
    rows = await run(lambda: call.services.store.accesses(
        subject_sub=subject_sub, actor_sub=actor_sub, hospital_id=hospital_id, tool=tool,
        before=before, limit=limit))
    me = call.identity.sub
    return AdminAccessList(entries=[
        AdminAccessEntry.model_validate(
            {**_entry(row, me), "actor_sub": row.actor_sub, "subject_sub": row.subject_sub})
        for row in rows
    ])


def register(tools: Tools) -> None:
    tools.add(list_my_data_access, scope=OWN_LOG_SCOPE, annotations=READ_ONLY)
    tools.add(list_data_access, scope="read:schedule", annotations=READ_ONLY)
