"""Full-text search over message texts: `searchMessages`, `Client.messages(search:)` and the
conversations filter `search`.

The words of a query are matched with the database's own full-text search (services/
search_index.py): PostgreSQL `tsvector` (English stemming, or the `simple` configuration for
exact words in any language, both stored in columns of `message`) and SQLite FTS5. Every word
must occur (AND). Results are ranked (`ts_rank` / `bm25`), only in chats the viewer may see,
and silent notes only for operators.

Ranking is exact when a search has at most `RANKED_NEWEST` matches. Beyond that, the newest
`RANKED_NEWEST` matches come first, best match first, then the older matches, newest first:
ranking every match of a frequent word would read every matching row (time in proportion to
the matches: hundreds of ms at two million messages), while the newest matches are found by
walking back from the newest message or from the indexes. The first page pins the id of the
oldest ranked match (the "floor") in its cursors, so later pages keep the same order when
messages arrive meanwhile. The first page is one statement (which finds the newest id itself)
when the newest messages hold `RANKED_NEWEST` matches (`_first_page`): it finds them, ranks
them and tells their floor.

A query is reduced to its words (letters, digits, underscore) before it reaches SQL, so the
inlined search literal can hold no quote and no operator.
"""
from __future__ import annotations

import dataclasses

import logging
import re
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from pypika_tortoise.terms import Parameterizer
from tortoise.exceptions import OperationalError
from tortoise.filters import escape_like
from tortoise.expressions import RawSQL, Subquery
from tortoise.queryset import QuerySet

from models import Chat, Message
from services.chats.read_models import MessageRow
from services.common.model_rows import model_of_row
from services.common.read_models import model_reader
from services.policies import messages as message_policy
from services.common.errors import InvalidInput
from services.common.numerals import MAX_PK, parse_numeral
from services.common.pagination import (Keyset, Page, encode_keyset_cursor, keyset_name_of, keyset_page, keyset_window,
                                        paginate_keyset)
from services.contact_center.search_index import LANGUAGE, LANGUAGE_COLUMN, POSTGRES_COLUMNS, SIMPLE_COLUMN, ensure_search_index
from services.common.text_input import text_input, SEARCH_LENGTH
from services.common.transactions import default_connection

log = logging.getLogger("openchannels.search")

MAX_WORDS = 16
#: how many of the newest matches are ordered by rank (all of them when there are no more)
RANKED_NEWEST = 1000
#: the sort key of the older matches, below every rank (ts_rank and -bm25 are positive)
UNRANKED = -1
#: how many of the newest messages are searched, in turn, for the RANKED_NEWEST newest matches (PostgreSQL): by
#: the first page's statements (`_first_page`), then, when they find fewer, every match (`_floor`)
FLOOR_WINDOWS = (1 << 16, 1 << 18)

_ready: "weakref.WeakSet" = weakref.WeakSet()


async def ensure_ready() -> None:
    """The index exists on this connection (checked once per connection object)."""
    connection = default_connection()
    if connection not in _ready:
        await ensure_search_index(connection)
        _ready.add(connection)


def words_of(text: str | None) -> list[str]:
    return re.findall(r"\w+", (text or "").lower())[:MAX_WORDS]


def _dialect() -> str:
    return default_connection().capabilities.dialect


def _tsquery(config: str, words: list[str]) -> str:
    return f"plainto_tsquery('{config}', '{' '.join(words)}')"


def _fts5_query(words: list[str]) -> str:
    return " ".join(f'"{w}"' for w in words)


