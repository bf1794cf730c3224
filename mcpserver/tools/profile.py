"""The acting user's HospiAI profile (read:profile), from the introspected claims."""

from __future__ import annotations

from mcp_types import ToolAnnotations
from pydantic import BaseModel

from mcpserver.access_log import Whose
from mcpserver.context import current
from mcpserver.tools import Tools


class Profile(BaseModel):
    sub: str
    email: str
    given_name: str
    family_name: str
    role: str


async def get_my_profile() -> Profile:
    """Your HospiAI profile: name, email and role."""
    identity = current().identity
    return Profile(
        sub=identity.sub,
        email=identity.email,
        given_name=identity.given_name,
        family_name=identity.family_name,
        role=identity.role,
    )


def register(tools: Tools) -> None:
    tools.add(get_my_profile, scope="read:profile",
              annotations=ToolAnnotations(read_only_hint=True), logged=Whose.OWN)
