"""Every route with the permission it declares; the source of ``docs/permissions.md``."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from hubbub.accounts.permissions import PERMISSIONS, ROLES_ASCENDING, Permission, Scope
from hubbub.web.auth import permit_of

# Mounted apps with no dependencies of their own: our stylesheet and icon, public by design.
PUBLIC_MOUNTS = ("/static",)


@dataclass(frozen=True)
class RouteRule:
    method: str
    path: str
    permission: Permission | None  # None only for PUBLIC_MOUNTS, or a bug a test catches


def route_rules(app: FastAPI) -> list[RouteRule]:
    """One rule per (method, path), in the app's routing order."""
    rules: list[RouteRule] = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        path = str(context.path)
        if not isinstance(route, APIRoute):
            rules.append(RouteRule("*", path, None))
            continue
        permits = permit_of(route.dependant)
        permission = permits[0].permission if len(permits) == 1 else None
        for method in sorted(context.methods or ()):
            rules.append(RouteRule(method, path, permission))
    return rules


def _who(permission: Permission) -> str:
    if permission.scope is Scope.PUBLIC:
        return "anyone"
    if permission.scope is Scope.SIGNED_IN:
        return "any signed-in user or API token"
    assert permission.minimum is not None
    return f"{permission.minimum.value} and above"


def permissions_markdown(app: FastAPI) -> str:
    """docs/permissions.md, generated from the routes and the permission table."""
    roles = list(ROLES_ASCENDING)
    lines = [
        "# Permissions",
        "",
        "Generated from `hubbub.accounts.permissions.PERMISSIONS` and the routes of the web app",
        "(`hubbub.web.routes.permissions_markdown`). `tests/web/test_permissions.py` fails when",
        "this page and the code differ, and sends every route as every role (and anonymously,",
        "and as a member of another workspace), expecting exactly what this page says.",
        "",
        "Roles, lowest first: " + " < ".join(f"`{r.value}`" for r in roles) + ". Each role may",
        "do everything the roles below it may. Roles are per workspace; API tokens carry one",
        "workspace and one role.",
        "",
        "## What every route answers",
        "",
        "* no session or token: pages redirect (303) to `/login`, the API answers 401",
        "  (`WWW-Authenticate: Bearer`); public routes answer normally;",
        "* a principal with no role in the path's workspace: **404**, exactly as for a workspace",
        "  that does not exist (the existence of other workspaces is not revealed);",
        "* a role below the permission's minimum: 403;",
        "* a user still on a one-time password Hubbub generated: pages redirect (303) to",
        "  `/account/password` to choose their own, the API answers 403; public routes,",
        "  `/account/password` and `/logout` answer normally (API tokens are never held up);",
        "* unsafe methods (POST, PUT, PATCH, DELETE) from a browser need the CSRF token",
        "  (form field `csrf_token` or header `X-CSRF-Token`), else 403; requests with an",
        "  `Authorization: Bearer` token are exempt.",
        "",
        "## Permissions × roles",
        "",
        "| permission | " + " | ".join(r.value for r in roles) + " | meaning |",
        "|---|" + "---|" * len(roles) + "---|",
    ]
    for permission in PERMISSIONS.values():
        if permission.scope is Scope.WORKSPACE:
            assert permission.minimum is not None
            cells = [
                "yes"
                if ROLES_ASCENDING.index(r) >= ROLES_ASCENDING.index(permission.minimum)
                else "—"
                for r in roles
            ]
        else:
            cells = ["yes"] * len(roles)
        lines.append(
            f"| `{permission.name}` | " + " | ".join(cells) + f" | {permission.description} |"
        )
    lines += [
        "",
        "`public` is also open to anonymous visitors; `signed-in` to any user or token.",
        "Members and roles are managed with `hubbub user create|role|remove` (admins never",
        "grant a role above their own; a workspace always keeps an owner).",
        "",
        "## Routes",
        "",
        "| method | path | permission | who |",
        "|---|---|---|---|",
    ]
    for rule in route_rules(app):
        if rule.permission is None:
            lines.append(f"| {rule.method} | `{rule.path}/…` | (static files) | anyone |")
        else:
            lines.append(
                f"| {rule.method} | `{rule.path}` | `{rule.permission.name}` "
                f"| {_who(rule.permission)} |"
            )
    lines.append("")
    return "\n".join(lines)
