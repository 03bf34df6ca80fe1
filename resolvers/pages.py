"""Pages the resolvers return: each row with its cursor; and the largest page of each list."""
from __future__ import annotations

from services.common.pagination import MAX_PAGE_SIZE, Page, encode_cursor
from services.messaging.feed import MAX_PAGE as MAX_FEED_PAGE
from services.messaging.gifs import MAX_LIMIT as MAX_GIFS

# Page: what a connection's resolver returns (the schema's connections keep it).
# MAX_PAGE_SIZE (a connection), MAX_FEED_PAGE (`feed`), MAX_GIFS (`searchGifs`): the largest pages
# the services give, checked before execution by the query limits (schema/limits.py)
__all__ = ["MAX_FEED_PAGE", "MAX_GIFS", "MAX_PAGE_SIZE", "Page", "with_cursors"]


def with_cursors(page: Page) -> Page:
    """The page with its rows' cursors: a keyset page has them already; an offset page
    (services/common/pagination.paginate) gets each row's id cursor."""
    if page.cursors is None:
        page.cursors = [encode_cursor(row.id) for row in page.rows]
    return page
