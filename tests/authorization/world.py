"""The fixture world of the authorisation matrix: one chat under test and one caller of each kind.

Built through the services (the paths the API takes), on an empty database:

- open channel C1 (queue: the channel operator and a colleague, distribution ALL) and open
  channel C2 (queue: the other operator and the participant colleague);
- chat X in C1, started by the visitor: the chat every chat-targeted row is about. Its state
  depends on the variant (`VARIANTS`): answered by the channel operator (the default),
  answered by the colleague, offered to the channel operator, or finished. In every variant
  the participant colleague (an operator of C2) was added as a participant, and the last
  message is a silent note;
- chat Y in C2, started by the other visitor (queued, offered to C2's queue);
- a canned response of C1 (made by the supervisor), a product, a catalog GIF, a task and a
  feed post of the channel operator, a webhook connector of C1, a label, an SLA policy.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from models import Chat, Message, MessageAuthorKind, OperatorRole, OperatorStatus, QueueDistribution
from resolvers.ids import to_global_id
from services.identity import auth
from services.messaging import canned_responses
from services.chats import chats
from infrastructure.webhook_targets import WebhookTargets
from services.automation import connectors, webhooks
from services.messaging import feed
from services.messaging import gifs
from services.messaging import messages
from services.chats import open_channels
from services.chats import operators
from services.contact_center import search
from services.contact_center import sales
from services.messaging import tasks
from services.chats import labels
from services.chats import sla_policies
from services.chats import visitors
from services.identity.viewer import ANONYMOUS, Viewer

CALLERS = ("anonymous", "visitor", "other_visitor", "channel_operator", "other_operator", "participant",
           "supervisor", "admin")

#: what each caller is, for the docs and the printed table
CALLER_MEANING = {
    "anonymous": "no token",
    "visitor": "the visitor token of chat X's client",
    "other_visitor": "the visitor token of chat Y's client (another chat, another channel)",
    "channel_operator": "OPERATOR in C1's queue (chat X's channel); responsible for X unless the variant says otherwise",
    "other_operator": "OPERATOR in C2's queue only",
    "participant": "OPERATOR in C2's queue, added to chat X as a participant",
    "supervisor": "SUPERVISOR, in no queue",
    "admin": "ADMIN, in no queue",
}

#: the state of chat X a row needs
VARIANTS = {
    "answered": "ACTIVE, the channel operator responsible",
    "colleague": "ACTIVE, a colleague of C1 responsible (the channel operator only a queue member)",
    "offered": "QUEUED, offered to the channel operator (transferred to them by the colleague)",
    "finished": "CLOSED by the channel operator, the client asked to rate it",
}

LOGIN_EMAIL = "channel.operator@matrix.test"
LOGIN_PASSWORD = "channel-operator-pass"
WEBHOOK_URL = "https://93.184.216.34/hooks/open-channels"
SILENT_TEXT = "whisper-note: internal remark about the refund"
SILENT_TRANSFER_COMMENT = "whisper-transfer: passing this on"


@dataclass
class World:
    variant: str
    viewers: dict[str, Viewer]
    #: operator ids by caller kind (and "colleague")
    operator_ids: dict[str, int]
    channel_id: int
    other_channel_id: int
    chat_id: int
    other_chat_id: int
    client_id: int
    visitor_message_id: int
    operator_message_id: int
    silent_note_id: int
    canned_response_id: int
    product_id: int
    task_id: int
    label_id: int
    feed_post_id: int
    connector_id: int
    #: the chat each visitor caller writes into (their own)
    own_chat_ids: dict[str, int] = field(default_factory=dict)
    webhook_id: int = 0
    sla_policy_id: int = 0

    def gid(self, type_name: str, pk: int) -> str:
        return to_global_id(type_name, pk)

    @property
    def chat(self) -> str:
        return to_global_id("Chat", self.chat_id)

    def operator(self, kind: str) -> str:
        return to_global_id("Operator", self.operator_ids[kind])


@cache
def _password_hash(password: str) -> str:
    """Hashed once per process: scrypt takes about 60 ms of CPU and the matrix builds ~125 worlds."""
    return auth.hash_password(password)


async def _operator(name: str, email: str, role: OperatorRole, status: OperatorStatus,
                    password: str | None = None) -> tuple[int, Viewer]:
    row = await operators.register_operator(name=name, email=email, role=role)
    if password is not None:  # a real scrypt hash of `password`, as register_operator(password=...) stores it
        row.password_hash = _password_hash(password)
        await row.save(update_fields=["password_hash"])
    viewer = Viewer(operator_id=row.id, role=row.role)
    if status != row.status:
        await operators.set_status(viewer, status=status)
    return row.id, viewer


async def build_world(variant: str = "answered") -> World:
    """The world on an empty database (see the module docstring)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}")
    online, offline = OperatorStatus.ONLINE, OperatorStatus.OFFLINE
    ids: dict[str, int] = {}
    viewers: dict[str, Viewer] = {"anonymous": ANONYMOUS}
    for kind, name, role, status, password in [
        ("admin", "Ada Admin", OperatorRole.ADMIN, offline, None),
        ("supervisor", "Sam Supervisor", OperatorRole.SUPERVISOR, online, None),
        ("channel_operator", "Cleo Channel", OperatorRole.OPERATOR, online, LOGIN_PASSWORD),
        ("colleague", "Colin Colleague", OperatorRole.OPERATOR, online, None),
        ("other_operator", "Otis Other", OperatorRole.OPERATOR, online, None),
        ("participant", "Pia Participant", OperatorRole.OPERATOR, online, None),
    ]:
        email = LOGIN_EMAIL if kind == "channel_operator" else f"{kind}@matrix.test"
        ids[kind], viewers[kind] = await _operator(name, email, role, status, password)
    admin, channel_op, colleague = viewers["admin"], viewers["channel_operator"], viewers["colleague"]

    c1 = await open_channels.create_open_channel(
        admin, name="Support", distribution=QueueDistribution.ALL, welcome_message="Welcome to Support!",
        operator_ids=[ids["channel_operator"], ids["colleague"]])
    c2 = await open_channels.create_open_channel(
        admin, name="Sales", distribution=QueueDistribution.ALL,
        operator_ids=[ids["other_operator"], ids["participant"]])

    x, token = await visitors.start_visitor_chat(open_channel_id=c1.id, name="Vera Visitor",
                                                 email="vera@example.test", text="Hello, I need help with my order")
    y, other_token = await visitors.start_visitor_chat(open_channel_id=c2.id, name="Victor Visitor",
                                                       text="Hello, I need help too")
    viewers["visitor"] = await auth.authenticate(f"Bearer {token}")
    viewers["other_visitor"] = await auth.authenticate(f"Bearer {other_token}")
    visitor_message = await Message.filter(chat_id=x.id, author_kind=MessageAuthorKind.CLIENT).first()

    responsible = colleague if variant in ("colleague", "offered") else channel_op
    await chats.answer_chat(responsible, chat_id=x.id)
    reply = await messages.send_message(responsible, chat_id=x.id, text="Sure, let me check your order.")
    await chats.add_chat_participants(responsible, chat_id=x.id, operator_ids=[ids["participant"]])
    note = await messages.send_message(responsible, chat_id=x.id, text=SILENT_TEXT, silent=True)
    if variant == "offered":
        await chats.transfer_chat(colleague, chat_id=x.id, operator_id=ids["channel_operator"],
                                  comment=SILENT_TRANSFER_COMMENT)
    if variant == "finished":
        await chats.finish_chat(channel_op, chat_id=x.id)

    canned = await canned_responses.create_canned_response(
        viewers["supervisor"], title="Greeting", text="Hello {client.name}!", open_channel_id=c1.id)
    product = await sales.create_product(admin, name="Gift card", price=25.0, currency="EUR")
    await gifs.add_catalog_gif(admin, title="Happy cat", url="https://gifs.example.test/cat.gif", tags=["cat"])
    task = await tasks.create_task_from_message(channel_op, message_id=visitor_message.id)
    post = await feed.create_feed_post_from_message(channel_op, message_id=visitor_message.id)
    connector = await connectors.create_connector(admin, name="Website hook", kind="WEBHOOK", open_channel_id=c1.id,
                                                  callback_url="https://hooks.example.test/out")
    label = await labels.create_label(admin, name="VIP", color="#FFD700")
    sla_policy = await sla_policies.create_sla_policy(admin, name="Standard", first_response_seconds=300)
    # a public address written as one (no name to resolve)
    webhook = await webhooks.create_webhook(admin, url=WEBHOOK_URL, targets=WebhookTargets())
    await search.ensure_ready()  # the search index exists before the first snapshot

    x = await Chat.get(id=x.id)
    return World(
        variant=variant, viewers=viewers, operator_ids=ids, channel_id=c1.id, other_channel_id=c2.id,
        chat_id=x.id, other_chat_id=y.id, client_id=x.client_id, visitor_message_id=visitor_message.id,
        operator_message_id=reply.id, silent_note_id=note.id, canned_response_id=canned.id, product_id=product.id,
        task_id=task.id, label_id=label.id, feed_post_id=post.id, connector_id=connector.id,
        own_chat_ids={"visitor": x.id, "other_visitor": y.id}, webhook_id=webhook.id,
        sla_policy_id=sla_policy.id,
    )
