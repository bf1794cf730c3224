"""The HospiAI scope catalogue: what each scope lets a client do and what consent says."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from shared.i18n import mark as N_


@dataclass(frozen=True)
class Scope:
    """``consent_text`` and ``description`` are English; pages show them translated."""

    name: str
    consent_text: str
    description: str
    # Roles that may hold the scope; None means every role.
    roles: frozenset[str] | None = None
    # Granted when a client asks for no scope at all. Which MCP tools need a scope is said
    # where each tool is registered (mcpserver.tools.Tools), the one place the guard reads.
    default: bool = False
    # Health data: never a default, and marked on the consent page.
    sensitive: bool = False
    # Changes hospital data: the MCP server's tools behind it need a recent sign-in with a
    # second factor (RFC 9470 step-up, mcpserver.user_authentication), and the authorization
    # server asks for one before it issues a code that carries it (authserver.oauth.prompt).
    step_up: bool = False

    def __post_init__(self) -> None:
        if self.sensitive and self.default:
            raise ValueError(f"{self.name} is sensitive: it cannot be a default scope")


# The authorization server's own scope: a refresh token, never asked for by a resource server.
OFFLINE_ACCESS = "offline_access"

CATALOGUE: tuple[Scope, ...] = (
    Scope(
        "read:data",
        N_("See hospitals and availability"),
        N_("Read the hospital directory, live status, doctors and slots."),
        default=True,
    ),
    Scope(
        "read:bookings",
        N_("See your appointments"),
        N_("List your appointments."),
        default=True,
    ),
    Scope(
        "write:bookings",
        N_("Book and cancel appointments for you"),
        N_("Book and cancel your appointments."),
        default=True,
    ),
    Scope(
        "read:profile",
        N_("See your name and contact details"),
        N_("Read your HospiAI profile."),
        default=True,
    ),
    Scope(
        "write:data",
        N_("Update hospital status (staff)"),
        N_("Update the live status of a hospital. Staff and admins only."),
        roles=frozenset({"staff", "admin"}),
        step_up=True,
    ),
    Scope(
        "read:records",
        N_("See your medical records"),
        N_("Read your consultations: the appointment, doctor, hospital and the summary notes."),
        sensitive=True,
    ),
    Scope(
        "read:schedule",
        N_("See your hospital's appointments (staff)"),
        N_("See the appointments at the hospitals you belong to, with patients' names. Staff "
            "and admins only."),
        roles=frozenset({"staff", "admin"}),
    ),
    Scope(
        "write:schedule",
        N_("Manage your hospital's schedule (staff)"),
        N_("Open and close slots, mark appointments attended, missed or cancelled, add "
            "consultation notes, and keep the list of doctors, at the hospitals you belong to. "
            "Staff and admins only."),
        roles=frozenset({"staff", "admin"}),
        step_up=True,
    ),
    Scope(
        OFFLINE_ACCESS,
        N_("Stay connected"),
        N_("The assistant keeps working without asking you to log in again, until you "
            "disconnect it on your account page."),
    ),
)

BY_NAME: dict[str, Scope] = {scope.name: scope for scope in CATALOGUE}
NAMES: tuple[str, ...] = tuple(scope.name for scope in CATALOGUE)
DEFAULT_NAMES: tuple[str, ...] = tuple(scope.name for scope in CATALOGUE if scope.default)
# Scopes a resource server can ask for (offline_access concerns only the authorization server).
RESOURCE_NAMES: tuple[str, ...] = tuple(name for name in NAMES if name != OFFLINE_ACCESS)


def parse(scope: str | None) -> list[str]:
    """Split a space-delimited scope string (RFC 6749 section 3.3), in order, without repeats."""
    return list(dict.fromkeys((scope or "").split()))


def join(names: list[str] | tuple[str, ...] | set[str] | frozenset[str]) -> str:
    """A scope string in catalogue order, so equal sets give equal strings."""
    wanted = set(names)
    return " ".join(name for name in NAMES if name in wanted)


def known(names: list[str]) -> list[str]:
    """The names that are in the catalogue, in catalogue order."""
    wanted = set(names)
    return [name for name in NAMES if name in wanted]


def allowed_for_role(names: list[str], role: str) -> list[str]:
    """The names an account with ``role`` may hold."""
    allowed = []
    for name in names:
        roles = BY_NAME[name].roles
        if roles is None or role in roles:
            allowed.append(name)
    return allowed


@functools.lru_cache(maxsize=512)
def held_by_role(scope: str, role: str) -> str:
    """The scope string of what an account with ``role`` may hold of ``scope``, in catalogue
    order. Cached: every introspection answers it, and the scope strings tokens carry are a
    few subsets of the catalogue."""
    return join(allowed_for_role(parse(scope), role))


def needs_step_up(names: list[str], role: str) -> bool:
    """Whether an account with ``role`` would hold a scope that changes hospital data."""
    return any(BY_NAME[name].step_up for name in allowed_for_role(known(names), role))
