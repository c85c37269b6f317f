"""Reference MT5 bridge: the HTTP side (Flask) around ``bridge_core.Bridge``.

Runs on the Windows machine next to the MetaTrader 5 terminal. See README.md for install, the
environment variables and the firewall. Everything that decides anything lives in
``bridge_core.py`` (unit-tested without Flask or MetaTrader5); this file only wires the terminal,
the idempotency store and the HTTP server together.

    set MT5_BRIDGE_KEY_ID=bot-1
    set MT5_BRIDGE_SECRET=<at least 16 random characters>
    python mt5_bridge.py
"""

from __future__ import annotations

import logging
import os
import sys
import threading

import MetaTrader5 as mt5  # only on Windows, next to the terminal
from flask import Flask, Response, request

from bridge_core import Bridge, FencingTokenStore, IdempotencyStore, check_path_prefix, default_fencing_path, wsgi_target

LOG = logging.getLogger("mt5-bridge")
MAX_BODY_BYTES = 64 * 1024


def env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None or value == "":
        sys.exit(f"{name} is required (see README.md)")
    return value


def connect_terminal() -> None:
    """``initialize()`` attaches to the running terminal (or starts the one at MT5_TERMINAL_PATH)."""
    kwargs = {}
    if os.environ.get("MT5_TERMINAL_PATH"):
        kwargs["path"] = os.environ["MT5_TERMINAL_PATH"]
    if os.environ.get("MT5_LOGIN"):
        kwargs.update(login=int(os.environ["MT5_LOGIN"]), password=env("MT5_PASSWORD"), server=env("MT5_SERVER"))
    if not mt5.initialize(**kwargs):
        sys.exit(f"MetaTrader5.initialize failed: {mt5.last_error()}")
    info = mt5.terminal_info()
    if info is not None and not info.trade_allowed:
        LOG.warning("AutoTrading is off in the terminal: every order will answer 10027 (CLIENT_DISABLES_AT)")


def create_app(bridge: Bridge) -> Flask:
    app = Flask("mt5-bridge")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES

    @app.route("/", defaults={"path": ""}, methods=["GET", "POST"])
    @app.route("/<path:path>", methods=["GET", "POST"])
    def any_call(path: str) -> Response:  # noqa: ARG001 - the raw target is used instead
        # The signature covers the target as sent on the wire (path, percent-encoding and raw query),
        # not Flask's decoded request.path.
        target = wsgi_target(request.environ)
        body = request.get_data(cache=False) if request.method == "POST" else b""
        status, answer = bridge.handle(request.method, target, request.headers, body)
        if status >= 400:
            LOG.warning("%s %s -> %s %s", request.method, request.path, status, answer.get("error"))
        return app.response_class(app.json.dumps(answer), status=status, mimetype="application/json")

    return app


def purge_forever(store: IdempotencyStore, every_s: float = 3600) -> None:
    def run() -> None:
        while True:
            try:
                removed = store.purge()
                if removed:
                    LOG.info("purged %d request ids older than the retention", removed)
            except Exception:  # keep serving; the store only grows meanwhile
                LOG.exception("idempotency store purge failed")
            threading.Event().wait(every_s)

    threading.Thread(target=run, name="purge", daemon=True).start()


def main() -> None:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        prefix = check_path_prefix(os.environ.get("MT5_BRIDGE_PATH_PREFIX", ""))
    except ValueError as error:
        sys.exit(f"MT5_BRIDGE_PATH_PREFIX: {error}")
    db_path = os.environ.get("MT5_BRIDGE_DB", "mt5-bridge.sqlite3")
    try:
        fencing = FencingTokenStore(os.environ.get("MT5_BRIDGE_FENCING_FILE") or default_fencing_path(db_path))
    except (OSError, ValueError) as error:
        sys.exit(f"MT5_BRIDGE_FENCING_FILE: {error}")
    connect_terminal()
    store = IdempotencyStore(db_path)
    purge_forever(store)
    bridge = Bridge(mt5, store, key_id=env("MT5_BRIDGE_KEY_ID"), secret=env("MT5_BRIDGE_SECRET"), path_prefix=prefix, fencing=fencing)
    host = os.environ.get("MT5_BRIDGE_HOST", "127.0.0.1")
    port = int(os.environ.get("MT5_BRIDGE_PORT", "8080"))
    LOG.info("MT5 bridge on http://%s:%d%s", host, port, prefix)
    app = create_app(bridge)
    try:
        from waitress import serve  # a production WSGI server when installed

        serve(app, host=host, port=port, threads=4)
    except ImportError:
        app.run(host=host, port=port, threaded=True)


if __name__ == "__main__":
    main()
