"""The kinds events are stored and delivered with (services/events/records.py), for the schema's
enums to wrap (schema/enums.py): one definition, so a kind a service records is one the schema shows."""
from __future__ import annotations

from services.events.records import ChatEventKind, QueueEventKind

__all__ = ["ChatEventKind", "QueueEventKind"]
