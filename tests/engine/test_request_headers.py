"""A request's headers as one dict (openchannels/request_headers.py): what Starlette's
`request.headers.get` gives for each name, made once per request."""
from starlette.datastructures import Headers

from openchannels.request_headers import request_headers


def test_each_header_reads_as_starlette_reads_it_and_the_dict_is_made_once():
    scope = {"type": "http", "headers": [
        (b"host", b"oc.test"), (b"accept", b"application/graphql-response+json"), (b"x-forwarded-for", b"10.0.0.1"),
        (b"x-forwarded-for", b"10.0.0.2"), (b"authorization", b"Bearer oc_\xe9")]}
    found = request_headers(scope)
    starlette = Headers(scope=scope)
    for name in ("host", "accept", "x-forwarded-for", "authorization", "content-type"):
        assert found.get(name) == starlette.get(name)
    assert found["x-forwarded-for"] == "10.0.0.1"  # a repeated name: its first value
    scope["headers"] = []
    assert request_headers(scope) is found  # kept in the scope: one dict for the request's lookups
