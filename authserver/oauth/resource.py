"""Resource indicators (RFC 8707): the one resource a grant is for becomes the token audience."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from authserver.oauth.errors import InvalidTargetError
from authserver.oauth.services import Services

if TYPE_CHECKING:
    from authserver.oauth.bridge import BridgeRequest


# RFC 3986 section 6.2.3: the port a scheme implies, which its canonical form leaves out.
_DEFAULT_PORTS = {"https": "443", "http": "80"}


def canonical_resource(resource: str) -> str:
    """The MCP canonical form of a resource URI: scheme and host in lower case and no explicit
    default port (RFC 3986 sections 6.2.2.1 and 6.2.3). Nothing else changes: another path, case
    in the path, a query, a fragment or another port is another resource."""
    try:
        parts = urlsplit(resource)
    except ValueError:
        return resource
    authority = f"{parts.scheme}://{parts.netloc}"
    default_port = _DEFAULT_PORTS.get(parts.scheme)
    # Only a URI whose authority urlsplit read as written (it drops spaces and tabs) is rewritten.
    if default_port is None or resource[: len(authority)].lower() != authority.lower():
        return resource
    netloc = parts.netloc.lower().removesuffix(f":{default_port}")
    return f"{parts.scheme}://{netloc}{resource[len(authority):]}"


def same_resource(requested: str, registered: str) -> bool:
    """The resource a client sent names the registered one, byte for byte or canonically."""
    return requested == registered or canonical_resource(requested) == registered


def one_resource(request: BridgeRequest) -> str | None:
    values = request.payload.datalist.get("resource", [])
    if len(values) > 1:
        raise InvalidTargetError("Only one resource may be requested.")
    return values[0] if values else None


class ResourceIndicator:
    """RFC 8707 at the authorization endpoint: the resource becomes the token audience."""

    def __init__(self, context: Services) -> None:
        self.context = context

    def __call__(self, grant: Any) -> None:
        grant.register_hook("after_validate_authorization_request_payload", self.validate)

    def validate(self, grant: Any, _result: Any) -> None:
        request: BridgeRequest = grant.request
        resource = one_resource(request) or self.context.settings.default_resource
        if not resource:
            raise InvalidTargetError("The resource parameter is required.")
        store = self.context.store
        known = store.resource_server_by_resource(resource) or store.resource_server_by_resource(
            canonical_resource(resource)
        )
        if known is None:
            raise InvalidTargetError("The resource is not known to this server.")
        # The audience is the resource as registered, however the client spelled it.
        request.resource = known.resource


def check_token_resource(request: BridgeRequest, bound: str) -> None:
    """RFC 8707 at the token endpoint: a resource, if sent, must be the one the grant is for."""
    resource = one_resource(request)
    if resource is not None and not same_resource(resource, bound):
        raise InvalidTargetError("The resource does not match the authorization grant.")
