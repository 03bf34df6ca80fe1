"""The server with faults planted, for the tests of what a client sees when something fails
that nobody expected (`uvicorn --factory tests.e2e.faulty_app:create_app`).

- the `me` query raises (services.operators.get_me);
- the `myChatsChanged` subscription raises inside its generator, once it has started
  (services.subscriptions.my_chat_list_events);
- a response with a field aliased `unencodable` cannot be encoded (GraphQLApp.encode_json), on
  HTTP and on the WebSockets alike.

Every fault's message contains FAULT, so a test finds its traceback in the server's log.
"""
from __future__ import annotations

from typing import Any

FAULT = "planted fault"
#: an alias whose presence makes the response impossible to encode
UNENCODABLE = "unencodable"


def create_app() -> Any:
    from openchannels import app
    from services.chats import operators
    from services.events import subscriptions

    async def get_me(viewer: Any) -> Any:
        raise RuntimeError(f"{FAULT} in the me query")

    async def my_chat_list_events(viewer: Any, after: str | None = None) -> Any:
        raise RuntimeError(f"{FAULT} in the myChatsChanged generator")
        yield  # an async generator, as the real one

    encode_json = app.GraphQLApp.encode_json

    def refusing_encode_json(self: Any, data: object) -> bytes:
        encoded = encode_json(self, data)
        if f'"{UNENCODABLE}"'.encode() in encoded:
            raise TypeError(f"{FAULT}: this response cannot be encoded")
        return encoded

    operators.get_me = get_me
    subscriptions.my_chat_list_events = my_chat_list_events
    app.GraphQLApp.encode_json = refusing_encode_json
    return app.create_app()