def match_sql(words: list[str]) -> str:
    """A condition on the `message` row: the message text holds every word.

    On PostgreSQL: the words' stems in the LANGUAGE vector or the words themselves in the `simple` one, asked as one
    of the two. A text word that is a query word in `simple` has that word's stem in LANGUAGE, so the `simple` vector
    adds a match only when LANGUAGE drops every word of the query (stop words: "the", "no"). `numnode` of the
    constant query is computed when the statement is planned: the condition left is a single test (one GIN index,
    one vector tested per row walked) instead of two, the second of which every row without the words paid."""
    if _dialect() == "postgres":
        stems, exact = _tsquery(LANGUAGE, words), _tsquery("simple", words)
        return (f"(numnode({stems}) > 0 AND \"message\".\"{LANGUAGE_COLUMN}\" @@ {stems}) OR "
                f"(numnode({stems}) = 0 AND \"message\".\"{SIMPLE_COLUMN}\" @@ {exact})")
    return f"\"message\".\"id\" IN (SELECT rowid FROM message_fts WHERE message_fts MATCH '{_fts5_query(words)}')"


def rank_sql(words: list[str]) -> str:
    """How well the message matches: higher is better."""
    if _dialect() == "postgres":
        return "GREATEST(" + ", ".join(
            f"ts_rank(\"message\".\"{column}\", {_tsquery(config, words)})"
            for column, config in POSTGRES_COLUMNS.items()
        ) + ")"
    return (f"COALESCE((SELECT -bm25(message_fts) FROM message_fts WHERE message_fts MATCH '{_fts5_query(words)}' "
            f"AND rowid = \"message\".\"id\"), 0)")


def holding_words(query: QuerySet[Message], words: list[str]) -> QuerySet[Message]:
    """`query` narrowed to messages whose text holds every word, tested on the row itself."""
    # `(condition) = TRUE` (a literal, not a parameter), which PostgreSQL simplifies to the condition and answers from the GIN
    # indexes; wrapped in CASE WHEN it read every message (444 ms instead of 15 ms at --scale 0.05)
    return query.annotate(hit=RawSQL(f"({match_sql(words)})")).filter(hit=RawSQL("TRUE"))


def matching_messages(words: list[str]) -> QuerySet[Message]:
    """Messages (not deleted) whose text holds every word."""
    return holding_words(Message.filter(deleted=False), words)


def chats_matching_sql(text: str, param: Callable[[Any], str]) -> str:
    """A condition on a chat aliased `c` (services/contact_center/conversations.py's statement): its title or
    its client's name contains the text (any case, `%` and `_` taken literally), or one of its
    messages holds every word of it (silent notes count: the conversations list is for
    operators). Tested on each chat the list walks, not first over every chat: as a subquery of
    matching chat ids it took 320 ms instead of 180 at 200,000 chats."""
    text = text.strip()
    like = param(f"%{escape_like(text)}%")
    contains = "UPPER({column}) LIKE UPPER(" + like + ") ESCAPE '\\'"
    conditions = [contains.format(column="c.title"),
                  f"c.client_id IN (SELECT cl.id FROM client cl WHERE {contains.format(column='cl.name')})"]
    words = words_of(text)
    if words:
        conditions.append(f"c.id IN (SELECT chat_id FROM message WHERE deleted = {param(False)} "
                          f"AND ({match_sql(words)}) = TRUE)")
    return "(" + " OR ".join(conditions) + ")"


def visible_messages(viewer) -> QuerySet[Message]:
    """Messages in chats the viewer may see; never a silent note for a visitor (services/policies/messages.py)."""
    return message_policy.readable_messages(viewer)


@dataclass(frozen=True)
class MessageSearchFilter:
    chat_id: int | None = None
    client_id: int | None = None
    open_channel_ids: list[int] | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


def _narrow(query: QuerySet[Message], f: MessageSearchFilter) -> QuerySet[Message]:
    if f.chat_id is not None:
        query = query.filter(chat_id=f.chat_id)
    if f.client_id is not None:
        query = query.filter(chat_id__in=Subquery(Chat.filter(client_id=f.client_id).values("id")))
    if f.open_channel_ids is not None:
        query = query.filter(chat_id__in=Subquery(Chat.filter(open_channel_id__in=f.open_channel_ids).values("id")))
    if f.created_from is not None:
        query = query.filter(created_at__gte=f.created_from)
    if f.created_to is not None:
        query = query.filter(created_at__lt=f.created_to)
    return query


