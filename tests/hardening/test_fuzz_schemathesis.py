"""Schemathesis (GraphQL mode) against the running server: no 5xx, no unmasked error, no bug.

The schema is read from the server by introspection; for every query and mutation field,
schemathesis (hypothesis-graphql) generates operations with arbitrary arguments and output
selections, and each is POSTed to the real uvicorn server of the `hardened` fixture, as an
admin, as a plain operator, as a visitor and anonymously. IDs are drawn from real objects of
every type, from forged global IDs (any type name, negative and huge numbers) and from
arbitrary text, so the fuzzer reaches past ID decoding into the services.

Every response must be HTTP 200 with a JSON body, and each top-level error must be either a
domain error with `extensions.code`, or a request error raised before execution (syntax,
validation, variable coercion: no `path`). `INTERNAL_SERVER_ERROR` fails the test with the
traceback the server logged under its request id: it is a bug the fuzzer found.

The budget (module constants, overridable by environment variables): FUZZ_EXAMPLES examples
per operation and caller (the admin gets FUZZ_EXAMPLES, the other callers a third), at most
FUZZ_SECONDS per backend and caller (operations beyond it are skipped with a warning), seed
FUZZ_SEED, no example database (nothing is written to .hypothesis). FUZZ_VERBOSE=1 (with -s)
prints every operation and the start of its answer.
"""
from __future__ import annotations

import json
import os
import re
import time
import warnings
from collections import Counter
from typing import Any

import graphql
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis.graphql import nodes
from schemathesis.specs.graphql.scalars import CUSTOM_SCALARS

from resolvers.ids import to_global_id
from services.common.errors import DomainError
from tests.hardening.conftest import World

#: examples per operation for the admin; the other callers get a third of it (at least 1)
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
#: wall-clock budget per backend and caller, in seconds
FUZZ_SECONDS = float(os.environ.get("FUZZ_SECONDS", "60"))
FUZZ_SEED = int(os.environ.get("FUZZ_SEED", "20261125"))
#: one request may take this long before it counts as a hang
REQUEST_TIMEOUT_SECONDS = 30

CALLERS = ["admin", "operator", "visitor", "anonymous"]
#: every domain error code (services/common/errors.py): an error raised while executing a field must carry
#: one; an error refused before execution (no `path`: syntax, validation, query limits) may carry
#: its own code or none
DOMAIN_CODES = {cls.code for cls in (DomainError, *DomainError.__subclasses__())}
TYPE_NAMES = ["Chat", "Message", "Operator", "OpenChannel", "Client", "CannedResponse", "Product", "Task",
              "FeedPost", "Connector", "Attachment", "Order", "CrmContact", "CrmLead", "Nope", ""]
REQUEST_ID = re.compile(r"request id ([0-9a-f]+)")
#: not fuzzed: they revoke the fuzzing callers' own tokens (every later call would be UNAUTHENTICATED);
#: their inputs are a boolean and an Operator ID decoded like every other (tests/e2e/test_token_revocation.py)
SIGN_OUT = {"Mutation.logout", "Mutation.revokeOperatorTokens"}


