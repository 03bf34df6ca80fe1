"""PostGraphile 4 as a peer of the bench (`python -m bench --peers postgraphile`).

PostGraphile serves a GraphQL API made from a PostgreSQL schema; its own way to apply rules of
visibility is SQL: here a schema `postgraphile_bench` of views (a chat, its client, its
operator, a message) and STABLE SQL functions taking the viewer from the verified JWT's claims
(`current_setting('jwt.claims.operator_id')`, set by PostGraphile per request), exposed as root
query fields and computed columns:

- `conversations()`: the customer chats the viewer may see, newest first (the operator's rule is
  rendered from services/policies/chats.py, the supervisor's roles from `Viewer.is_supervisor`,
  the kind from services/contact_center/conversations.py);
- `myChatsWaitingFirstResponse()` and `myChatsActive()`: the sidebar's two customer groups
  (services/chats/reads.py's statement and grouping);
- `Chat.lastMessage` and `Chat.unreadCount` (the unread count rendered from
  services/chats/chat_relations.py); client and operator through foreign keys of the views.

The functions are LANGUAGE sql, STABLE, not STRICT and without SET clauses, so that PostgreSQL
inlines them into PostGraphile's statement (its LIMIT then reaches the index scan).

PostGraphile is installed with `npm ci` from bench/node/package-lock.json into a cache folder
(reused while it holds that lock) and runs from bench/node/postgraphile_server.js: its library
behind node's http server, production-like options (no GraphiQL, no query log, no watch mode, no
default mutations), a pool as large as the project's.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import asyncpg

from bench.ports import free_port
from bench.servers import REPO_ROOT, Server
from infrastructure.settings import DEFAULT_POOL_SIZE
from models import ChatKind, ChatStatus, OperatorRole
from services.chats.chat_relations import relation_sql
from services.identity.viewer import Viewer
from services.policies.chats import visible_chats_sql

SCHEMA = "postgraphile_bench"
#: what bench/node/package.json asks for (its package-lock.json pins it and every dependency)
PACKAGE = "postgraphile@4.14.1"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "openchannels-bench" / "postgraphile"
#: as the project's (DATABASE_POOL_SIZE's default) and the hand-written endpoint's (bench/baseline.py)
POOL_SIZE = DEFAULT_POOL_SIZE
NODE_DIR = REPO_ROOT / "bench" / "node"
SERVER_JS = NODE_DIR / "postgraphile_server.js"
STARTUP_SECONDS = 60

#: the viewer inside the functions (PostGraphile sets `jwt.claims.<claim>` for the request's transaction)
_ME = f"{SCHEMA}.viewer_id()"
#: the operator id the policy's conditions are rendered for, replaced by `_ME`
_SENTINEL = -918273645


def _viewer_param(value: Any) -> str:
    if value != _SENTINEL:
        raise ValueError(f"a condition with a value other than the viewer's id: {value!r}")
    return _ME


def _operator_rule() -> str:
    """The chats an operator (not a supervisor) may see, on a chat aliased `c`, from the policy."""
    rule = visible_chats_sql(Viewer(operator_id=_SENTINEL, role=OperatorRole.OPERATOR), _viewer_param)
    if rule is None:
        raise RuntimeError("the chat policy lets an operator see every chat: the functions need its rule")
    return rule


def _supervisor_roles() -> str:
    """The roles that see every chat (`Viewer.is_supervisor`), as an SQL list."""
    roles = [role.value for role in OperatorRole if Viewer(operator_id=_SENTINEL, role=role).is_supervisor]
    return ", ".join(f"'{role}'" for role in roles)


def _unread_count() -> str:
    """The operator's unread messages of the chat `c` (services/chats/chat_relations.py's rule)."""
    selected, joins = relation_sql(Viewer(operator_id=_SENTINEL, role=OperatorRole.OPERATOR), {"unread_count"},
                                   _viewer_param)
    suffix = " AS unread_count"
    if joins or not selected.endswith(suffix):
        raise RuntimeError(f"chat_relations' unread count changed shape: {selected!r} {joins!r}")
    return selected[:-len(suffix)]


def schema_sql() -> str:
    """The statements that (re)create the schema PostGraphile is pointed at."""
    customer, active = f"'{ChatKind.CUSTOMER.value}'", f"'{ChatStatus.ACTIVE.value}'"
    omit_table = "@omit create,update,delete,all,many"
    # my chats by id from an array of my participant rows: the planner cannot know the viewer's id
    # when it plans, and `c.id IN (SELECT ...)` (as services/chats/reads.py has it) made it read every
    # ACTIVE chat to join them with a hash of my 50 rows (10 ms where this takes 0.5)
    mine = (f"{SCHEMA}.chat c WHERE c.id = ANY (ARRAY(SELECT chat_id FROM public.chat_participant "
            f"WHERE operator_id = {_ME})) AND c.status = {active} AND c.kind = {customer}")
    grouped = f"(SELECT o.group_waiting_first_response FROM public.operator o WHERE o.id = {_ME})"
    waiting = f"(c.operator_id = {_ME} AND c.first_response_at IS NULL AND {grouped})"
    return f"""