@text_input(query=SEARCH_LENGTH, after=SEARCH_LENGTH, before=SEARCH_LENGTH)
async def search_messages(
    viewer, *, query: str, filter: MessageSearchFilter | None = None, first: int | None = None,
    after: str | None = None, last: int | None = None, before: str | None = None, with_total: bool = True,
) -> Page[MessageRow]:
    """Messages holding every word of `query` (as read models, services/chats/read_models.py), best
    match first (ties: newest first); without `with_total` the count of every match waits for
    `Page.count_total`."""
    words = words_of(query)
    if not words:
        raise InvalidInput("Give at least one word to search for.", field=["query"])
    await ensure_ready()
    scope = _narrow(visible_messages(viewer), filter or MessageSearchFilter()).filter(deleted=False)
    hits = holding_words(scope, words)
    cursor = after if after is not None else before
    if cursor is None and last is None:
        page = await _first_page(scope, hits, words, first=first, with_total=with_total)
        if page is not None:
            return _as_rows(page)
    if cursor is not None:
        floor = _pinned_floor(cursor)
    else:  # a first page the windows could not tell (they are not looked at again), or a `last` page
        floor = await _floor(hits, FLOOR_WINDOWS if last is not None else ())
    rows = hits.annotate(rank=RawSQL(_key_sql(words, floor)))
    if cursor is None and last is None:
        # the first page lies among the ranked matches (every match, or RANKED_NEWEST of them, more than the largest
        # page): only the messages from the floor on are read, and only they are ranked
        # `(SELECT floor)`, not the number: knowing the range, PostgreSQL parsed every text in it rather than
        # intersect it with the GIN bitmap (before the stored vectors)
        rows = rows.filter(id__gte=RawSQL(f"(SELECT {int(floor)})"))
    return _as_rows(await paginate_keyset(rows, _keyset(floor), first=first, after=after, last=last, before=before,
                                          count=hits, with_total=with_total))


#: the message's chat, a column of the page's statement on PostgreSQL (a row of `chat`, which asyncpg decodes with the
#: column types): PostgreSQL evaluates a sub-select of the select list after the sort and LIMIT, once per row of the
#: page (21 index lookups for `first: 20`), where a join (`select_related`) looked up the chat of each of the 1,000
#: ranked matches before ranking them (about 3,000 more buffer reads than the page itself needs)
CHAT_ROW = '(SELECT c FROM "chat" c WHERE c."id" = "message"."chat_id")'


def _chat_of(message: Message) -> Chat | None:
    """The chat the page's statement read with the message (`CHAT_ROW`, or `select_related` on SQLite), if it did."""
    row = message.__dict__.get("chat_row")
    if row is not None:
        return model_of_row(Chat)(row)
    if _dialect() == "postgres":
        return None
    chat = message.chat  # the related chat once fetched (else a query, not run here)
    return chat if isinstance(chat, Chat) else None


def _as_rows(page: Page[Message]) -> Page[MessageRow]:
    """The page with its messages as read models (its cursors, made from their ranks, are kept), and the chat of each
    when the statement read it (`Page.relations`: message id -> {"chat": the chat})."""
    relations = {message.id: {"chat": chat} for message in page.rows if (chat := _chat_of(message)) is not None}
    return dataclasses.replace(page, rows=[_read_message(message) for message in page.rows],  # type: ignore[return-value]  # the same page, other rows
                               relations=relations)


_read_message = model_reader(MessageRow)


