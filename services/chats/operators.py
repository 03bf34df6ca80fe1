"""Operators: creating them, their status and their preferences (who may see and change them:
services/policies/operators.py)."""
from __future__ import annotations

from tortoise.exceptions import IntegrityError
from tortoise.functions import Count

from models import Chat, ChatStatus, Operator, OperatorConnection, OperatorRole, OperatorStatus
from services.chats import queue
from services.identity.auth import hash_password
from services.common.errors import InvalidInput
from services.events.events import UnitOfWork, unit_of_work
from services.events.records import EventKind
from services.identity.viewer import Viewer
from services.policies import operators as policy
from services.common.text_input import text_input, EMAIL_LENGTH, NAME_LENGTH, PASSWORD_LENGTH

MIN_PASSWORD_LENGTH = 8


def parse_role(value: str) -> OperatorRole:
    """A role from user input, in any case."""
    try:
        return OperatorRole(str(value).strip().upper())
    except ValueError:
        raise InvalidInput(f"Unknown role {value!r}: use OPERATOR, SUPERVISOR or ADMIN.", field=["input", "role"])


async def register_operator(*, name: str, email: str, role: OperatorRole = OperatorRole.OPERATOR,
                            password: str | None = None) -> Operator:
    """Create an operator (no authorisation: for the CLI and the admin mutation)."""
    name, email = (name or "").strip(), (email or "").strip().lower()
    if not name:
        raise InvalidInput("The name cannot be empty.", field=["input", "name"])
    if "@" not in email or len(email) > 254 or " " in email:
        raise InvalidInput("This is not an e-mail address.", field=["input", "email"])
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"The password needs at least {MIN_PASSWORD_LENGTH} characters.", field=["input", "password"])
    if await Operator.filter(email=email).exists():
        raise InvalidInput(f"An operator with e-mail {email} already exists.", field=["input", "email"])
    try:
        return await Operator.create(name=name, email=email, role=role,
                                     password_hash=hash_password(password) if password else None)
    except IntegrityError:
        raise InvalidInput(f"An operator with e-mail {email} already exists.", field=["input", "email"])


@text_input(name=NAME_LENGTH, email=EMAIL_LENGTH, password=PASSWORD_LENGTH)
async def create_operator(viewer: Viewer, *, name: str, email: str, role: OperatorRole = OperatorRole.OPERATOR,
                          password: str | None = None) -> Operator:
    policy.ensure_may_create(viewer)
    return await register_operator(name=name, email=email, role=role, password=password)


async def list_operators(viewer: Viewer) -> list[Operator]:
    return await policy.listed_operators(viewer).order_by("name", "id")


async def readable_operator(viewer: Viewer, operator_id: int) -> Operator | None:
    """`node(id:)` of an operator (a visitor: FORBIDDEN, as for the colleagues' list)."""
    return await policy.listed_operators(viewer).filter(id=operator_id).first()


async def operators_by_id(viewer: Viewer, ids: list[int]) -> dict[int, Operator]:
    """The operators named by what the viewer reads (a chat's responsible, an author...)."""
    return {o.id: o for o in await policy.named_operators(viewer, ids)}


async def get_me(viewer: Viewer) -> Operator:
    return await Operator.get(id=policy.myself(viewer))


async def set_status(viewer: Viewer, *, status: OperatorStatus) -> Operator:
    """AWAY and OFFLINE operators get no offers (theirs pass on); becoming ONLINE moves the chats waiting in their
    queues. A status set by hand is a choice: the presence rule no longer brings them back ONLINE."""
    operator_id = policy.myself(viewer)
    async with unit_of_work(viewer) as uow:
        await change_status(uow, operator_id, status)
    return await Operator.get(id=operator_id)


def record_presence(uow: UnitOfWork, operator_id: int, status: OperatorStatus, connected: bool) -> None:
    """The event of a change of an operator's status or connection, in the change's transaction
    (`operatorsChanged` replays and follows these: services/chats/presence_events.py)."""
    uow.record(EventKind.OPERATOR_PRESENCE, chat=None, detail={
        "operator_id": operator_id, "status": OperatorStatus(status).value, "connected": connected})


async def change_status(uow: UnitOfWork, operator_id: int, status: OperatorStatus, *, by_presence: bool = False,
                        connected: bool | None = None) -> bool:
    """The one way an operator's status changes: by hand (`setStatus`), or by the presence rule
    (services/chats/presence.py: AWAY after the grace time without a connection, `by_presence`, which
    marks them `away_by_presence`; ONLINE again on reconnecting, which clears it as a choice does).
    Offers follow the status: not ONLINE, theirs pass on now; ONLINE, the chats waiting in their
    queues are offered. A change writes an OPERATOR_PRESENCE event (`connected`: known to the
    caller; None: read). Returns whether the status changed."""
    changed = bool(await Operator.filter(id=operator_id).exclude(status=status).using_db(uow.tx)
                   .update(status=status, away_by_presence=by_presence))
    if not changed and not by_presence:  # a choice made again: no longer the presence rule's
        await Operator.filter(id=operator_id, away_by_presence=True).using_db(uow.tx).update(away_by_presence=False)
    if status == OperatorStatus.ONLINE:
        await queue.offer_waiting_chats(uow, operator_id)
    else:
        await queue.pass_on_offers_of(uow, operator_id)
    if changed:
        if connected is None:
            connected = await OperatorConnection.filter(operator_id=operator_id).using_db(uow.tx).exists()
        record_presence(uow, operator_id, status, connected)
    return changed


async def update_preferences(viewer: Viewer, *, show_open_channels_separately: bool | None = None,
                             group_waiting_first_response: bool | None = None) -> Operator:
    operator_id = policy.myself(viewer)
    changes = {}
    if show_open_channels_separately is not None:
        changes["show_open_channels_separately"] = show_open_channels_separately
    if group_waiting_first_response is not None:
        changes["group_waiting_first_response"] = group_waiting_first_response
    if changes:
        await Operator.filter(id=operator_id).update(**changes)
    return await Operator.get(id=operator_id)


async def active_chat_counts(operator_ids: list[int]) -> dict[int, int]:
    """Unfinished chats each operator is responsible for, in one query."""
    rows = await (
        Chat.filter(operator_id__in=operator_ids, status=ChatStatus.ACTIVE)
        .annotate(n=Count("id")).group_by("operator_id").values("operator_id", "n")
    )
    return {row["operator_id"]: row["n"] for row in rows}
