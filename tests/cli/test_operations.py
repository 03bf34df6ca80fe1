"""`openchannels operations register|list|remove` run as a real subprocess on a SQLite file, with
the manifests Apollo's and GraphQL Codegen's build tools write (PostgreSQL: tests/e2e/test_trusted_documents.py
registers through this command on both backends)."""
from __future__ import annotations

import hashlib
import json

import pytest

from tests.cli.running import assert_one_line_error, run

ME = "query Me { me { operator { name role } } }"
CHATS = "query MyChats { myChats { offered { id status } } }"
#: 100 conversations x 100 messages each: 10,100 list items, over QUERY_MAX_COST (10,000)
TOO_COSTLY = ("query Everything { conversations(first: 100) { edges { node { "
              "messages(first: 100) { edges { node { id } } } } } } }")
NOT_IN_SCHEMA = "query Nope { noSuchField }"


def sha256(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def apollo_manifest(*documents: tuple[str, str, str]) -> dict:
    """What @apollo/generate-persisted-query-manifest writes: ids are the SHA-256 of the bodies."""
    return {"format": "apollo-persisted-query-manifest", "version": 1,
            "operations": [{"id": sha256(body), "name": name, "type": kind, "body": body}
                           for name, kind, body in documents]}


def write(folder, name: str, manifest: dict):
    path = folder / name
    path.write_text(json.dumps(manifest, indent=2))
    return path


def error_line(result) -> str:
    """The command failed with one error line, last (after its progress lines), and no traceback."""
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr + result.stdout
    return result.stderr.strip().splitlines()[-1]


def listed_ids(folder) -> list[str]:
    result = run(folder, "operations", "list")
    assert result.returncode == 0, result.stderr
    return [line.split()[0] for line in result.stdout.splitlines()]


def test_an_apollo_manifest_is_registered_and_listed(tmp_path):
    manifest = write(tmp_path, "persisted-query-manifest.json",
                     apollo_manifest(("Me", "query", ME), ("MyChats", "query", CHATS)))

    first = run(tmp_path, "operations", "register", str(manifest))
    again = run(tmp_path, "operations", "register", str(manifest))

    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "registered 2 new operations, 0 already registered"
    assert "Apollo persisted query manifest, 2 operations" in first.stderr
    assert again.stdout.strip() == "registered 0 new operations, 2 already registered"
    listing = run(tmp_path, "operations", "list").stdout
    assert sorted(listed_ids(tmp_path)) == sorted([sha256(ME), sha256(CHATS)])
    assert "Me" in listing and "MyChats" in listing and "query" in listing


def test_a_codegen_persisted_documents_file_is_registered(tmp_path):
    """The client preset's persisted-documents.json: {hash: document}; a `sha256:` id is stored without its prefix."""
    manifest = write(tmp_path, "persisted-documents.json", {sha256(ME): ME, f"sha256:{sha256(CHATS)}": CHATS})

    result = run(tmp_path, "operations", "register", str(manifest))

    assert result.returncode == 0, result.stderr
    assert "GraphQL Codegen persisted documents, 2 operations" in result.stderr
    assert sorted(listed_ids(tmp_path)) == sorted([sha256(ME), sha256(CHATS)])


def test_a_manifest_with_an_operation_over_the_limits_registers_nothing(tmp_path):
    manifest = write(tmp_path, "persisted-query-manifest.json", apollo_manifest(
        ("Me", "query", ME), ("Everything", "query", TOO_COSTLY), ("Nope", "query", NOT_IN_SCHEMA)))

    result = run(tmp_path, "operations", "register", str(manifest))

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert f"refused {sha256(TOO_COSTLY)} (Everything): The operation is too complex: " \
           "cost (list items it may return) 10100, at most 10000 allowed." in lines
    assert any(line.startswith(f"refused {sha256(NOT_IN_SCHEMA)} (Nope): ") and "noSuchField" in line
               for line in lines)
    assert lines[-1] == "openchannels: error: nothing registered: 2 of 3 operations refused (see the lines above)"
    assert listed_ids(tmp_path) == []  # not even the valid one: a client release is registered whole


def test_the_limits_are_the_servers_settings(tmp_path):
    manifest = write(tmp_path, "persisted-documents.json", {sha256(ME): ME})

    result = run(tmp_path, "operations", "register", str(manifest), QUERY_MAX_DEPTH="2")

    assert result.returncode == 1
    assert f"refused {sha256(ME)} (Me): The operation is too complex: depth 3, at most 2 allowed." in result.stderr


def test_an_id_keeps_its_document(tmp_path):
    run(tmp_path, "operations", "register", str(write(tmp_path, "a.json", {"my-id": ME})))

    result = run(tmp_path, "operations", "register", str(write(tmp_path, "b.json", {"my-id": CHATS})))

    assert error_line(result).startswith("openchannels: error: already registered with another body: my-id")
    assert run(tmp_path, "operations", "list").stdout.split()[0] == "my-id"


def test_operations_are_removed_by_id_or_all(tmp_path):
    run(tmp_path, "operations", "register",
        str(write(tmp_path, "m.json", apollo_manifest(("Me", "query", ME), ("MyChats", "query", CHATS)))))

    unknown = run(tmp_path, "operations", "remove", "nope")
    one = run(tmp_path, "operations", "remove", f"sha256:{sha256(ME)}")

    assert_one_line_error(unknown, "no registered operation has the id nope")
    assert one.stdout.strip() == "removed 1 operation"
    assert listed_ids(tmp_path) == [sha256(CHATS)]
    assert run(tmp_path, "operations", "remove", "--all").stdout.strip() == "removed 1 operation"
    assert listed_ids(tmp_path) == []


def test_a_file_that_is_no_manifest_is_one_line_error(tmp_path):
    (tmp_path / "x.json").write_text("[1, 2]")
    (tmp_path / "y.json").write_text('{"format": "something-else", "version": 3}')

    assert_one_line_error(run(tmp_path, "operations", "register", str(tmp_path / "x.json")),
                          "neither an Apollo persisted query manifest nor a GraphQL Codegen")
    assert_one_line_error(run(tmp_path, "operations", "register", str(tmp_path / "y.json")),
                          "unknown manifest format 'something-else'")
    assert_one_line_error(run(tmp_path, "operations", "register", str(tmp_path / "missing.json")), "cannot read")
    assert_one_line_error(run(tmp_path, "operations", "remove"), "give the ids to remove, or --all")


@pytest.mark.parametrize("action", ["register", "list", "remove"])
def test_every_action_has_a_help_with_examples(tmp_path, action):
    result = run(tmp_path, "operations", action, "--help")

    assert result.returncode == 0, result.stderr
    assert "examples:" in result.stdout
    assert f"openchannels operations {action}" in result.stdout