async def _first_page(scope: QuerySet[Message], hits: QuerySet[Message], words: list[str], *, first: int | None,
                      with_total: bool) -> Page[Message] | None:
    """The first page from the newest matches, ranked (`_ranked_page`): on PostgreSQL in the newest FLOOR_WINDOWS
    messages in turn; None when even the largest window holds fewer than RANKED_NEWEST matches and older messages
    exist (`search_messages` then finds the floor among every match first). `hits` are the matches in `scope`.

    In the first window the matches are found by walking back from the newest message and testing each row's stored
    vector: a frequent word's thousand newest matches lie within a few thousand rows, and at worst the walk tests the
    window (65,536 rows: about 15 ms). The test is written so that no index can answer it: the planner's estimate of
    how many messages hold several words is far too low when the words come together ("discount code": 13 times
    too low), and it then read every match from the GIN bitmap (71,000 of them, 180 ms) instead. The later windows,
    reached when the newest messages hold few matches (a rarer word, or a burst of messages without it), leave the
    planner the choice: knowing the range, it walks it for a word its statistics call frequent and intersects the
    GIN bitmap with it for a rarer one; when the first window held no match at all, they start below it.

    Why the first window is walked rather than left to the planner with its bound as a number (tried for issue #18 at
    full size, 1.92M messages, all cached; EXPLAIN (ANALYZE, BUFFERS) and medians of repeated runs): the GIN bitmap
    costs about 0.2 us per match in the whole table, whatever the window (72,000 for 'refund': 14 ms), the walk
    0.3-0.6 us per row walked (and up to a buffer per row once concurrent writers scattered the newest rows). Left
    free, the planner walked for 'refund', 'parcel', 'invoice', 'order' and 'the', as here, but intersected for
    'discount code': 41-48 ms for the page against 22-27 for the walk; it won for words under about 3 % of the
    messages ('fraud': 18-19 ms against 38-49). Intersecting the newest 65,536 ids with the bitmap was slower than
    the walk for every bench word: 'refund' 27 ms against 19, 'invoice' 28 against 6, 'order' 74-95 against 4-7,
    'the' 113-152 against 2. A bound or a LIMIT that is a parameter is not known to the planner for long either:
    after five runs of a statement on a connection PostgreSQL may keep one plan for every value (a "generic plan":
    'fraud' in the newest 65,536 then walked 7,895 buffers instead of reading 1,902 through the bitmap)."""
    if _dialect() != "postgres":
        return (await _ranked_page(hits, hits, words, first=first, with_total=with_total))[0]
    walked = scope.annotate(hit=RawSQL(f"({match_sql(words)}) IS TRUE")).filter(hit=RawSQL("TRUE"))
    page, found = await _ranked_page(walked, hits, words, first=first, with_total=with_total,
                                     above=f'(SELECT MAX("id") FROM "message") - {FLOOR_WINDOWS[0]}')
    if page is not None:
        return page
    newest = cast(int | None, await Message.all().order_by("-id").first().values_list("id", flat=True))
    if newest is None:
        return None
    for window in FLOOR_WINDOWS[1:]:
        page, _ = await _ranked_page(hits, hits, words, first=first, with_total=with_total, above=newest - window,
                                     upto=None if found else newest - FLOOR_WINDOWS[0])
        if page is not None:
            return page
    return page


async def _ranked_page(candidates: QuerySet[Message], hits: QuerySet[Message], words: list[str], *,
                       first: int | None, with_total: bool, above: int | str | None = None,
                       upto: int | None = None) -> tuple[Page[Message] | None, bool]:
    """The first page in one statement: the RANKED_NEWEST newest `candidates` (the matches) with an id above `above`
    (a number, or an SQL expression worked out by the statement itself; and at most `upto`), ranked, with their count
    and their oldest id (the floor) as window functions. The page is None when that cannot tell it (older messages
    are left out, and fewer than RANKED_NEWEST matches are in); the flag tells whether any match was found. Only
    those matches are ranked (on PostgreSQL the rows the walk found, `_ranked_newest_page`; on SQLite read again by
    primary key), instead of a second search for every match above the floor. The total is the count of `hits`."""
    newest, whole = candidates, "TRUE"
    if above is not None:
        bound = f"({above})" if isinstance(above, str) else str(int(above))
        newest = candidates.filter(id__gt=RawSQL(bound) if isinstance(above, str) else int(above))
        whole = f'(SELECT MIN("id") FROM "message") > {bound}'
    if upto is not None:
        newest = newest.filter(id__lte=int(upto))
    page: Page[Any]
    if _dialect() == "postgres":
        page = await _ranked_newest_page(newest, words, whole, first=first)
    else:
        ranked = Message.filter(id__in=Subquery(newest.order_by("-id").limit(RANKED_NEWEST).values("id"))).annotate(
            rank=RawSQL(rank_sql(words)), ranked_count=RawSQL("COUNT(*) OVER ()"),
            ranked_floor=RawSQL('MIN("message"."id") OVER ()'), ranked_whole=RawSQL(whole)).select_related("chat")
        page = await paginate_keyset(ranked, _keyset(0), first=first, with_total=False)
    if not page.rows:  # nothing in the range (or `first: 0`): the floor is unknown, unless every match was seen
        complete = above is None and upto is None
        return (await _counted(page, hits, with_total=with_total) if complete else None), bool(page.has_next_page)
    row = page.rows[0]
    if row.ranked_count < RANKED_NEWEST and (upto is not None or not row.ranked_whole):
        return None, True  # older messages may hold older ranked matches (or newer ones were left out)
    floor = row.ranked_floor if row.ranked_count >= RANKED_NEWEST else 0
    page.cursors = [encode_keyset_cursor(_keyset(floor), row.rank, row.id) for row in page.rows]
    return await _counted(page, hits, with_total=with_total), True


