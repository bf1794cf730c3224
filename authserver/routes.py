"""The authorization server's page routes: the interaction, login and account pages, and the
admin console (the protocol endpoints' routes are built with the app's context, in
authserver.app)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from authserver.admin import (
    account,
    confirm,
    console,
    dashboard,
    factor_resets,
    factors,
    front_door,
    lists,
    memberships,
    passkeys,
)
from authserver.interactions import login, passkey_login, second_step, steps
from authserver.web import language
from authserver.web.pages import PASSKEY_SIGN_IN


def pages() -> list[BaseRoute]:
    return [
        Route("/", front_door.front_door, methods=["GET"]),
        Route(language.PATH, language.switch, methods=["GET"]),
        Route("/interaction/{interaction_id}", steps.show, methods=["GET"]),
        Route("/interaction/{interaction_id}/login", steps.login, methods=["POST"]),
        Route("/interaction/{interaction_id}/consent", steps.consent, methods=["POST"]),
        Route("/login", login.show, methods=["GET"]),
        Route("/login", login.login, methods=["POST"]),
        Route("/login/code", second_step.show, methods=["GET"]),
        Route("/login/code", second_step.check, methods=["POST"]),
        Route(PASSKEY_SIGN_IN, passkey_login.sign_in_options, methods=["POST"]),
        Route(second_step.PASSKEY_OPTIONS, passkey_login.second_factor_options,
              methods=["POST"]),
        Route("/logout", login.logout, methods=["POST"]),
        Route("/account", account.account, methods=["GET"]),
        Route("/account/data-access", account.data_access_page, methods=["GET"]),
        Route("/account/tokens", account.create_token, methods=["POST"]),
        Route(factors.PAGE, factors.show, methods=["GET"]),
        Route(f"{factors.PAGE}/start", factors.start, methods=["POST"]),
        Route(f"{factors.PAGE}/confirm", factors.confirm, methods=["POST"]),
        Route(f"{factors.PAGE}/remove", factors.remove, methods=["POST"]),
        Route(passkeys.PAGE, passkeys.show, methods=["GET"]),
        Route(passkeys.PAGE, passkeys.register, methods=["POST"]),
        Route(f"{passkeys.PAGE}/options", passkeys.options, methods=["POST"]),
        Route(f"{passkeys.PAGE}/{{passkey_id}}/remove", passkeys.remove, methods=["POST"]),
        Route("/account/grants/{grant_id}/revoke", account.revoke, methods=["POST"]),
        Route("/account/sessions/{session_id}/end", account.end_session, methods=["POST"]),
    ]


def admin() -> list[BaseRoute]:
    ask = confirm.PREFIX  # the second page of each destructive action, before its POST
    return [
        Route("/admin", lists.home, methods=["GET"]),
        Route("/admin/dashboard", dashboard.dashboard, methods=["GET"]),
        Route(f"{ask}/clients/{{client_id:path}}/block", confirm.block_client, methods=["GET"]),
        Route(f"{ask}/clients/{{client_id:path}}/delete", confirm.delete_client, methods=["GET"]),
        Route(f"{ask}/resource-servers/{{resource_server_id}}/rotate",
              confirm.rotate_resource_server, methods=["GET"]),
        Route(f"{ask}/grants/{{grant_id}}/revoke", confirm.revoke_grant, methods=["GET"]),
        Route(f"{ask}/accounts/{{account_id}}/disabled", confirm.disable_account,
              methods=["GET"]),
        Route("/admin/clients/{client_id:path}", console.client, methods=["GET"]),
        Route("/admin/clients/{client_id:path}/block", console.block_client, methods=["POST"]),
        Route("/admin/clients/{client_id:path}/delete", console.delete_client, methods=["POST"]),
        Route("/admin/clients/{client_id:path}/approve", console.approve_client, methods=["POST"]),
        Route("/admin/accounts", lists.accounts, methods=["GET"]),
        Route("/admin/accounts", console.add_account, methods=["POST"]),
        Route("/admin/accounts/{account_id}", console.account, methods=["GET"]),
        Route("/admin/accounts/{account_id}/disabled", console.disable_account, methods=["POST"]),
        Route("/admin/accounts/{account_id}/role", console.change_role, methods=["POST"]),
        Route("/admin/accounts/{account_id}/memberships", memberships.add, methods=["POST"]),
        Route("/admin/accounts/{account_id}/memberships/remove", memberships.remove,
              methods=["POST"]),
        Route(
            "/admin/accounts/{account_id}/sessions/end", console.log_out_everywhere,
            methods=["POST"],
        ),
        Route("/admin/accounts/{account_id}/password", console.reset_password, methods=["POST"]),
        Route("/admin/accounts/{account_id}/factors/reset", factor_resets.reset,
              methods=["POST"]),
        Route("/admin/grants/{grant_id}/revoke", console.revoke_grant, methods=["POST"]),
        Route("/admin/resource-servers", console.add_resource_server, methods=["POST"]),
        Route(
            "/admin/resource-servers/{resource_server_id}/rotate",
            console.rotate_resource_server,
            methods=["POST"],
        ),
        Route("/admin/audit", lists.audit, methods=["GET"]),
        Route("/admin/grants", lists.grants, methods=["GET"]),
    ]
