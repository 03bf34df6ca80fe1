"""Who may read a file: an attachment is read with its message (services/policies/messages.py), never
once the message is deleted; before it is sent, only its uploader reads it. Through a signed link
(no viewer: the client's browser), only what the client may read."""
from __future__ import annotations

from models import Attachment, Message
from services.identity.viewer import Viewer
from services.policies import messages


def can_read_in_chat(viewer: Viewer, attachment: Attachment, message: Message | None) -> bool:
    """In a chat the viewer may see: `message` is the attachment's message (None: not sent yet)."""
    if message is None:
        return (attachment.uploaded_by_id is not None and attachment.uploaded_by_id == viewer.operator_id) or \
            (viewer.is_visitor and attachment.uploaded_by_client_id == viewer.client_id)
    return not message.deleted and messages.can_read_text(viewer, silent=message.silent)


def can_read_by_link(attachment: Attachment, message: Message | None) -> bool:
    """What a signed link may serve: the client's own upload, or a file of a message the client reads."""
    if message is None:
        return attachment.uploaded_by_client_id is not None
    return not (message.silent or message.deleted)
