"""Events are typed records (issue #16): outside the place that makes records of the broker's wire
form (services/events/) and the broker itself (infrastructure/), no code reads an event as an
untyped dict (`item.get("kind")`, `wire["queue_kind"]`): it calls `record_of_wire` / `record_of_row`
and reads `EventRecord`'s fields."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: where the wire form is made and read: the records, the subscriptions' boundary, the broker
ALLOWED_FOLDERS = ("services/events/", "infrastructure/")
#: the keys of an event's wire form (services/events/records.py EventRecord.to_wire) that name an event's
#: content; "kind" alone is in other dicts too, so only a comparison of it counts
EVENT_KEYS = "queue_kind|chat_kind|operator_ids|removed_operator_ids|actor_id|visitor_visible"
READS = re.compile(
    rf"""[\w)\]]\[\s*"({EVENT_KEYS})"\s*\]"""  # item["queue_kind"]
    rf"""|\.get\(\s*"({EVENT_KEYS})"\s*[,)]"""  # item.get("queue_kind")
    r"""|(\[\s*"kind"\s*\]|\.get\(\s*"kind"\s*\))\s*(==|!=|in\b)"""  # item.get("kind") == "OPERATOR_PRESENCE"
)


def offenders() -> list[str]:
    found = []
    for folder in ("services", "resolvers", "schema", "openchannels"):
        for path in (ROOT / folder).rglob("*.py"):
            name = str(path.relative_to(ROOT))
            if name.startswith(ALLOWED_FOLDERS):
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if READS.search(line):
                    found.append(f"{name}:{number}: {line.strip()}")
    return found


def test_no_event_is_read_as_an_untyped_dict_outside_the_wire_form():
    assert offenders() == [], "read events through services.events.records.record_of_wire / record_of_row"


def test_the_check_sees_an_untyped_read():
    assert READS.search('if item.get("kind") == "OPERATOR_PRESENCE":')
    assert READS.search('elif item.get("queue_kind") is not None:')
    assert READS.search('ids = wire["removed_operator_ids"]')
    assert not READS.search('on_conflict=["kind", "chat_id"]')
    assert not READS.search('kind = event.queue_kind')
