"""The bridge over the stand-in MetaTrader5, served over HTTP with the standard library only.

For the service's end-to-end test (test/reference-mt5-bridge.e2e-spec.ts), which drives it with
its own client; never next to a real terminal (that is mt5_bridge.py). Like waitress, wsgiref
gives the application a percent-decoded PATH_INFO only, so the target is rebuilt by
``bridge_core.wsgi_target`` as in production.

    MT5_BRIDGE_KEY_ID=bot-1 MT5_BRIDGE_SECRET=... MT5_BRIDGE_PATH_PREFIX=/t2 \\
        MT5_BRIDGE_DB=/tmp/x/ids.sqlite3 python3 tools/mt5-bridge/tests/serve_fake_bridge.py

Listens on 127.0.0.1 on a free port and prints ``listening on <port>`` once it accepts
connections. SIGTERM ends it at once (no handler: wsgiref would swallow a SystemExit raised
while it finishes a request); the caller owns the folder of ``MT5_BRIDGE_DB``. Without
``MT5_BRIDGE_DB`` the store is in a temporary folder, removed on Ctrl+C.
"""

from __future__ import annotations

import json
import os
import tempfile
from http import HTTPStatus
from wsgiref.simple_server import WSGIRequestHandler, make_server

from support import KEY_ID, SECRET, FakeMt5, Headers, bridge_core

MAX_BODY_BYTES = 64 * 1024


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the stdlib's name
        pass


def application(bridge: bridge_core.Bridge):
    def app(environ, start_response):
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(min(length, MAX_BODY_BYTES)) if environ["REQUEST_METHOD"] == "POST" and length > 0 else b""
        headers = Headers({name[5:].replace("_", "-"): value for name, value in environ.items() if name.startswith("HTTP_")})
        status, answer = bridge.handle(environ["REQUEST_METHOD"], bridge_core.wsgi_target(environ), headers, body)
        payload = json.dumps(answer).encode("utf-8")
        start_response(f"{status} {HTTPStatus(status).phrase}", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
        return [payload]

    return app


def serve(db_path: str) -> None:
    store = bridge_core.IdempotencyStore(db_path)
    bridge = bridge_core.Bridge(
        FakeMt5(),
        store,
        key_id=os.environ.get("MT5_BRIDGE_KEY_ID", KEY_ID),
        secret=os.environ.get("MT5_BRIDGE_SECRET", SECRET),
        path_prefix=os.environ.get("MT5_BRIDGE_PATH_PREFIX", ""),
        fencing=bridge_core.FencingTokenStore(bridge_core.default_fencing_path(db_path)),
    )
    server = make_server("127.0.0.1", 0, application(bridge), handler_class=QuietHandler)
    print(f"listening on {server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        store.close()


def main() -> None:
    if os.environ.get("MT5_BRIDGE_DB"):
        serve(os.environ["MT5_BRIDGE_DB"])
        return
    with tempfile.TemporaryDirectory() as folder:
        serve(os.path.join(folder, "ids.sqlite3"))


if __name__ == "__main__":
    main()