#: the columns of a ranked match besides the message's own (`_ranked_newest_page`)
RANKED_COLUMNS = ("rank", "ranked_count", "ranked_floor", "ranked_whole", "chat_row")


async def _ranked_newest_page(newest: QuerySet[Message], words: list[str], whole: str, *,
                              first: int | None) -> Page[Any]:
    """`_ranked_page`'s statement on PostgreSQL: the RANKED_NEWEST newest of `newest` as a derived table, each ranked
    as it is found, then ordered by rank. The walk has read each match's row already (to test its vector), so the
    rows come from it: `id IN (...)` of those ids, as the statement was, looked each of the 1,000 up again by primary
    key (a hash of the ids, then 4,000 buffer reads of the page's 14,000 for 'discount code'; the backend's CPU per
    search 16.0 -> 13.3 ms for 'discount code', 18.0 -> 14.0 'refund', 8.7 -> 4.7 'order', at --scale 1, the same
    rows). Written by hand around Tortoise's statement for the walk: Tortoise selects from a table, not from a
    derived table."""
    window = keyset_window(_keyset(0), first=first)
    walk = Subquery(newest.annotate(rank=RawSQL(rank_sql(words))).order_by("-id").limit(RANKED_NEWEST))
    connection = default_connection()
    parameterizer = Parameterizer()
    context = connection.query_class.SQL_CONTEXT.copy(parameterizer=parameterizer)  # its values as $1, $2, ...
    # SERIAL: no parallel workers, without a transaction for `SET LOCAL`
    statement = (f'SELECT *,COUNT(*) OVER () "ranked_count",MIN("message"."id") OVER () "ranked_floor",'
                 f'{whole} "ranked_whole",{CHAT_ROW} "chat_row",{SERIAL} "serial" '
                 f'FROM ({walk.get_sql(context)}) "message" ORDER BY "rank" DESC,"id" DESC LIMIT {int(window.limit)}')
    _, found = await connection.execute_query(statement, parameterizer.values)
    build, rows = model_of_row(Message), []
    for row in found:  # asyncpg's records, read by column name as a mapping is
        message = build(row)
        message.__dict__.update((column, row[column]) for column in RANKED_COLUMNS)
        rows.append(message)
    return keyset_page(window, rows, None)


#: a column that keeps PostgreSQL from planning parallel workers for the statement that reads it: `current_schema()`
#: is marked PARALLEL UNSAFE, and "if a query contains anything marked PARALLEL UNSAFE, parallel query is disabled
#: entirely for that query" (PostgreSQL's manual, "Parallel Labeling for Functions and Aggregates"). Computed once
#: (a sub-select: an InitPlan). The windows' statements read at most their window, and starting workers took longer
#: than the walk they share (10-20 ms against 5-10 ms on two busy cores); the planner would start them when it cannot
#: tell how far back the walk goes: the first window's statement learns the newest id itself, and the planner takes
#: that unknown bound for a third of the table and, for a word it thinks rare, plans a Gather over the walk
#: (`zzzqqq`, 2M messages: Gather Merge over a Parallel Index Scan Backward). It replaces `SET LOCAL
#: max_parallel_workers_per_gather = 0` in a transaction of its own: three round trips (BEGIN, SET, COMMIT).
SERIAL = "(SELECT current_schema())"


