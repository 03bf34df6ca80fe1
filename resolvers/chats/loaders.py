"""Per-request DataLoaders: each relation of a list is loaded in one query for the whole list.

One `Loaders` per HTTP request; on WebSocket, one per delivered event (the connection
lives too long for a cache). Each loader answers for the viewer it was built for.
"""
from __future__ import annotations

from collections import defaultdict
from functools import cached_property
from typing import Any, Callable, Iterable

from resolvers.dataloader import DataLoader
from tortoise.functions import Max

from models import Chat, ChatOffer, ChatParticipant, Client, Message, OpenChannel
from resolvers.contact_center.loaders import CrmLoaders, SalesLoaders
from resolvers.messaging.loaders import MessagingLoaders
from services.chats import reads, waiting
from services.policies import messages as message_policy
from services.chats import open_channels
from services.chats.operators import active_chat_counts, operators_by_id
from services.chats.presence import presence_of
from services.automation.rating import ratings_of
from services.chats.reads import unread_counts
from services.chats.labels import labels_of_chats
from services.chats.sla import slas_of_chats
from services.chats.sla_policies import policies_by_id
from services.contact_center.client_attributes import attributes_of_clients
from services.identity.viewer import Viewer


def _by_id(model: Any) -> Callable:
    async def load(ids: list[int]) -> list[Any]:
        rows = {row.id: row for row in await model.filter(id__in=list(set(ids)))}
        return [rows.get(i) for i in ids]

    return load


def _keyed(viewer: Viewer, fetch: Callable) -> Callable:
    """A service's {id: row} batch read for this viewer (the policy is applied there)."""
    async def load(ids: list[int]) -> list[Any]:
        rows = await fetch(viewer, list(set(ids)))
        return [rows.get(i) for i in ids]

    return load


def _loader(batch_function: Callable[[Any], Callable]) -> cached_property:
    """A DataLoader attribute made on first use from `batch_function(self)`."""
    return cached_property(lambda self: DataLoader(batch_function(self)))


def _prime_operators(loader: DataLoader, relations: dict[int, dict[str, Any]]) -> None:
    operators = {r["operator"].id: r["operator"] for r in relations.values() if r.get("operator") is not None}
    if operators:
        loader.prime_many(operators)


def _grouped(rows: Iterable[tuple[int | None, Any]], keys: list[int]) -> list[list[Any]]:
    groups: dict[int | None, list[Any]] = defaultdict(list)
    for key, value in rows:
        groups[key].append(value)
    return [groups.get(k, []) for k in keys]


