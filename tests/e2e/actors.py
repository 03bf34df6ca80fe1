"""The people of a scenario, acting over the HTTP API as a real client would.

`Admin` creates operators and open channels; `Operator` answers, writes and finishes chats;
`Visitor` starts a chat from the public widget and writes in it. Each call goes through
`POST /graphql` with the actor's bearer token; a mutation helper asserts the payload has no
userErrors (use `call` to look at failures).
"""
from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

_sequence = itertools.count(1)
_RUN = uuid.uuid4().hex[:8]

CHAT_FIELDS = "id status operator { id } offeredTo { id } participants { id } closedAt"
MESSAGE_FIELDS = "id text silent authorKind"
USER_ERRORS = "userErrors { code field message }"

QUEUE_CHANGED = """
subscription ($ids: [ID!], $after: String) {
  queueChanged(openChannelIds: $ids, after: $after) {
    eventId kind queueLength chat { id status operator { id } } openChannel { id }
  }
}"""

CHAT_EVENTS = f"""
subscription ($chatId: ID!, $after: String) {{
  chatEvents(chatId: $chatId, after: $after) {{
    eventId kind chat {{ id status }} message {{ {MESSAGE_FIELDS} }}
  }}
}}"""

VISITOR_CHAT_EVENTS = f"""
subscription ($after: String) {{
  visitorChatEvents(after: $after) {{
    eventId kind chat {{ id status }} message {{ {MESSAGE_FIELDS} }}
  }}
}}"""


def unique(prefix: str) -> str:
    return f"{prefix}-{_RUN}-{next(_sequence)}"


def error_codes(body: dict[str, Any]) -> list[str | None]:
    """extensions.code of each top-level error of a GraphQL response."""
    return [(e.get("extensions") or {}).get("code") for e in body.get("errors") or []]


class GraphQLHttp:
    """POST /graphql on one server."""

    def __init__(self, client: httpx.AsyncClient, url: str) -> None:
        self.client = client
        self.url = url

    async def post(self, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        answer = await self.client.post(self.url, json={"query": query, "variables": variables or {}},
                                        headers=headers)
        assert answer.status_code == 200, f"{answer.status_code}: {answer.text}"
        return answer.json()


@dataclass
class Actor:
    http: GraphQLHttp
    token: str | None

    async def call(self, query: str, **variables: Any) -> dict[str, Any]:
        """The whole response (data and errors)."""
        return await self.http.post(query, variables, self.token)

    async def data(self, query: str, **variables: Any) -> dict[str, Any]:
        body = await self.call(query, **variables)
        assert not body.get("errors"), body
        return body["data"]

    async def mutate(self, field: str, selection: str, input: dict[str, Any], input_type: str) -> dict[str, Any]:
        """Run `field(input:)`; assert it succeeded; return the payload."""
        body = await self.call(
            f"mutation ($input: {input_type}!) {{ {field}(input: $input) {{ {selection} {USER_ERRORS} }} }}",
            input=input,
        )
        assert not body.get("errors"), body
        payload = body["data"][field]
        assert payload["userErrors"] == [], payload
        return payload

    async def chat(self, chat_id: str) -> dict[str, Any] | None:
        query = f"query ($id: ID!) {{ chat(id: $id) {{ {CHAT_FIELDS} }} }}"
        return (await self.data(query, id=chat_id))["chat"]


@dataclass
class Operator(Actor):
    id: str = ""
    email: str = ""

    async def set_status(self, status: str) -> None:
        await self.mutate("setStatus", "operator { id status }", {"status": status}, "SetStatusInput")

    async def answer(self, chat_id: str) -> dict[str, Any]:
        return (await self.mutate("answerChat", f"chat {{ {CHAT_FIELDS} }}", {"chatId": chat_id}, "ChatInput"))["chat"]

    async def send(self, chat_id: str, text: str, *, silent: bool = False) -> dict[str, Any]:
        payload = await self.mutate("sendMessage", f"message {{ {MESSAGE_FIELDS} }}",
                                    {"chatId": chat_id, "text": text, "silent": silent}, "SendMessageInput")
        return payload["message"]

    async def finish(self, chat_id: str) -> dict[str, Any]:
        return (await self.mutate("finishChat", f"chat {{ {CHAT_FIELDS} }}", {"chatId": chat_id}, "ChatInput"))["chat"]

    async def chat_with_messages(self, chat_id: str) -> dict[str, Any] | None:
        """The chat and every message in it, as this operator sees them."""
        query = (f"query ($id: ID!) {{ chat(id: $id) {{ {CHAT_FIELDS} "
                 f"messages(first: 100) {{ totalCount edges {{ node {{ {MESSAGE_FIELDS} }} }} }} }} }}")
        return (await self.data(query, id=chat_id))["chat"]


@dataclass
class Admin(Operator):
    async def create_operator(self, name: str | None = None, *, role: str = "OPERATOR",
                              status: str = "ONLINE") -> Operator:
        """A new operator (createOperator with a password), signed in with `login`, in `status`."""
        name = name or unique("Operator")
        email = f"{name.lower().replace(' ', '-')}@e2e.test"
        password = f"pw-{uuid.uuid4().hex}"
        created = await self.mutate("createOperator", "operator { id email role }",
                                    {"name": name, "email": email, "role": role, "password": password},
                                    "CreateOperatorInput")
        signed_in = await Actor(self.http, None).mutate(
            "login", "token operator { id }", {"email": email, "password": password}, "LoginInput")
        assert signed_in["operator"]["id"] == created["operator"]["id"]
        operator = Operator(self.http, signed_in["token"], id=created["operator"]["id"], email=email)
        if status != "OFFLINE":
            await operator.set_status(status)
        return operator

    async def create_open_channel(self, members: list[Operator], *, distribution: str = "ALL",
                                  name: str | None = None) -> str:
        payload = await self.mutate(
            "createOpenChannel", "openChannel { id operators { id } }",
            {"name": name or unique("Channel"), "distribution": distribution, "operatorIds": [m.id for m in members]},
            "CreateOpenChannelInput",
        )
        assert [o["id"] for o in payload["openChannel"]["operators"]] == [m.id for m in members]
        return payload["openChannel"]["id"]


@dataclass
class Visitor(Actor):
    chat_id: str = ""

    async def send(self, text: str) -> dict[str, Any]:
        payload = await self.mutate("sendVisitorMessage", f"message {{ {MESSAGE_FIELDS} }}", {"text": text},
                                    "SendVisitorMessageInput")
        return payload["message"]

    async def own_chat(self) -> dict[str, Any] | None:
        """visitorChat with every message the visitor may read."""
        query = (f"{{ visitorChat {{ id status lastMessage {{ {MESSAGE_FIELDS} }} "
                 f"messages(first: 100) {{ totalCount edges {{ node {{ {MESSAGE_FIELDS} }} }} }} }} }}")
        return (await self.data(query))["visitorChat"]


async def start_visitor_chat(http: GraphQLHttp, open_channel_id: str, text: str = "Hello, I need help",
                             name: str | None = None) -> Visitor:
    """The public widget: no token; returns the visitor with their token and chat."""
    payload = await Actor(http, None).mutate(
        "startVisitorChat", "visitorToken chat { id status }",
        {"openChannelId": open_channel_id, "name": name or unique("Guest"), "text": text}, "StartVisitorChatInput",
    )
    assert payload["chat"]["status"] == "QUEUED", payload
    return Visitor(http, payload["visitorToken"], chat_id=payload["chat"]["id"])


def texts(chat: dict[str, Any]) -> list[str]:
    return [edge["node"]["text"] for edge in chat["messages"]["edges"]]
