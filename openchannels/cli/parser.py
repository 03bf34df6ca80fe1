"""The command line: commands, options, help texts and the environment they read.

A bad argument is one line with where to look, like every other failure of the command.
"""
from __future__ import annotations

import argparse
import importlib
from typing import Any, Callable, NoReturn, Sequence

from openchannels.cli.console import PROG
from openchannels.cli.failures import EXIT_USAGE
from infrastructure.settings import ENVIRONMENT


def _command(target: str) -> Callable[[argparse.Namespace, Any], int]:
    """A command's handler, `module:function`, loaded when the command runs: `--help` and a
    command that needs no GraphQL schema do not import it (every module keeps its imports at its
    top; this table is the one place a module is chosen at run time)."""
    module, function = target.split(":")

    def run(args: argparse.Namespace, settings: Any) -> int:
        return getattr(importlib.import_module(module), function)(args, settings)

    return run


command_serve = _command("openchannels.cli.serve:command_serve")
command_migrate = _command("openchannels.cli.migrate:command_migrate")
command_create_operator = _command("openchannels.cli.operators:command_create_operator")
command_export_schema = _command("openchannels.cli.schema_export:command_export_schema")
command_operations_register = _command("openchannels.cli.operations:command_operations_register")
command_operations_list = _command("openchannels.cli.operations:command_operations_list")
command_operations_remove = _command("openchannels.cli.operations:command_operations_remove")

