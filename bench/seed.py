"""A realistic PostgreSQL dataset for the benchmarks, bulk-loaded with COPY.

At scale 1.0: 20 open channels, 200 operators, 100,000 clients, 200,000 chats and about
2,000,000 messages (about 10 per chat, both sides, a few silent notes), read markers,
participants and offers. Chat ids grow with `created_at` (strictly), so "newest first" is
one order whichever column a query sorts by. Most chats are CLOSED and old; the most recent
ones are a mix of ACTIVE (an operator, a participant row, a read marker a few messages
back), QUEUED (offered to one to three channel members) and CLOSED.

Three "bench operators" hold exactly 10, 50 and 100 ACTIVE customer chats (and no offers):
the page sizes that B1 and B6 compare. Their queues are those of channels 1-4; the others (at
least four) hold none, and the bench's writers write there (bench/targets.py). The database
is `openchannels_bench_<scale>` beside the admin database; it is reused when a complete seed
of the same version is there (the mark is the database's comment, written last).

    python -m bench.seed --scale 0.01 [--reseed]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from infrastructure.database import apply_migrations
from infrastructure.settings import Settings
from services.contact_center.search_index import POSTGRES_STATEMENTS

#: an existing database to connect to as an admin; the bench database is created beside it
ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL") or "postgres://postgres@127.0.0.1:5432/test"
#: bump when the generator changes: an older seed is then rebuilt
SEED_VERSION = 2  # 2: at least 8 channels, the last 4 with no bench operator (bench/targets.py)
#: (name, number of ACTIVE chats): the operators whose lists B1 and B6 request
BENCH_OPERATORS = (("Bench Ten", 10), ("Bench Fifty", 50), ("Bench Hundred", 100))
#: the channels whose queues hold the bench operators (each in two neighbours: 1-2, 2-3, 3-4); at
#: least as many more hold none, where the bench's writers write (bench/targets.py): a run's
#: messages then stay out of the lists B1 measures, so the next run measures the same lists
BENCH_CHANNELS = len(BENCH_OPERATORS) + 1
COPY_CHUNK = 100_000

FIRST_NAMES = ("Anna", "Boris", "Chen", "Dana", "Elif", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kira", "Luca",
               "Maya", "Nils", "Olga", "Pavel", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wen", "Yara")
LAST_NAMES = ("Smith", "Ivanova", "Garcia", "Muller", "Kowalski", "Rossi", "Tanaka", "Novak", "Silva", "Berg",
              "Dubois", "Okafor", "Larsen", "Petrov", "Costa", "Nguyen", "Fischer", "Moreau", "Haddad", "Kim")
CHANNEL_NAMES = ("Website chat", "Telegram", "WhatsApp", "Support line", "Sales", "Billing", "Returns",
                 "Partners", "Mobile app", "Instagram")
CLIENT_LINES = (
    "Hello, I have a question about my order", "Where is my parcel?", "The payment did not go through",
    "Can I change the delivery address?", "I was charged twice for order", "How do I return an item?",
    "The app crashes when I open the cart", "Is this available in blue?", "Thanks, that helps",
    "Could you check the status of order", "I cannot log in to my account", "When will you restock?",
    "Do you ship to Norway?", "My discount code is not accepted", "The invoice has the wrong company name",
)
OPERATOR_LINES = (
    "Hello! Let me check that for you", "Your order has been shipped, tracking number", "I have refunded the payment",
    "Could you send me the order number?", "The address is updated", "Here is the return form",
    "Our team is looking into the crash", "Yes, it is in stock", "You are welcome, have a nice day",
    "I have reset your password, please check your mail", "The code is valid until the end of the month",
    "We ship to most of Europe within five days", "I have corrected the invoice",
)
NOTE_LINES = ("Client asked twice already, escalate if again", "VIP customer, be quick",
              "Refund approved by billing", "Possible fraud, check the card")


@dataclass(frozen=True)
class Shape:
    """How many rows of each kind a scale asks for (small scales keep a usable minimum)."""

    scale: float
    channels: int
    operators: int
    clients: int
    chats: int
    messages_per_chat: int = 10

    @classmethod
    def at(cls, scale: float) -> "Shape":
        bench_chats = sum(n for _, n in BENCH_OPERATORS)
        return cls(scale=scale, channels=max(2 * BENCH_CHANNELS, round(20 * scale)),
                   operators=max(12, round(200 * scale)), clients=max(50, round(100_000 * scale)),
                   chats=max(3 * bench_chats, round(200_000 * scale)))


def database_name(scale: float) -> str:
    return "openchannels_bench_" + f"{scale:g}".replace(".", "_").replace("-", "_")


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def seed_mark(shape: Shape) -> str:
    return f"openchannels bench seed v{SEED_VERSION} scale={shape.scale:g} complete"


class Progress:
    def __init__(self) -> None:
        self.start = time.monotonic()

    def __call__(self, line: str) -> None:
        print(f"[seed {time.monotonic() - self.start:6.1f}s] {line}", flush=True)


async def ensure_seeded(scale: float, *, reseed: bool = False, progress: Progress | None = None,
                        database: str = "") -> str:
    """The URL of a complete bench database at this scale; seeds it when missing, stale or `reseed`.

    `database`: its name (default `openchannels_bench_<scale>`)."""
    progress = progress or Progress()
    shape = Shape.at(scale)
    name = database or database_name(scale)
    url = with_database(ADMIN_URL, name)
    admin = await asyncpg.connect(ADMIN_URL, timeout=10)
    try:
        comment = await admin.fetchval(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1", name)
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists and comment == seed_mark(shape) and not reseed:
            progress(f"reusing {name} ({comment}); --reseed to rebuild")
            await apply_migrations(Settings(database_url=url))  # a migration added since: applied
            return url
        if exists:
            progress(f"dropping {name}")
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    progress(f"created {name}: {shape.channels} channels, {shape.operators} operators, {shape.clients} clients, "
             f"{shape.chats} chats, ~{shape.chats * shape.messages_per_chat} messages")
    await apply_migrations(Settings(database_url=url))
    progress("migrations applied")
    connection = await asyncpg.connect(url, timeout=10)
    try:
        await Generator(shape, progress).load(connection)
    finally:
        await connection.close()
    admin = await asyncpg.connect(ADMIN_URL, timeout=10)
    try:
        await admin.execute(f"COMMENT ON DATABASE \"{name}\" IS '{seed_mark(shape)}'")
    finally:
        await admin.close()
    progress("done")
    return url


class Generator:
    """Rows in id order, written table by table with COPY (foreign-key triggers off while loading)."""

    def __init__(self, shape: Shape, progress: Progress) -> None:
        self.shape = shape
        self.progress = progress
        self.random = random.Random(20261124)
        self.now = datetime.now(timezone.utc).replace(microsecond=0)
        self.start = self.now - timedelta(days=365)

    async def load(self, db: asyncpg.Connection) -> None:
        await db.execute("SET session_replication_role = replica")  # no FK trigger per row: the data is consistent
        await db.execute("SET synchronous_commit = off")
        await self._copy(db, "open_channel", self._channels())
        await self._copy(db, "operator", self._operators())
        await self._copy(db, "queue_member", self._memberships())
        await self._copy(db, "client", self._clients())
        await self._chats_and_messages(db)
        for table in ("open_channel", "operator", "queue_member", "client", "chat", "chat_participant",
                      "chat_offer", "read_marker", "message"):
            await db.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                             f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)")
        await db.execute("SET session_replication_role = DEFAULT")
        started = time.monotonic()
        for statement in POSTGRES_STATEMENTS:  # the search columns and their indexes, made once over the loaded rows
            await db.execute(statement)
        self.progress(f"search columns and indexes made in {time.monotonic() - started:.1f}s")
        self.progress("sequences set, vacuuming and analyzing")
        # VACUUM, not only ANALYZE: it sets the visibility map and the rows' hint bits as
        # autovacuum would have by the time a database served this much (it may be off, as on
        # the bench machine); without it, a fresh seed's first measurement pays for them,
        # index-only scans (unread counts) go to the heap, and the ratios move by 0.1
        await db.execute("VACUUM ANALYZE")
        self.progress("vacuumed and analyzed")

    async def _copy(self, db: asyncpg.Connection, table: str, rows: tuple[list[str], list[tuple]]) -> None:
        columns, records = rows
        started = time.monotonic()
        for offset in range(0, len(records), COPY_CHUNK):
            await db.copy_records_to_table(table, records=records[offset:offset + COPY_CHUNK], columns=columns)
        self.progress(f"{table}: {len(records)} rows in {time.monotonic() - started:.1f}s")

    # ------------------------------------------------------------------ people and queues

    def _name(self) -> str:
        return f"{self.random.choice(FIRST_NAMES)} {self.random.choice(LAST_NAMES)}"

    def _channels(self) -> tuple[list[str], list[tuple]]:
        columns = ["id", "name", "distribution", "answer_timeout_seconds", "auto_close_after_seconds",
                   "rating_enabled", "welcome_message", "max_chats_per_operator", "created_at"]
        rows = [(i, f"{CHANNEL_NAMES[(i - 1) % len(CHANNEL_NAMES)]} {(i - 1) // len(CHANNEL_NAMES) + 1}",
                 ("EVENLY", "STRICT", "ALL")[i % 3], 60, 86400, True, "Hello! An operator will answer shortly.",
                 None, self.start) for i in range(1, self.shape.channels + 1)]
        return columns, rows

    def _operators(self) -> tuple[list[str], list[tuple]]:
        """Operator 1 is an admin, 2.. are the bench operators, the rest regular operators."""
        columns = ["id", "name", "email", "role", "status", "password_hash", "show_open_channels_separately",
                   "group_waiting_first_response", "created_at"]
        rows = [(1, "Bench Admin", "admin@bench.openchannels", "ADMIN", "ONLINE", None, True, True, self.start)]
        for offset, (name, _) in enumerate(BENCH_OPERATORS):
            rows.append((2 + offset, name, f"bench{offset}@bench.openchannels", "OPERATOR", "ONLINE", None, True, True,
                         self.start))
        for i in range(len(rows) + 1, self.shape.operators + 1):
            status = self.random.choice(("ONLINE", "ONLINE", "AWAY", "OFFLINE"))
            rows.append((i, self._name(), f"operator{i}@bench.openchannels", "OPERATOR", status, None, True,
                         self.random.random() < 0.8, self.start))
        return columns, rows

    @property
    def bench_operator_ids(self) -> list[int]:
        return [2 + offset for offset in range(len(BENCH_OPERATORS))]

    @property
    def regular_operator_ids(self) -> list[int]:
        return list(range(2 + len(BENCH_OPERATORS), self.shape.operators + 1))

    def _memberships(self) -> tuple[list[str], list[tuple]]:
        """Every regular operator is in one to three queues, every queue has members; bench operators in two."""
        members: dict[int, list[int]] = {c: [] for c in range(1, self.shape.channels + 1)}
        regular = self.regular_operator_ids
        for index, operator in enumerate(regular):
            channels = {1 + index % self.shape.channels}
            channels.update(self.random.sample(range(1, self.shape.channels + 1), self.random.randint(0, 2)))
            for channel in sorted(channels):
                members[channel].append(operator)
        for index, operator in enumerate(self.bench_operator_ids):
            for channel in (1 + index % self.shape.channels, 1 + (index + 1) % self.shape.channels):
                members[channel].append(operator)
        self.members = members
        self.bench_channels = {op: [c for c, ops in members.items() if op in ops] for op in self.bench_operator_ids}
        columns = ["id", "open_channel_id", "operator_id", "position", "last_offered_at"]
        rows, next_id = [], 1
        for channel, operators in members.items():
            for position, operator in enumerate(operators):
                rows.append((next_id, channel, operator, position, None))
                next_id += 1
        return columns, rows

    def _clients(self) -> tuple[list[str], list[tuple]]:
        columns = ["id", "name", "email", "phone", "created_at"]
        rows = []
        for i in range(1, self.shape.clients + 1):
            name = self._name()
            rows.append((i, name, f"{name.lower().replace(' ', '.')}.{i}@example.com",
                         f"+1555{i:07d}" if i % 3 else None, self.start))
        self.client_names = [""] + [r[1] for r in rows]
        return columns, rows

    # ------------------------------------------------------------------ chats and messages

    def _statuses(self) -> list[str]:
        """Old chats are CLOSED (a few SPAM); the most recent ones mix ACTIVE, QUEUED and CLOSED."""
        chats = self.shape.chats
        recent = min(chats, max(round(0.06 * chats), 3 * sum(n for _, n in BENCH_OPERATORS)))
        statuses = ["SPAM" if self.random.random() < 0.03 else "CLOSED" for _ in range(chats - recent)]
        for _ in range(recent):
            roll = self.random.random()
            statuses.append("ACTIVE" if roll < 0.55 else "QUEUED" if roll < 0.8 else "CLOSED")
        return statuses

    def _responsible(self, statuses: list[str]) -> dict[int, int]:
        """Chat index -> bench operator: the first ACTIVE chats of the recent ones, in list-size order."""
        wanted = [op for op, (_, n) in zip(self.bench_operator_ids, BENCH_OPERATORS) for _ in range(n)]
        chosen: dict[int, int] = {}
        for index in range(len(statuses)):
            if statuses[index] == "ACTIVE" and len(chosen) < len(wanted):
                chosen[index] = wanted[len(chosen)]
        if len(chosen) < len(wanted):
            raise RuntimeError(f"only {len(chosen)} ACTIVE chats for {len(wanted)} bench chats: raise --scale")
        return chosen

    async def _chats_and_messages(self, db: asyncpg.Connection) -> None:
        rnd = self.random
        shape = self.shape
        statuses = self._statuses()
        bench = self._responsible(statuses)
        step = timedelta(days=365) / (shape.chats + 1)
        chats, participants, offers, markers, messages = [], [], [], [], []
        message_id = 0
        copied = 0
        started = time.monotonic()
        regular = self.regular_operator_ids
        for index, status in enumerate(statuses):
            chat_id = index + 1
            created = self.start + step * chat_id  # strictly increasing with the id
            operator = bench.get(index)
            if operator is not None:
                channel = rnd.choice(self.bench_channels[operator])
            else:
                channel = rnd.randint(1, shape.channels)
                pool = [o for o in self.members[channel] if o not in self.bench_operator_ids] or regular
                operator = rnd.choice(pool) if status in ("ACTIVE", "CLOSED") else None
            client = rnd.randint(1, shape.clients)
            waiting = status == "ACTIVE" and rnd.random() < 0.25
            count = (rnd.randint(1, 3) if status in ("QUEUED", "SPAM") else rnd.randint(2, 5) if waiting
                     else rnd.randint(4, 16))
            first_message_id = message_id + 1
            at = created
            first_reply = None
            for position in range(count):
                message_id += 1
                at = at + timedelta(seconds=rnd.randint(5, 300))
                if position == 0 or operator is None or waiting or rnd.random() < 0.5:
                    author_kind, author, silent = "CLIENT", None, False
                    text = rnd.choice(CLIENT_LINES)
                    if waiting and operator is not None and position == count - 1 and rnd.random() < 0.3:
                        author_kind, author, silent, text = "OPERATOR", operator, True, rnd.choice(NOTE_LINES)
                elif rnd.random() < 0.04:
                    author_kind, author, silent, text = "OPERATOR", operator, True, rnd.choice(NOTE_LINES)
                else:
                    author_kind, author, silent = "OPERATOR", operator, False
                    text = rnd.choice(OPERATOR_LINES)
                    first_reply = first_reply or at
                if "order" in text:
                    text = f"{text} #{rnd.randint(10000, 99999)}"
                messages.append((message_id, chat_id, author_kind, author, text, silent, at, None, False))
            answered = created + timedelta(seconds=rnd.randint(10, 240)) if operator is not None else None
            closed = at + timedelta(minutes=rnd.randint(5, 120)) if status in ("CLOSED", "SPAM") else None
            if status == "ACTIVE" and not waiting and first_reply is None:
                first_reply = answered  # an active chat whose visible reply was by phone: still answered
            chats.append((chat_id, "CUSTOMER", f"{self.client_names[client]}: {CHANNEL_NAMES[(channel - 1) % 10]}",
                          status, status == "ACTIVE" and rnd.random() < 0.05, created, answered,
                          None if waiting else first_reply, closed,
                          at + timedelta(days=1) if status == "ACTIVE" else None, at, client, channel, operator, None))
            if operator is not None:
                participants.append((len(participants) + 1, chat_id, operator, answered))
                if status == "ACTIVE" and rnd.random() < 0.1 and operator not in self.bench_operator_ids:
                    colleague = rnd.choice(regular)
                    if colleague != operator:
                        participants.append((len(participants) + 1, chat_id, colleague, answered))
                unread_tail = 0 if status != "ACTIVE" else rnd.randint(0, min(3, count - 1))
                markers.append((len(markers) + 1, chat_id, operator, max(message_id - unread_tail, first_message_id)))
            if status == "QUEUED":
                pool = [o for o in self.members[channel] if o not in self.bench_operator_ids] or regular
                for offered in rnd.sample(pool, min(len(pool), rnd.randint(1, 3))):
                    offers.append((len(offers) + 1, chat_id, offered, created))
            if len(messages) >= COPY_CHUNK:
                await self._copy_messages(db, messages)
                copied += len(messages)
                messages = []
                if copied % (10 * COPY_CHUNK) < COPY_CHUNK:
                    self.progress(f"message: {copied} rows ({time.monotonic() - started:.1f}s)")
        await self._copy_messages(db, messages)
        copied += len(messages)
        self.progress(f"message: {copied} rows in {time.monotonic() - started:.1f}s (generated and copied)")
        await self._copy(db, "chat", (["id", "kind", "title", "status", "pinned", "created_at", "answered_at",
                                       "first_response_at", "closed_at", "auto_close_at", "last_activity_at",
                                       "client_id", "open_channel_id", "operator_id", "parent_chat_id"], chats))
        await self._copy(db, "chat_participant", (["id", "chat_id", "operator_id", "added_at"], participants))
        await self._copy(db, "chat_offer", (["id", "chat_id", "operator_id", "created_at"], offers))
        await self._copy(db, "read_marker", (["id", "chat_id", "operator_id", "last_read_message_id"], markers))

    async def _copy_messages(self, db: asyncpg.Connection, rows: list[tuple]) -> None:
        if rows:
            await db.copy_records_to_table("message", records=rows, columns=[
                "id", "chat_id", "author_kind", "author_id", "text", "silent", "created_at", "edited_at", "deleted"])


async def bench_operator_ids(url: str) -> dict[int, int]:
    """List size (10, 50, 100) -> operator id, as seeded."""
    db = await asyncpg.connect(url, timeout=10)
    try:
        rows = await db.fetch("SELECT id, name FROM operator WHERE email LIKE 'bench%@bench.openchannels'")
    finally:
        await db.close()
    by_name = {r["name"]: r["id"] for r in rows}
    return {size: by_name[name] for name, size in BENCH_OPERATORS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.seed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every row count (default 1.0)")
    parser.add_argument("--reseed", action="store_true", help="drop and rebuild even when a seed is there")
    parser.add_argument("--database", default="", help="the database's name (default openchannels_bench_<scale>)")
    args = parser.parse_args(argv)
    print(asyncio.run(ensure_seeded(args.scale, reseed=args.reseed, database=args.database)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