class Loaders:
    """Each loader is made on first use: a request needs a few of these twenty (a 50-chat myChats
    only `operator`), and making them all cost more than a page's row reading."""

    def __init__(self, viewer: Viewer) -> None:
        self.viewer = viewer
        #: pages' relations (by chat id) whose operators `operator` is primed with when first used
        self._unprimed: list[dict[int, dict[str, Any]]] = []

    @cached_property
    def operator(self) -> DataLoader:
        loader: DataLoader = DataLoader(_keyed(self.viewer, operators_by_id))
        for relations in self._unprimed:
            _prime_operators(loader, relations)
        self._unprimed.clear()
        return loader

    def prime_operators(self, relations: dict[int, dict[str, Any]]) -> None:
        """The operators of a page's loaded relations (by chat id) for `operator`: the rest of the
        selection reads them without a query. Kept until `operator` is first used: most lists read
        their chats' operators from the relations the schema hands each chat (schema/chats/prefetched.py)
        and never load one, and priming 50 chats' operators cost a list about 2,200 bytecodes."""
        if "operator" in self.__dict__:  # made already: primed now, as its pending batch may want them
            _prime_operators(self.operator, relations)
        else:
            self._unprimed.append(relations)

    open_channel = _loader(lambda self: _keyed(self.viewer, open_channels.channels_by_id))
    client = _loader(lambda self: _by_id(Client))
    chat = _loader(lambda self: _by_id(Chat))
    message = _loader(lambda self: _by_id(Message))
    offered_to = _loader(lambda self: self._offered_to)
    participants = _loader(lambda self: self._participants)
    members = _loader(lambda self: self._members)
    queued_chats = _loader(lambda self: self._queued_chats)
    queue_length = _loader(lambda self: self._queue_lengths)
    queue_position = _loader(lambda self: self._queue_positions)
    median_wait = _loader(lambda self: self._median_waits)
    operator_channels = _loader(lambda self: self._operator_channels)
    active_chats_count = _loader(lambda self: self._active_chats_count)
    operator_presence = _loader(lambda self: _keyed(self.viewer, presence_of))
    last_message = _loader(lambda self: self._last_message)
    unread_count = _loader(lambda self: self._unread_count)
    chat_rating = _loader(lambda self: ratings_of)
    labels = _loader(lambda self: _keyed(self.viewer, labels_of_chats))
    sla_policy = _loader(lambda self: _keyed(self.viewer, policies_by_id))
    chat_sla = _loader(lambda self: _keyed(self.viewer, slas_of_chats))
    client_attributes = _loader(lambda self: _keyed(self.viewer, attributes_of_clients))

    @cached_property
    def messaging(self) -> MessagingLoaders:
        """attachments, replies, quotes, mentions (resolvers/messaging/loaders.py)"""
        return MessagingLoaders(self)

    @cached_property
    def crm(self) -> CrmLoaders:
        return CrmLoaders(self.viewer)

    @cached_property
    def sales(self) -> SalesLoaders:
        return SalesLoaders(self.viewer)

    async def _offered_to(self, chat_ids: list[int]) -> list[list[int]]:
        rows = await ChatOffer.filter(chat_id__in=chat_ids).order_by("id").values_list("chat_id", "operator_id")
        return _grouped(rows, chat_ids)

    async def _participants(self, chat_ids: list[int]) -> list[list[int]]:
        rows = await ChatParticipant.filter(chat_id__in=chat_ids).order_by("id").values_list("chat_id", "operator_id")
        return _grouped(rows, chat_ids)

    async def _members(self, channel_ids: list[int]) -> list[list[int]]:
        rows = await open_channels.members_of_channels(self.viewer, channel_ids)
        return _grouped(rows, channel_ids)

    async def _queued_chats(self, channel_ids: list[int]) -> list[list[Chat]]:
        """Queued chats per channel, as far as the viewer may see them (a channel is reachable from
        a colleague's profile or a visitor's chat: its queue is not)."""
        chats = await reads.visible_queued_chats(self.viewer, channel_ids)
        for chat in chats:
            self.chat.prime(chat.id, chat)
        return _grouped(((c.open_channel_id, c) for c in chats), channel_ids)

    async def _queue_lengths(self, channel_ids: list[int]) -> list[int]:
        """How many chats `queued_chats` holds per channel, counted without reading them."""
        found = await reads.visible_queue_lengths(self.viewer, channel_ids)
        return [found.get(i, 0) for i in channel_ids]

    async def _queue_positions(self, chat_ids: list[int]) -> list[int | None]:
        """Positions of chats the viewer reads (a count, nothing of the chats ahead)."""
        found = await waiting.queue_positions(chat_ids)
        return [found.get(i) for i in chat_ids]

    async def _median_waits(self, channel_ids: list[int]) -> list[float | None]:
        found = await waiting.median_waits(channel_ids)
        return [found.get(i) for i in channel_ids]

    async def _operator_channels(self, operator_ids: list[int]) -> list[list[OpenChannel]]:
        memberships = await open_channels.channel_ids_of_operators(self.viewer, operator_ids)
        channels = await self.open_channel.load_many([c for _, c in memberships])
        return _grouped(((o, ch) for (o, _), ch in zip(memberships, channels) if ch), operator_ids)

    async def _active_chats_count(self, operator_ids: list[int]) -> list[int]:
        counts = await active_chat_counts(operator_ids)
        return [counts.get(i, 0) for i in operator_ids]

    def _visible_messages(self, chat_ids: list[int]):
        return message_policy.of_chats(self.viewer, chat_ids)

    async def _last_message(self, chat_ids: list[int]) -> list[Message | None]:
        last_ids = await self._visible_messages(chat_ids).group_by("chat_id").annotate(last=Max("id")) \
            .values_list("chat_id", "last")
        messages = await self.message.load_many([m for _, m in last_ids])
        by_chat = {chat_id: message for (chat_id, _), message in zip(last_ids, messages)}
        return [by_chat.get(i) for i in chat_ids]

    async def _unread_count(self, chat_ids: list[int]) -> list[int]:
        """Messages after the viewer's read marker, not written by the viewer (operators only)."""
        if self.viewer.operator_id is None:
            return [0 for _ in chat_ids]
        counts = await unread_counts(self.viewer.operator_id, chat_ids)
        return [counts.get(i, 0) for i in chat_ids]

    async def total_unread(self) -> int:
        """Unread messages over every chat I take part in or am offered."""
        chat_ids = await reads.my_open_chat_ids(self.viewer)
        return sum(await self.unread_count.load_many(chat_ids)) if chat_ids else 0
