"""What the website widget needs before the visitor's first message: the channel's name and
language (its texts from the first paint), whether it asks for ratings, whether it is open now,
and which contact fields its form shows. Public: who may read them is
services/policies/open_channels.py's `widget_readable`. Nothing else of the channel is in them.
"""
from __future__ import annotations

from dataclasses import dataclass

from models import ContactFields
from services.chats.open_channels import is_open_now
from services.identity.viewer import Viewer
from services.policies import open_channels as policy

#: the columns the one statement reads
_COLUMNS = ("id", "name", "language", "rating_enabled", "contact_fields", "working_hours")


@dataclass(frozen=True, slots=True)
class WidgetSettings:
    open_channel_id: int
    name: str
    language: str
    rating_enabled: bool
    contact_fields: ContactFields
    is_open_now: bool


async def widget_settings(viewer: Viewer, *, open_channel_id: int) -> WidgetSettings | None:
    """The channel's widget settings (one statement), or None for a channel there is none of to
    the viewer: an unknown channel says nothing but that."""
    found = await policy.widget_readable_channels(viewer).filter(id=open_channel_id).first().values(*_COLUMNS)
    if found is None:
        return None
    return WidgetSettings(
        open_channel_id=found["id"], name=found["name"], language=found["language"],
        rating_enabled=bool(found["rating_enabled"]), contact_fields=ContactFields(found["contact_fields"]),
        is_open_now=is_open_now(found["working_hours"]),
    )
