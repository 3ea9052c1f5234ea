"""The staff pages' chrome: every domain's staff page renders through :func:`page`.

``templates/staff/layout.html`` shows the signed-in member, their roles and the menu; it needs the
member and the helpers put into the context here.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from portal.staff.models import CASE_ROLES, StaffMember
from portal.web.render import render
from workflows.engine import ROLE_LABELS


def role_label(role: str) -> str:
    return ROLE_LABELS.get(role, role)


def page(
    request: Request,
    template: str,
    staff: StaffMember | None,
    ctx: dict[str, Any] | None = None,
    *,
    status: int = 200,
    block: str | None = None,
) -> Response:
    context = {
        "staff": staff,
        "role_label": role_label,
        "CASE_ROLES": CASE_ROLES,
        "role_labels": lambda member: ", ".join(role_label(r) for r in member.roles),
    }
    context.update(ctx or {})
    return render(request, template, context, status=status, block=block)
