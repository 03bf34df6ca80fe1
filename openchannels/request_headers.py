"""A request's headers as one dict, made once per request and kept in its scope.

Why: Starlette's `request.headers.get(name)` walks the raw header list for every lookup (a Python
loop over the pairs, the name lowered and encoded each time), and a GraphQL request over HTTP
looked up five headers that way on the way to its resolver (the media type it accepts, its
content type twice, its token, its forwarded address).

What: `request_headers(scope)` gives {name: value}, names in lower case as the ASGI server gives
them, values decoded as Latin-1 as Starlette decodes them; where a name repeats, the first value,
as `Headers.get` gives it. Made at the first lookup, in BodyLimits (the innermost middleware:
its content length and type; nothing after it changes the request's headers).
"""
from __future__ import annotations

from typing import Any, MutableMapping

#: the scope's key of the dict (ASGI lets an application keep its own keys in the scope)
_KEY = "openchannels.request_headers"


def request_headers(scope: MutableMapping[str, Any]) -> dict[str, str]:
    found = scope.get(_KEY)
    if found is None:
        # reversed: where a name repeats, the first value is the one kept (Starlette's Headers.get)
        found = scope[_KEY] = {name.decode("latin-1"): value.decode("latin-1")
                               for name, value in reversed(scope["headers"])}
    return found