def _examples(caller: str) -> int:
    return FUZZ_EXAMPLES if caller == "admin" else max(1, FUZZ_EXAMPLES // 3)


def _argument_names(operation: Any) -> set[str]:
    """The lower-cased names of an operation's arguments and of every input field under them."""
    names: set[str] = set()
    visited: set[str] = set()
    pending = [(name, argument.type) for name, argument in operation.definition.raw.args.items()]
    while pending:
        name, type_ = pending.pop()
        names.add(name.lower())
        type_ = graphql.get_named_type(type_)
        if isinstance(type_, graphql.GraphQLInputObjectType) and type_.name not in visited:
            visited.add(type_.name)
            pending += [(n, f.type) for n, f in type_.fields.items()]
    return names


def _id_values(world: World, operation: Any) -> st.SearchStrategy:
    """GraphQL ID literals: real objects of the types the operation's arguments name (chatId: a
    Chat, ...; every type for a bare `id`), forged global IDs of any type and size, and junk."""
    names = _argument_names(operation)
    real = sorted(i for type_name, ids in world.ids.items() for i in ids
                  if "id" in names or any(type_name.lower() in n for n in names)) or sorted(world.all_ids())
    forged = st.builds(to_global_id, st.sampled_from(TYPE_NAMES),
                       st.one_of(st.integers(-10, 10), st.integers(-2**70, 2**70)))
    junk = st.one_of(st.text(max_size=20), st.sampled_from(["", "=", "Q2hhdDox==", "-1", "9" * 40]))
    known = st.sampled_from(real)
    return st.one_of(known, known, known, forged, junk).map(nodes.String)


def _with_user_errors(query: str) -> str:
    """The generated mutation, also asking for its payload's userErrors (to check their codes)."""
    operation = graphql.parse(query).definitions[0]
    if operation.operation.value != "mutation":
        return query
    text = query.rstrip()
    # printed as "mutation {\n  field(...) {\n ...\n  }\n}": the last two braces close the
    # payload's selection and the operation
    at = text.rfind("}", 0, len(text) - 1)
    return f"{text[:at]}  userErrors {{ code field message }}\n  {text[at:]}"


def _mutation_outcomes(body: dict) -> list[str]:
    """For each mutation payload: "ok", or the codes of its userErrors."""
    outcomes = []
    for payload in (body.get("data") or {}).values():
        if isinstance(payload, dict) and "userErrors" in payload:
            codes = [e["code"] for e in payload["userErrors"]]
            outcomes.append(",".join(codes) if codes else "ok")
    return outcomes


def _problems(body: Any, world: World) -> list[str]:
    """What is wrong with a GraphQL response body (empty: a clean answer)."""
    if not isinstance(body, dict) or not ({"data", "errors"} & body.keys()):
        return [f"not a GraphQL response: {body!r}"[:500]]
    problems = []
    for outcome in _mutation_outcomes(body):
        if outcome != "ok" and not set(outcome.split(",")) <= DOMAIN_CODES:
            problems.append(f"a userError code that is not a domain code: {outcome}")
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        message = error.get("message", "")
        if code == "INTERNAL_SERVER_ERROR":
            request_id = REQUEST_ID.search(message)
            log = world.server_log()
            at = log.find(f"request {request_id.group(1)}") if request_id else -1
            problems.append(f"internal error {message!r}; the server log says:\n{log[at:at + 4000] if at >= 0 else log[-4000:]}")
        elif error.get("path") and code not in DOMAIN_CODES:
            problems.append(f"an unmasked error during execution (no domain code): {error}")
    return problems


def _fuzz(world: World, caller: str, token: str | None) -> None:
    schema = schemathesis.graphql.from_url(world.url, headers={"Authorization": f"Bearer {world.admin.token}"},
                                           timeout=REQUEST_TIMEOUT_SECONDS)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    started, failures, skipped, calls, outcomes = time.monotonic(), [], [], 0, Counter()
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=lambda o: o.label)
    operations = [operation for operation in operations if operation.label not in SIGN_OUT]
    assert len(operations) > 50, [o.label for o in operations]  # every query and mutation field
    for operation in operations:
        if time.monotonic() - started > FUZZ_SECONDS:
            skipped.append(operation.label)
            continue

        schemathesis.graphql.scalar("ID", _id_values(world, operation))  # read when the case is drawn

        @seed(FUZZ_SEED)
        @settings(max_examples=_examples(caller), database=None, deadline=None, print_blob=False,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def one_operation(case: Any) -> None:
            nonlocal calls
            calls += 1
            case.body = _with_user_errors(case.body)
            response = case.call(headers=headers, timeout=REQUEST_TIMEOUT_SECONDS)
            assert response.status_code < 500, f"HTTP {response.status_code}: {response.content[:500]!r}"
            try:
                body = json.loads(response.content)
            except ValueError:
                raise AssertionError(f"HTTP {response.status_code}, not JSON: {response.content[:500]!r}") from None
            problems = _problems(body, world)
            outcomes.update(_mutation_outcomes(body) if isinstance(body, dict) else [])
            if os.environ.get("FUZZ_VERBOSE"):
                print(case.body, "\n=>", json.dumps(body)[:300])
            assert not problems, f"{case.body}\n" + "\n".join(problems)

        try:
            one_operation()
        except AssertionError as failure:
            failures.append(f"--- {operation.label} as {caller}:\n{failure}")
    print(f"fuzzed as {caller}: {calls} requests, {len(operations) - len(skipped)} operations,"
          f" {time.monotonic() - started:.1f} s; mutation outcomes: {dict(outcomes)}")
    if skipped:
        warnings.warn(f"fuzzing as {caller}: the {FUZZ_SECONDS} s budget ran out after {calls} requests;"
                      f" not fuzzed: {', '.join(skipped)}", stacklevel=1)
    assert not failures, "\n\n".join(failures)
    assert calls >= len(operations) - len(skipped)
    if caller in ("admin", "operator"):  # the fuzzer got past input decoding into the services
        assert outcomes["ok"] > 0, outcomes


@pytest.mark.parametrize("caller", CALLERS)
def test_fuzzed_operations_get_clean_answers(hardened: World, caller: str) -> None:
    token = {"admin": hardened.admin.token, "operator": hardened.operator.token,
             "visitor": hardened.visitor.token, "anonymous": None}[caller]
    previous = CUSTOM_SCALARS.get("ID")
    schemathesis.graphql.scalar("Upload", st.just(nodes.Null))
    try:
        _fuzz(hardened, caller, token)
    finally:
        CUSTOM_SCALARS.pop("Upload", None)
        if previous is None:
            CUSTOM_SCALARS.pop("ID", None)
        else:
            CUSTOM_SCALARS["ID"] = previous
