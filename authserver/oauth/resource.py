"""Resource indicators (RFC 8707): the one resource a grant is for becomes the token audience."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from authserver.oauth.errors import InvalidTargetError
from authserver.oauth.services import Services

if TYPE_CHECKING:
    from authserver.oauth.bridge import BridgeRequest


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
        if self.context.store.resource_server_by_resource(resource) is None:
            raise InvalidTargetError("The resource is not known to this server.")
        request.resource = resource


def check_token_resource(request: BridgeRequest, bound: str) -> None:
    """RFC 8707 at the token endpoint: a resource, if sent, must be the one the grant is for."""
    resource = one_resource(request)
    if resource is not None and resource != bound:
        raise InvalidTargetError("The resource does not match the authorization grant.")