DROP SCHEMA IF EXISTS {SCHEMA} CASCADE;
CREATE SCHEMA {SCHEMA};

CREATE VIEW {SCHEMA}.client AS SELECT id, name FROM public.client;
COMMENT ON VIEW {SCHEMA}.client IS E'@primaryKey id\\n{omit_table}';
CREATE VIEW {SCHEMA}.operator AS SELECT id, name FROM public.operator;
COMMENT ON VIEW {SCHEMA}.operator IS E'@primaryKey id\\n{omit_table}';
CREATE VIEW {SCHEMA}.message AS SELECT id, chat_id, text FROM public.message;
COMMENT ON VIEW {SCHEMA}.message IS E'@primaryKey id\\n{omit_table}';
CREATE VIEW {SCHEMA}.chat AS
  SELECT id, title, kind, status, open_channel_id, client_id, operator_id, created_at, last_activity_at,
         first_response_at
  FROM public.chat;
COMMENT ON VIEW {SCHEMA}.chat IS E'@primaryKey id\\n'
  '@foreignKey (client_id) references {SCHEMA}.client (id)\\n'
  '@foreignKey (operator_id) references {SCHEMA}.operator (id)\\n{omit_table}';

-- the operator of the request's verified JWT
CREATE FUNCTION {SCHEMA}.viewer_id() RETURNS integer LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('jwt.claims.operator_id', true), '')::integer $$;
COMMENT ON FUNCTION {SCHEMA}.viewer_id() IS '@omit execute';

-- Query.conversations: the customer chats the viewer may see, newest first
CREATE FUNCTION {SCHEMA}.conversations() RETURNS SETOF {SCHEMA}.chat LANGUAGE sql STABLE AS $$
SELECT c.* FROM {SCHEMA}.chat c
WHERE c.kind = {customer}
  AND (EXISTS (SELECT FROM public.operator s WHERE s.id = {_ME} AND s.role IN ({_supervisor_roles()}))
       OR {_operator_rule()})
ORDER BY c.created_at DESC, c.id DESC
$$;

-- Query.myChats' two customer groups: the active chats I take part in, by last activity
CREATE FUNCTION {SCHEMA}.my_chats_waiting_first_response() RETURNS SETOF {SCHEMA}.chat LANGUAGE sql STABLE AS $$
SELECT c.* FROM {mine} AND {waiting}
ORDER BY c.last_activity_at DESC, c.id DESC
$$;
CREATE FUNCTION {SCHEMA}.my_chats_active() RETURNS SETOF {SCHEMA}.chat LANGUAGE sql STABLE AS $$
SELECT c.* FROM {mine} AND {waiting} IS NOT TRUE
ORDER BY c.last_activity_at DESC, c.id DESC
$$;