#: keeps the line breaks of descriptions and epilogs as written
FORMATTER = argparse.RawDescriptionHelpFormatter


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line (with where to look), not usage plus a line."""

    def error(self, message: str) -> NoReturn:
        hint = f"see `{self.prog} --help`"
        self.exit(EXIT_USAGE, f"{PROG}: error: {message} ({hint})\n")


def _environment_help() -> str:
    width = max(len(name) for name, _, _ in ENVIRONMENT)
    lines = ["environment variables (read when a command starts; a flag wins over its variable):"]
    for name, default, meaning in ENVIRONMENT:
        shown = default if default else "(unset)"
        lines.append(f"  {name:<{width}}  default: {shown}")
        lines.append(f"  {'':<{width}}  {meaning}")
    return "\n".join(lines)


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def _add_command(commands: Any, name: str, handler: Callable[..., int], *, summary: str, description: str,
                 examples: Sequence[str], note: str = "") -> argparse.ArgumentParser:
    """One subcommand: `summary` in the list of commands; description, examples and `note` in its --help."""
    command = commands.add_parser(name, formatter_class=FORMATTER, help=summary, description=description,
                                  epilog=_examples(*examples) + (f"\n\nnote: {note}" if note else ""))
    command.set_defaults(handler=handler)
    return command


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        formatter_class=FORMATTER,
        description="Open Channels: a contact-center GraphQL backend (queues, chats, operators, live subscriptions).",
        epilog=_examples(
            f"{PROG} serve --demo                 run with demo data on SQLite; prints tokens",
            f"{PROG} migrate                      apply pending database migrations",
            f"{PROG} create-operator --name Ann --email ann@example.com --role admin",
            f"{PROG} export-schema                write schema.graphql (the SDL)",
            f"{PROG} operations register persisted-query-manifest.json",
            f"{PROG} COMMAND --help               options of one command",
        ) + "\n\n" + _environment_help(),
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    commands.required = True

    serve = _add_command(
        commands, "serve", command_serve, summary="run the GraphQL server (HTTP and WebSocket)",
        description=(
            "Run the GraphQL server: HTTP POST/GET and WebSocket subscriptions (graphql-transport-ws\n"
            "and graphql-ws) at /graphql, with GraphiQL in the browser.\n\n"
            "On SQLite (the default DATABASE_URL) pending migrations are applied first. On PostgreSQL\n"
            f"run `{PROG} migrate` first: there, migrating is a deliberate step.\n"
            "More than one worker needs REDIS_URL: with the in-process broker, events would not\n"
            "reach subscribers connected to another process."
        ),
        examples=[
            f"{PROG} serve --demo",
            f"{PROG} serve --host 0.0.0.0 --port 8080",
            "REDIS_URL=redis://127.0.0.1:6379/0 DATABASE_URL=postgres://oc:secret@127.0.0.1:5432/oc \\\n"
            f"    {PROG} serve --workers 4",
        ],
    )
    serve.add_argument("--host", help="address to listen on (default: $OPENCHANNELS_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: $OPENCHANNELS_PORT or 8000)")
    serve.add_argument("--workers", type=int,
                       help="server processes (default: $OPENCHANNELS_WORKERS or 1; more than 1 needs REDIS_URL)")
    serve.add_argument("--demo", action="store_true",
                       help="seed demo operators, open channels and chats when the database has no operators "
                            "yet, and print their tokens")

    _add_command(
        commands, "migrate", command_migrate, summary="apply pending database migrations",
        description="Apply every pending migration (models/migrations) to DATABASE_URL, printing each one.",
        examples=[f"{PROG} migrate", f"DATABASE_URL=postgres://oc:secret@127.0.0.1:5432/oc {PROG} migrate"],
    )

    create = _add_command(
        commands, "create-operator", command_create_operator, summary="create an operator and print an API token",
        description=(
            "Create an operator (applying pending migrations first) and print a new API token that\n"
            "never expires as the LAST line of the output. Send it as `Authorization: Bearer <token>`.\n"
            "Without --password the operator signs in by token only (no `login`)."
        ),
        examples=[
            f"{PROG} create-operator --name 'Ann Lee' --email ann@example.com --role admin",
            f"TOKEN=$({PROG} create-operator --name Bob --email bob@example.com | tail -n 1)",
        ],
        note=(
            "a password given on the command line is visible to other local users (ps, shell\n"
            "history); prefer tokens, or change it later."
        ),
    )
    create.add_argument("--name", required=True, help="display name")
    create.add_argument("--email", required=True, help="e-mail address (unique, case-insensitive)")
    create.add_argument("--role", default="OPERATOR", metavar="ROLE",
                        help="OPERATOR, SUPERVISOR or ADMIN, in any case (default: OPERATOR)")
    create.add_argument("--password", help="password for the `login` mutation (at least 8 characters)")

    export = _add_command(
        commands, "export-schema", command_export_schema, summary="write the GraphQL schema (SDL)",
        description="Write the GraphQL schema in SDL, as served, to a file (or stdout with `--output -`).",
        examples=[
            f"{PROG} export-schema                       writes ./schema.graphql",
            f"{PROG} export-schema --output - | less",
            f"{PROG} export-schema --output /tmp/s.graphql && diff -u schema.graphql /tmp/s.graphql",
        ],
    )
    export.add_argument("--output", default="schema.graphql", metavar="PATH",
                        help="file to write, `-` for stdout (default: schema.graphql in the current folder)")
    _add_operations(commands)
    return parser


def _add_operations(commands: Any) -> None:
    """`operations register|list|remove`: the trusted documents (README: Trusted documents)."""
    operations = commands.add_parser(
        "operations", formatter_class=FORMATTER, help="register, list and remove trusted documents",
        description=(
            "Trusted documents: operations registered from a client's build manifest, which clients\n"
            "run by id (`documentId`, or APQ's `extensions.persistedQuery.sha256Hash`). With\n"
            "PERSISTED_OPERATIONS_ONLY=true they are the only documents non-admin callers may run."
        ),
        epilog=_examples(f"{PROG} operations register persisted-query-manifest.json",
                         f"{PROG} operations list", f"{PROG} operations remove --all"))
    actions = operations.add_subparsers(dest="operations_command", metavar="ACTION", title="actions")
    actions.required = True
    register = _add_command(
        actions, "register", command_operations_register, summary="register the operations of a manifest",
        description=(
            "Register every operation of a manifest: Apollo's persisted query manifest\n"
            "(generate-persisted-query-manifest) or GraphQL Codegen's persisted-documents.json.\n"
            "Each document is validated against the schema and measured against the query limits\n"
            "(QUERY_MAX_*) first; one refused operation is a line each, and nothing is registered.\n"
            "Registering a manifest again adds what is new; an id keeps its document for good."
        ),
        examples=[f"{PROG} operations register persisted-query-manifest.json",
                  f"{PROG} operations register src/gql/persisted-documents.json"],
    )
    register.add_argument("manifest", metavar="FILE", help="the manifest (JSON)")
    _add_command(actions, "list", command_operations_list, summary="list the registered operations",
                 description="List the registered operations: id, type, name and when it was registered.",
                 examples=[f"{PROG} operations list", f"{PROG} operations list | grep mutation"])
    remove = _add_command(
        actions, "remove", command_operations_remove, summary="remove registered operations",
        description="Remove operations by id, or every one with --all. Clients that run them get "
                    "PERSISTED_QUERY_NOT_FOUND.",
        examples=[f"{PROG} operations remove 5f1c...e2", f"{PROG} operations remove --all"],
    )
    remove.add_argument("ids", nargs="*", metavar="ID", help="ids to remove (as `operations list` shows them)")
    remove.add_argument("--all", action="store_true", help="remove every registered operation")
