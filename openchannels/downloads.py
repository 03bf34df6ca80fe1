"""GET /files/{id}: an attachment's bytes, to whoever may read its message.

Either `Authorization: Bearer <token>` (operators, or a visitor's token) or a signed link
(`?expires=...&signature=...`, what `Attachment.url` gives a visitor). Anything else, or a
file the caller may not read, is 404: the existence of a file is not disclosed.
"""
from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from services.messaging import files
from services.identity.auth import authenticate
from services.common.errors import DomainError
from infrastructure.file_storage import ByteStream

#: shown in the browser; everything else is downloaded
_INLINE = {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "audio/mpeg", "audio/ogg",
           "video/mp4"}


async def download_file(request: Request) -> Response:
    attachment_id = request.path_params["attachment_id"]
    platform = request.app.state.platform
    try:
        if "signature" in request.query_params:
            attachment = await files.attachment_by_signed_link(
                platform.files, attachment_id, request.query_params.get("expires", ""),
                request.query_params["signature"])
        else:
            viewer = await authenticate(request.headers.get("authorization"), trusted=platform.tokens)
            attachment = await files.readable_attachment(viewer, attachment_id)
        stream = await files.open_stored(platform.files.storage, attachment)
    except (DomainError, FileNotFoundError):
        return PlainTextResponse("Not found", status_code=404)
    disposition = "inline" if attachment.content_type in _INLINE else "attachment"
    content_type = attachment.content_type + ("; charset=utf-8" if attachment.content_type == "text/plain" else "")
    return StoredFileResponse(stream, media_type=content_type, headers={
        "Content-Length": str(attachment.size),
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(attachment.name)}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, max-age=300",
    })


class StoredFileResponse(StreamingResponse):
    """The stored chunks sent as they are read (never the whole file in memory); the stream is
    closed however the response ends (sent, client gone, error), so an S3 connection goes back
    to its pool at once rather than when the garbage collector gets to it."""

    def __init__(self, stream: ByteStream, **kwargs) -> None:
        super().__init__(stream, **kwargs)
        self.stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.stream.aclose()