-- Chat.lastMessage (an operator reads every message, silent notes too) and Chat.unreadCount
CREATE FUNCTION {SCHEMA}.chat_last_message(c {SCHEMA}.chat) RETURNS {SCHEMA}.message LANGUAGE sql STABLE AS $$
SELECT m.* FROM {SCHEMA}.message m WHERE m.id = (SELECT MAX(x.id) FROM public.message x WHERE x.chat_id = c.id)
$$;
CREATE FUNCTION {SCHEMA}.chat_unread_count(c {SCHEMA}.chat) RETURNS integer LANGUAGE sql STABLE AS $$
SELECT ({_unread_count()})::integer
$$;
"""


async def install_schema(url: str) -> None:
    db = await asyncpg.connect(url, timeout=10)
    try:
        await db.execute(schema_sql())
    finally:
        await db.close()


async def drop_schema(url: str) -> None:
    db = await asyncpg.connect(url, timeout=10)
    try:
        await db.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    finally:
        await db.close()


# ---------------------------------------------------------------------------- the GraphQL side

_FIELDS = ("id title client: clientByClientId { name } operator: operatorByOperatorId { name } "
           "lastMessage { text } unreadCount")
#: the same selections as bench/queries.py's, aliased to the same JSON (ids are PostGraphile's integers)
MY_CHATS = (f"{{ waitingFirstResponse: myChatsWaitingFirstResponse {{ nodes {{ {_FIELDS} }} }} "
            f"active: myChatsActive {{ nodes {{ {_FIELDS} }} }} }}")


def conversations(first: int) -> str:
    return f"{{ conversations(first: {first}) {{ edges {{ node {{ {_FIELDS} }} }} }} }}"


def chat_ids(answer: dict, root: str) -> list[list[int]]:
    """The chat ids of a PostGraphile answer to MY_CHATS (root `myChats`) or `conversations`."""
    data = answer["data"]
    if root == "conversations":
        return [[edge["node"]["id"] for edge in data["conversations"]["edges"]]]
    return [[chat["id"] for chat in data[group]["nodes"]] for group in ("waitingFirstResponse", "active")]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def jwt(secret: str, operator_id: int, lifetime: int = 24 * 3600) -> str:
    """An HS256 JWT PostGraphile accepts (audience `postgraphile`, its default) for this operator."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = _b64(json.dumps({"aud": "postgraphile", "operator_id": operator_id,
                              "exp": int(time.time()) + lifetime}).encode())
    signature = hmac.new(secret.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    return f"{header}.{claims}.{_b64(signature)}"


# ---------------------------------------------------------------------------- installing and starting


def installed_version() -> str | None:
    """The version in the cache folder when it holds what bench/node/package-lock.json pins."""
    package = CACHE / "node_modules" / "postgraphile" / "package.json"
    lock = CACHE / "package-lock.json"
    if not package.exists() or not lock.exists() or lock.read_bytes() != (NODE_DIR / "package-lock.json").read_bytes():
        return None
    return str(json.loads(package.read_text())["version"])


def ensure_installed() -> str:
    """PostGraphile as bench/node/package-lock.json pins it, in the cache folder (`npm ci` when it is
    not there yet or the lock changed); its version."""
    version = installed_version()
    if version is not None:
        print(f"[bench] PostGraphile {version} (installed in {CACHE})", flush=True)
        return version
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"--peers postgraphile needs {tool} on PATH (Node.js 18 or later)")
    CACHE.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(NODE_DIR / name, CACHE / name)
    print(f"[bench] installing {PACKAGE} (bench/node/package-lock.json) with npm ci into {CACHE}", flush=True)
    done = subprocess.run(["npm", "ci", "--prefix", str(CACHE), "--no-audit", "--no-fund", "--loglevel=error"],
                          capture_output=True, text=True, timeout=600)
    version = installed_version()
    if done.returncode != 0 or version is None:
        (CACHE / "package-lock.json").unlink(missing_ok=True)  # not reused as if complete
        raise RuntimeError(f"npm ci of {PACKAGE} into {CACHE} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    print(f"[bench] PostGraphile {version} installed", flush=True)
    return version


def start(url: str, jwt_secret: str, *, log_dir: Path) -> Server:
    """bench/node/postgraphile_server.js on a free loopback port; waits until the schema is built."""
    port = free_port()
    log_path = log_dir / f"postgraphile-{port}.log"
    env = {**os.environ, "NODE_ENV": "production", "NODE_PATH": str(CACHE / "node_modules"), "DATABASE_URL": url,
           "PORT": str(port), "JWT_SECRET": jwt_secret, "SCHEMA": SCHEMA, "POOL_SIZE": str(POOL_SIZE)}
    with log_path.open("w") as log:
        process = subprocess.Popen(["node", str(SERVER_JS)], cwd=CACHE, env=env, stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(name="postgraphile", port=port, process=process, log_path=log_path)
    try:
        server.wait_until_healthy(timeout=STARTUP_SECONDS)
    except BaseException:
        server.stop()
        raise
    return server
