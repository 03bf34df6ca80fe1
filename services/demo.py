"""Demo data for `openchannels serve --demo`: a small contact center to click through.

Built through the same use cases the API calls (no GraphQL, no direct table writes), so the
demo shows exactly what the services produce: offers per the queue's distribution, events,
read markers. Not idempotent by itself: the CLI seeds only a database without operators.
"""
from __future__ import annotations

from typing import Any

from models import Chat, OperatorRole, OperatorStatus, QueueDistribution
from services.chats import chats
from services.messaging import messages
from services.chats import open_channels
from services.chats import operators
from services.chats import visitors
from services.identity.auth import authenticate, issue_token
from services.identity.viewer import Viewer

ADMIN_EMAIL = "admin@demo.openchannels"
ADMIN_PASSWORD = "demo-admin-pass"
SUPERVISOR_PASSWORD = "demo-supervisor-pass"
OPERATOR_PASSWORD = "demo-operator-pass"

_OPERATORS = [
    ("Olivia Ortiz", "olivia@demo.openchannels"),
    ("Omar Okafor", "omar@demo.openchannels"),
    ("Oscar Olsen", "oscar@demo.openchannels"),
]


async def _person(name: str, email: str, role: OperatorRole, password: str) -> tuple[dict[str, Any], Viewer]:
    operator = await operators.register_operator(name=name, email=email, role=role, password=password)
    viewer = Viewer(operator_id=operator.id, role=operator.role)
    await operators.set_status(viewer, status=OperatorStatus.ONLINE)
    person = {"id": operator.id, "name": operator.name, "email": operator.email, "role": operator.role.value,
              "password": password, "token": await issue_token(operator.id)}
    return person, viewer


async def _visitor(open_channel_id: int, name: str, email: str, text: str) -> tuple[int, Viewer, str]:
    """A client writes in from the widget: returns the new chat's id, the visitor and their token."""
    chat, token = await visitors.start_visitor_chat(open_channel_id=open_channel_id, name=name, email=email, text=text)
    assert chat is not None  # a first message always opens a chat
    return chat.id, await authenticate(f"Bearer {token}"), token


async def seed_demo() -> dict[str, Any]:
    """Create the demo contact center; returns who is who with their (non-expiring) tokens.

    Result keys: admin, supervisor (dicts: id, name, email, role, password, token), operators
    (list of those), open_channels (id, name, distribution, operator_ids), chats (id, title,
    status, open_channel_id, operator_id) and visitor (a visitor token of the answered chat).
    """
    admin, admin_viewer = await _person("Ada Admin", ADMIN_EMAIL, OperatorRole.ADMIN, ADMIN_PASSWORD)
    supervisor, _ = await _person("Sofia Supervisor", "supervisor@demo.openchannels", OperatorRole.SUPERVISOR,
                                  SUPERVISOR_PASSWORD)
    team = [await _person(name, email, OperatorRole.OPERATOR, OPERATOR_PASSWORD) for name, email in _OPERATORS]
    (olivia, olivia_viewer), (omar, omar_viewer), _ = team
    team_ids = [person["id"] for person, _ in team]

    website = await open_channels.create_open_channel(
        admin_viewer, name="Website chat", distribution=QueueDistribution.EVENLY, operator_ids=team_ids,
        welcome_message="Hello! An operator will answer you in a moment.",
    )
    messenger = await open_channels.create_open_channel(
        admin_viewer, name="Messenger", distribution=QueueDistribution.STRICT, operator_ids=team_ids[:2],
    )

    # Queued: offered to the member offered least recently (EVENLY), nobody answered yet.
    queued_id, _, _ = await _visitor(website.id, "Alice Martin", "alice@example.com",
                                     "Hi! My order #1042 has not arrived yet. Can you check?")

    # Answered, messages both ways and an operator-only note. EVENLY offers it to the next operator.
    active_id, bruno, bruno_token = await _visitor(website.id, "Bruno Costa", "bruno@example.com",
                                                   "Hello, do you ship to Portugal?")
    await chats.answer_chat(omar_viewer, chat_id=active_id)
    await messages.send_message(omar_viewer, chat_id=active_id,
                                text="Hi Bruno! Yes, we ship to Portugal: 3 to 5 working days.")
    await messages.send_visitor_message(bruno, text="Great. And how much is the shipping?")
    await messages.send_message(omar_viewer, chat_id=active_id, silent=True,
                                text="Returning customer: offer free shipping if he asks again.")

    # Finished: STRICT offers it to the first member in queue order.
    finished_id, carla, _ = await _visitor(messenger.id, "Carla Diaz", "carla@example.com",
                                           "I need an invoice for my last purchase, please.")
    await chats.answer_chat(olivia_viewer, chat_id=finished_id)
    await messages.send_message(olivia_viewer, chat_id=finished_id,
                                text="Of course, Carla. I have just sent the invoice to your e-mail.")
    await messages.send_visitor_message(carla, text="Got it, thank you!")
    await chats.finish_chat(olivia_viewer, chat_id=finished_id)

    # Queued in the STRICT channel: offered to the first member again.
    second_queued_id, _, _ = await _visitor(messenger.id, "Dmitri Ivanov", "dmitri@example.com",
                                            "Is the blue model back in stock?")

    demo_chats = await Chat.filter(id__in=[queued_id, active_id, finished_id, second_queued_id]).order_by("id")
    return {
        "admin": admin,
        "supervisor": supervisor,
        "operators": [person for person, _ in team],
        "open_channels": [
            {"id": website.id, "name": website.name, "distribution": website.distribution.value,
             "operator_ids": team_ids},
            {"id": messenger.id, "name": messenger.name, "distribution": messenger.distribution.value,
             "operator_ids": team_ids[:2]},
        ],
        "chats": [
            {"id": chat.id, "title": chat.title, "status": chat.status.value,
             "open_channel_id": chat.open_channel_id, "operator_id": chat.operator_id}
            for chat in demo_chats
        ],
        "visitor": {"chat_id": active_id, "name": "Bruno Costa", "token": bruno_token},
    }
