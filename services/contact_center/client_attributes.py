"""Client attributes: keys and values an operator keeps on a client (plan = gold, customer_id = 42).
Who may see and set them: services/policies/clients.py."""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

from models import Client, ClientAttribute
from services.common.errors import InvalidInput
from services.common.text_input import check_text
from services.events.events import unit_of_work
from services.identity.viewer import Viewer
from services.policies import clients as policy

MAX_KEY_LENGTH = 64
MAX_VALUE_LENGTH = 1000
#: a client carries at most this many attributes
MAX_ATTRIBUTES = 50
_KEY = re.compile(r"[A-Za-z0-9_.\-]+")


def _checked(attributes: Sequence[tuple[str, str | None]]) -> dict[str, str | None]:
    """{key: value or None} of the input; INVALID_INPUT (on its attribute) for a bad key or value."""
    found: dict[str, str | None] = {}
    for index, (key, value) in enumerate(attributes):
        field = ["input", "attributes", str(index)]
        check_text(key, [*field, "key"])
        if not _KEY.fullmatch(key) or len(key) > MAX_KEY_LENGTH:
            raise InvalidInput(f"A key is 1 to {MAX_KEY_LENGTH} letters, digits, '_', '-' or '.'.",
                               field=[*field, "key"])
        if key in found:
            raise InvalidInput(f"The key {key} is given twice.", field=[*field, "key"])
        if value is not None:
            check_text(value, [*field, "value"], MAX_VALUE_LENGTH)
            value = value.strip()
            if not value:
                raise InvalidInput("A value cannot be empty (null removes the key).", field=[*field, "value"])
        found[key] = value
    return found


async def set_client_attributes(viewer: Viewer, *, client_id: int,
                                attributes: Sequence[tuple[str, str | None]]) -> Client:
    """Set the given keys (a null value removes its key); keys not given are kept."""
    changes = _checked(attributes)
    async with unit_of_work(viewer) as uow:
        client = await policy.ensure_may_write(viewer, client_id, uow.tx)  # the client row locked
        current = {row.key: row for row in await ClientAttribute.filter(client_id=client.id).using_db(uow.tx)}
        removed = [key for key, value in changes.items() if value is None and key in current]
        kept = (set(current) - set(removed)) | {key for key, value in changes.items() if value is not None}
        if len(kept) > MAX_ATTRIBUTES:
            raise InvalidInput(f"A client carries at most {MAX_ATTRIBUTES} attributes.", field=["input", "attributes"])
        if removed:
            await ClientAttribute.filter(client_id=client.id, key__in=removed).using_db(uow.tx).delete()
        for key, value in changes.items():
            if value is None:
                continue
            if key in current:
                if current[key].value != value:
                    await ClientAttribute.filter(id=current[key].id).using_db(uow.tx).update(value=value)
            else:
                await ClientAttribute.create(using_db=uow.tx, client_id=client.id, key=key, value=value)
    return client


async def attributes_of_clients(viewer: Viewer, client_ids: list[int]) -> dict[int, list[ClientAttribute]]:
    """Per client id, its attributes by key, as far as the viewer may see them."""
    found: dict[int, list[ClientAttribute]] = defaultdict(list)
    for row in await policy.attributes_of(viewer, client_ids).order_by("key"):
        found[row.client_id].append(row)
    return {client_id: found[client_id] for client_id in client_ids}
