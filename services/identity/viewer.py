"""Who is calling: an operator (with a role), a visitor (one client in one open channel) or nobody."""
from __future__ import annotations

from dataclasses import dataclass

from models import OperatorRole
from services.common.errors import Forbidden, Unauthenticated


@dataclass(frozen=True)
class Viewer:
    operator_id: int | None = None
    role: OperatorRole | None = None
    client_id: int | None = None
    visitor_channel_id: int | None = None

    @property
    def is_operator(self) -> bool:
        return self.operator_id is not None

    @property
    def is_visitor(self) -> bool:
        return self.client_id is not None

    @property
    def is_anonymous(self) -> bool:
        return not self.is_operator and not self.is_visitor

    @property
    def is_supervisor(self) -> bool:
        """Supervisors and admins see and act on every chat."""
        return self.role in (OperatorRole.SUPERVISOR, OperatorRole.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.role == OperatorRole.ADMIN


ANONYMOUS = Viewer()


def require_operator(viewer: Viewer) -> int:
    """The calling operator's id, or UNAUTHENTICATED / FORBIDDEN."""
    if viewer.operator_id is not None:  # viewer.is_operator, in a form mypy narrows
        return viewer.operator_id
    if viewer.is_visitor:
        raise Forbidden("This needs an operator's token; a visitor token reaches its own chat only.")
    raise Unauthenticated("Sign in: send `Authorization: Bearer <token>`.")


def require_signed_in(viewer: Viewer) -> Viewer:
    """Any caller with a token (an operator or a visitor); UNAUTHENTICATED without one."""
    if viewer.is_anonymous:
        raise Unauthenticated("Sign in: send `Authorization: Bearer <token>`.")
    return viewer


def require_admin(viewer: Viewer) -> int:
    operator_id = require_operator(viewer)
    if not viewer.is_admin:
        raise Forbidden("Only an admin can change the configuration.")
    return operator_id


def require_visitor(viewer: Viewer) -> Viewer:
    if viewer.is_visitor:
        return viewer
    if viewer.is_operator:
        raise Forbidden("This needs a visitor token from startVisitorChat.")
    raise Unauthenticated("This needs a visitor token from startVisitorChat.")
