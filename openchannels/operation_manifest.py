"""The manifests clients' build tools write, read and checked for `openchannels operations register`.

Two formats:

- Apollo's persisted query manifest (`@apollo/generate-persisted-query-manifest`, Apollo
  Kotlin): `{"format": "apollo-persisted-query-manifest", "version": 1, "operations":
  [{"id": ..., "name": ..., "type": "query", "body": ...}]}`;
- GraphQL Code Generator's client preset (`persistedDocuments: true`), `persisted-documents.json`:
  `{"<hash>": "<document>"}`.

Each document is checked as a request would be: it parses (within QUERY_MAX_TOKENS), it
validates against the schema the server runs, it holds one operation, and it is within the query
limits (schema/limits.py; a page size given by a variable counts at its default, and every
request is measured again with its own variables). A `sha256:<hex>` id must be the document's hash.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError, OperationDefinitionNode, parse, specified_rules, validate
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from schema.limits import QueryLimits, document_limit_errors
from services.identity.persisted_operations import MAX_ID_LENGTH, SHA256_PREFIX, OperationEntry, canonical_id

APOLLO_FORMAT = "apollo-persisted-query-manifest"
RULES = (*specified_rules, MaybeNullValidationRule, OneOfInputValidationRule)


class ManifestError(Exception):
    """The file is not a manifest this command reads (one line for the user)."""


@dataclass(frozen=True)
class Refusal:
    """One operation of the manifest that cannot be registered, and why (one line)."""

    id: str
    name: str | None
    reason: str

    def line(self) -> str:
        return f"refused {self.id}{f' ({self.name})' if self.name else ''}: {self.reason}"


@dataclass(frozen=True)
class _Candidate:
    id: Any
    name: Any
    type: Any
    body: Any


def read_manifest(path: Path) -> tuple[str, list[_Candidate]]:
    """The manifest's format and its operations, as written (checked one by one later)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ManifestError(f"cannot read {path}: {error.strerror or error}") from error
    except UnicodeDecodeError as error:
        raise ManifestError(f"{path} is not UTF-8 text") from error
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise ManifestError(f"{path} is not JSON: {error}") from error
    if isinstance(data, dict) and "format" in data:
        if data.get("format") != APOLLO_FORMAT or data.get("version") != 1:
            raise ManifestError(f"{path}: unknown manifest format {data.get('format')!r} version "
                                f"{data.get('version')!r} (expected {APOLLO_FORMAT!r} version 1)")
        operations = data.get("operations")
        if not isinstance(operations, list):
            raise ManifestError(f"{path}: `operations` must be a list")
        return "Apollo persisted query manifest", [
            _Candidate(o.get("id"), o.get("name"), o.get("type"), o.get("body")) if isinstance(o, dict)
            else _Candidate(f"#{n + 1}", None, None, None) for n, o in enumerate(operations)]
    if isinstance(data, dict):
        return "GraphQL Codegen persisted documents", [_Candidate(i, None, None, b) for i, b in data.items()]
    raise ManifestError(f"{path} is neither an Apollo persisted query manifest nor a GraphQL Codegen "
                        "persisted-documents.json (an object of id: document)")


def check_operation(candidate: _Candidate, schema: Any, limits: QueryLimits) -> OperationEntry | Refusal:
    """The operation ready to register, or why it cannot be."""
    ident, body = candidate.id, candidate.body
    name = candidate.name if isinstance(candidate.name, str) else None
    if not isinstance(ident, str) or not ident.strip() or len(ident) > MAX_ID_LENGTH + len(SHA256_PREFIX):
        return Refusal(str(ident), name, f"the id must be a non-empty string of at most {MAX_ID_LENGTH} characters")
    if not isinstance(body, str):
        return Refusal(ident, name, "the document (`body`) must be a string")
    if ident.startswith(SHA256_PREFIX) and ident[len(SHA256_PREFIX):] != hashlib.sha256(body.encode()).hexdigest():
        return Refusal(ident, name, "a `sha256:` id must be the SHA-256 of the document, and it is not")
    try:
        document = parse(body, max_tokens=limits.max_tokens)
    except GraphQLSyntaxError as error:
        if "Parsing aborted" in error.message:
            return Refusal(ident, name, f"too complex: more than {limits.max_tokens} tokens (QUERY_MAX_TOKENS)")
        return Refusal(ident, name, f"does not parse: {error.message}")
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1:
        return Refusal(ident, name, f"a persisted document holds one operation, this one {len(operations)}")
    operation = operations[0]
    name = name or (operation.name.value if operation.name else None)
    kind = operation.operation.value
    if candidate.type is not None and candidate.type != kind:
        return Refusal(ident, name, f"the manifest says {candidate.type!r} but the document is a {kind}")
    errors: list[GraphQLError] = list(validate(schema._schema, document, RULES))
    if not errors:
        errors = document_limit_errors(limits, schema._schema, document)
    if errors:
        return Refusal(ident, name, " ".join(" ".join(e.message.split()) for e in errors))
    return OperationEntry(id=canonical_id(ident), name=name, operation_type=kind, body=body)


def check_manifest(candidates: list[_Candidate], schema: Any, limits: QueryLimits) -> tuple[list[OperationEntry], list[Refusal]]:
    """Every operation checked; one id twice with two documents is refused too."""
    entries: dict[str, OperationEntry] = {}
    refusals: list[Refusal] = []
    for candidate in candidates:
        checked = check_operation(candidate, schema, limits)
        if isinstance(checked, Refusal):
            refusals.append(checked)
        elif checked.id in entries and entries[checked.id].body != checked.body:
            refusals.append(Refusal(checked.id, checked.name, "the manifest has this id twice, with two documents"))
        else:
            entries[checked.id] = checked
    return list(entries.values()), refusals
