"""BodyLimits' reading of a declared length (openchannels/body_limits.py), from the request's one
dict of headers: a length past the limit is refused before the app runs; a length that is not
ASCII digits is left to the counting of the body, never a 500."""
import pytest

from openchannels.body_limits import BodyLimits


async def _run(headers: list[tuple[bytes, bytes]]) -> tuple[list[str], list[dict]]:
    reached: list[str] = []
    sent: list[dict] = []

    async def app(scope, receive, send):
        reached.append(scope["path"])
        await receive()

    async def receive():
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "path": "/graphql", "query_string": b"", "headers": headers}
    await BodyLimits(app, max_request_bytes=100, max_upload_bytes=1000)(scope, receive, send)
    return reached, sent


async def test_a_declared_length_past_the_limit_is_refused_before_the_app_runs():
    reached, sent = await _run([(b"content-type", b"application/json"), (b"content-length", b"101")])
    assert reached == [] and sent[0]["status"] == 413


async def test_a_multipart_body_to_graphql_has_the_upload_limit():
    reached, sent = await _run([(b"content-type", b"Multipart/Form-Data; boundary=x"), (b"content-length", b"900")])
    assert reached == ["/graphql"] and sent == []


@pytest.mark.parametrize("declared", [b"1\xb2", b"\xb9\xb2", b"-1", b"ten"])
async def test_a_length_that_is_not_ascii_digits_is_left_to_the_counting(declared):
    reached, sent = await _run([(b"content-length", declared)])
    assert reached == ["/graphql"] and sent == []
