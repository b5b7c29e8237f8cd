"""The baseline: the smallest ASGI app uvicorn can serve, under the same server settings as mockserver.

Its req/s is what one worker of uvicorn (uvloop + httptools) manages on this
machine with no framework and no work at all; mockserver's numbers are read
as a fraction of it, measured in the same run, so the machine's speed and
load cancel out.
"""

from __future__ import annotations

BODY = b'{"hello":"world"}'
START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())],
}
END = {"type": "http.response.body", "body": BODY}


async def app(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    # Drain the request body, as a real endpoint would.
    message = await receive()
    while message.get("more_body"):
        message = await receive()
    await send(START)
    await send(END)
