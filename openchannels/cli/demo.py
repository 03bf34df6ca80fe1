"""`serve --demo`: demo data on an empty database, and the tokens to try it with."""
from __future__ import annotations

from typing import Any

from openchannels.cli.console import PROG, say
from openchannels.cli.database_session import database
from infrastructure.settings import Settings
from models import Operator
from services.identity.auth import issue_token
from services.demo import ADMIN_EMAIL, ADMIN_PASSWORD, seed_demo
from resolvers.ids import to_global_id  # the API's ids are opaque global ids


async def prepare_demo(settings: Settings) -> dict[str, Any]:
    """Seed on an empty database; otherwise a fresh token for the demo admin, if there is one."""
    async with database(settings):
        if not await Operator.exists():
            return {"seeded": True, **await seed_demo()}
        admin = await Operator.get_or_none(email=ADMIN_EMAIL)
        if admin is None:
            return {"seeded": False}
        return {"seeded": False, "admin": {"id": admin.id, "name": admin.name, "email": admin.email,
                                           "role": admin.role.value, "password": ADMIN_PASSWORD,
                                           "token": await issue_token(admin.id)}}


def print_demo(demo: dict[str, Any], url: str) -> None:
    admin = demo.get("admin")
    if demo["seeded"]:
        say("demo data created (on an empty database only: `serve --demo` never seeds twice)")
    elif admin:
        say("the database already has operators: demo data not seeded again; a new token for the demo admin:")
    else:
        say(f"the database already has operators: demo data not seeded; get a token with `{PROG} create-operator`")
        return
    assert admin is not None  # seeded data has its admin
    say("")
    say(f"admin token: {admin['token']}")
    say(f"  {admin['name']} <{admin['email']}>, ADMIN, password {admin['password']}")
    if demo["seeded"]:
        supervisor = demo["supervisor"]
        say(f"supervisor token: {supervisor['token']}")
        say(f"  {supervisor['name']} <{supervisor['email']}>, SUPERVISOR, password {supervisor['password']}")
        say("operator tokens:")
        for person in demo["operators"]:
            say(f"  {person['token']}  {person['name']} <{person['email']}>, password {person['password']}")
        say("open channels (GraphQL id):")
        for channel in demo["open_channels"]:
            say(f"  {to_global_id('OpenChannel', channel['id'])}  {channel['name']} "
                f"({channel['distribution']}, {len(channel['operator_ids'])} operators)")
        say("chats (GraphQL id):")
        for chat in demo["chats"]:
            say(f"  {to_global_id('Chat', chat['id'])}  {chat['title']}: {chat['status']}")
        visitor = demo["visitor"]
        say(f"visitor token ({visitor['name']}'s chat): {visitor['token']}")
    say("")
    say("in GraphiQL, under Headers:  {\"Authorization\": \"Bearer " + admin["token"] + "\"}")
    say("or with curl:")
    say(f"  curl -s {url} -H 'Authorization: Bearer {admin['token']}' -H 'Content-Type: application/json' \\")
    say("    -d '{\"query\": \"{ me { operator { name role } } openChannels { id name queueLength } }\"}'")
    say("")