async def _counted(page: Page[Message], hits: QuerySet[Message], *, with_total: bool) -> Page[Message]:
    """The page with the count of every match, or with the count left for `Page.count_total`."""
    page.total_count, page.count_total = (await hits.count(), None) if with_total else (None, hits.count)
    return page


async def _floor(hits: QuerySet[Message], windows: tuple[int, ...] = FLOOR_WINDOWS) -> int:
    """The id of the oldest of the RANKED_NEWEST newest matches, or 0 when there are no more (every match is ranked).

    On PostgreSQL the newest `windows` messages are looked at first: the GIN bitmap of the words is intersected
    with that id range (BitmapAnd), so only the matches in it are read from the table. Over all the matches of a
    frequent word, the table pages of every match were read (tens of thousands). When the window holds fewer than
    RANKED_NEWEST matches, every match is looked at.
    """
    if _dialect() == "postgres":
        for window in windows:
            # a subquery, not the number: with a known range PostgreSQL parsed every text in it (before the stored
            # vectors)
            recent = await _nth_newest(hits.filter(id__gt=RawSQL(f'(SELECT MAX("id") FROM "message") - {window}')))
            if recent:
                return recent
    return await _nth_newest(hits)


async def _nth_newest(hits: QuerySet[Message]) -> int:
    """The RANKED_NEWEST-th newest of `hits`, or 0 when there are fewer.

    Ordered by `id + 0`, not `id`: ordered by the key itself, PostgreSQL may walk the primary key back from the
    newest message, testing each row, until it has enough matches: far slower than reading the matches from the GIN
    bitmap and sorting them when they are rare, and they are here (the first page's window held too few of them, or
    this is a `last` page)."""
    ids = cast(list[int], await (hits.annotate(newest_first=RawSQL('"message"."id" + 0')).order_by("-newest_first")
                                 .offset(RANKED_NEWEST - 1).limit(1).values_list("id", flat=True)))
    return ids[0] if ids else 0


def _key_sql(words: list[str], floor: int) -> str:
    """The sort key: the rank of a match at or above the floor, UNRANKED below it."""
    if not floor:
        return rank_sql(words)
    return f"CASE WHEN \"message\".\"id\" >= {int(floor)} THEN {rank_sql(words)} ELSE {UNRANKED} END"


def _keyset(floor: int) -> Keyset:
    """The order of one search; its name carries the floor into the cursors (`RANK`: every match ranked)."""
    return Keyset(f"RANK>{floor}" if floor else "RANK", "rank", descending=True, kind="float")


def _pinned_floor(cursor: str) -> int:
    """The floor of the search a cursor was made in; 0 for any other cursor, which `_keyset(0)` then rejects
    unless it is a cursor of an all-ranked search."""
    name = keyset_name_of(cursor)
    floor = name[len("RANK>"):] if name is not None and name.startswith("RANK>") else ""
    return parse_numeral(floor, maximum=MAX_PK) or 0


async def search_in(query: QuerySet[Message], text: str | None) -> QuerySet[Message]:
    """`query` narrowed to messages holding every word of `text` (unchanged without words)."""
    words = words_of(text)
    if not words:
        return query
    await ensure_ready()
    return query.filter(id__in=Subquery(matching_messages(words).values("id")))


async def prepare_index() -> None:
    """At start-up: make the index now rather than at the first search. A database whose tables
    are not migrated yet is left alone (the first search makes it)."""
    try:
        await ensure_ready()
    except OperationalError as error:
        log.warning("full-text index not prepared at start-up: %s", error)
