"""The pure part of the reference MT5 bridge: everything but the HTTP server.

Implements the bridge protocol of ``docs/mt5-bridge.openapi.yaml`` (``docs/mt5-bridge.md``):

- ``verify_signature``: the request signature and the 30 s timestamp window;
- ``IdempotencyStore``: request ids on disk (sqlite3, stdlib), stored BEFORE ``order_send``,
  final outcomes only;
- ``FencingTokenStore``: the highest ``X-Fencing-Token`` seen, in a small file replaced
  atomically; a lower token is refused (``409 stale_fencing_token``) before anything else;
- ``classify_retcode``: MQL5 ``TRADE_RETCODE_*`` to what a client does with it;
- ``open_request`` / ``close_request``: protocol body to the ``order_send`` request dict;
- ``check_path_prefix`` / ``wsgi_target``: the optional path prefix, and the request target as
  signed (the path as sent on the wire);
- ``Bridge``: routing and the seven calls, given the ``MetaTrader5`` module (or a stand-in).

This module imports neither Flask nor MetaTrader5, so it runs (and is unit-tested) anywhere with
the Python 3 standard library. ``mt5_bridge.py`` is the thin Flask wrapper for the Windows machine.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Mapping, Optional, Tuple
from urllib.parse import quote, unquote

# ---------------------------------------------------------------------------------------------
# Signing
# ---------------------------------------------------------------------------------------------

MAX_CLOCK_SKEW_MS = 30_000
HEADER_API_KEY = "X-Api-Key"
HEADER_TIMESTAMP = "X-Timestamp"
HEADER_SIGNATURE = "X-Signature"
HEADER_IDEMPOTENCY_KEY = "Idempotency-Key"


def signing_payload(timestamp: str, method: str, path_with_query: str, body: bytes) -> bytes:
    """``<X-Timestamp>\\n<METHOD>\\n<path with query>\\n<raw body, empty for GET>``."""
    head = f"{timestamp}\n{method.upper()}\n{path_with_query}\n".encode("utf-8")
    return head + body


def sign(secret: str, timestamp: str, method: str, path_with_query: str, body: bytes) -> str:
    """Lowercase hex HMAC-SHA256 of the signing payload."""
    payload = signing_payload(timestamp, method, path_with_query, body)
    return hmac.new(secret.encode("utf-8"), payload, hashlib.sha256).hexdigest()


def verify_signature(
    key_id: str,
    secret: str,
    headers: Mapping[str, str],
    method: str,
    path_with_query: str,
    body: bytes,
    now_ms: int,
) -> Tuple[bool, str]:
    """Checks key, timestamp window and signature. Returns (ok, reason); never raises.

    ``headers`` must be looked up case-insensitively (Flask's and the tests' mappings are).
    The signature is compared in constant time; the key id too, so neither leaks by timing.
    """
    api_key = headers.get(HEADER_API_KEY) or ""
    timestamp = headers.get(HEADER_TIMESTAMP) or ""
    signature = headers.get(HEADER_SIGNATURE) or ""
    if not hmac.compare_digest(api_key.encode("utf-8"), key_id.encode("utf-8")):
        return False, "unknown api key"
    if not re.fullmatch(r"[0-9]{1,16}", timestamp):
        return False, "X-Timestamp must be unix epoch milliseconds"
    if abs(now_ms - int(timestamp)) > MAX_CLOCK_SKEW_MS:
        return False, "timestamp outside the 30 s window"
    if not re.fullmatch(r"[0-9a-f]{64}", signature):
        return False, "X-Signature must be 64 lowercase hex characters"
    expected = sign(secret, timestamp, method, path_with_query, body)
    if not hmac.compare_digest(expected, signature):
        return False, "bad signature"
    return True, "ok"


# ---------------------------------------------------------------------------------------------
# Return codes
# ---------------------------------------------------------------------------------------------

RETCODE = {
    "REQUOTE": 10004,
    "REJECT": 10006,
    "PLACED": 10008,
    "DONE": 10009,
    "DONE_PARTIAL": 10010,
    "ERROR": 10011,
    "INVALID": 10013,
    "INVALID_VOLUME": 10014,
    "INVALID_PRICE": 10015,
    "INVALID_STOPS": 10016,
    "MARKET_CLOSED": 10018,
    "NO_MONEY": 10019,
    "PRICE_CHANGED": 10020,
    "PRICE_OFF": 10021,
    "TOO_MANY_REQUESTS": 10024,
    "CLIENT_DISABLES_AT": 10027,
    "CONNECTION": 10031,
    "POSITION_CLOSED": 10036,
}

_CLASS_BY_CODE = {
    RETCODE["DONE"]: "filled",
    RETCODE["PLACED"]: "placed",
    RETCODE["DONE_PARTIAL"]: "partial",
    RETCODE["REQUOTE"]: "transient",
    RETCODE["PRICE_CHANGED"]: "transient",
    RETCODE["PRICE_OFF"]: "transient",
    RETCODE["TOO_MANY_REQUESTS"]: "transient",
    RETCODE["CONNECTION"]: "transient",
    RETCODE["POSITION_CLOSED"]: "already_closed",
}


def classify_retcode(retcode: int) -> str:
    """``filled`` | ``placed`` | ``partial`` | ``transient`` | ``final`` | ``already_closed``.

    Unknown codes are ``final``: a client must never guess a fill.
    """
    return _CLASS_BY_CODE.get(retcode, "final")


def is_stored_outcome(retcode: int) -> bool:
    """Final outcomes are stored and repeated; transient ones are not (the id may be tried again)."""
    return classify_retcode(retcode) != "transient"


# ---------------------------------------------------------------------------------------------
# Idempotency store
# ---------------------------------------------------------------------------------------------

DEFAULT_RETENTION_S = 7 * 24 * 3600  # the protocol asks for at least 24 h


@dataclass(frozen=True)
class Claim:
    """What ``IdempotencyStore.claim`` found: ``new`` (now stored as pending), ``pending`` (stored
    by an earlier attempt that has no final outcome) or ``final`` (``result`` is the stored answer)."""

    state: str
    result: Optional[Dict[str, Any]] = None


class IdempotencyStore:
    """Request ids in a sqlite3 file, committed with ``synchronous=FULL`` before ``order_send``.

    A row is ``pending`` from before ``order_send`` until the outcome is known: ``complete`` makes
    it ``final`` (repeated to every later attempt), ``release`` deletes it (a transient outcome:
    nothing traded, the same id may be tried again). A ``pending`` row left by a crash or a lost
    terminal answer means "may have traded": the bridge looks for the position by its comment
    before it sends again.
    """

    def __init__(self, path: str, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS requests ("
            " request_id TEXT PRIMARY KEY,"
            " state TEXT NOT NULL CHECK (state IN ('pending', 'final')),"
            " result TEXT,"
            " created_at REAL NOT NULL,"
            " updated_at REAL NOT NULL)"
        )

    def claim(self, request_id: str) -> Claim:
        """Store ``request_id`` as pending unless it is known; say what was there."""
        now = self._clock()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT state, result FROM requests WHERE request_id = ?", (request_id,)).fetchone()
                if row is None:
                    self._db.execute(
                        "INSERT INTO requests (request_id, state, result, created_at, updated_at) VALUES (?, 'pending', NULL, ?, ?)",
                        (request_id, now, now),
                    )
                    claim = Claim("new")
                elif row[0] == "final":
                    claim = Claim("final", json.loads(row[1]))
                else:
                    claim = Claim("pending")
                self._db.execute("COMMIT")
                return claim
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def complete(self, request_id: str, result: Dict[str, Any]) -> None:
        """Store a final outcome; later attempts get it back unchanged."""
        if not is_stored_outcome(int(result["retcode"])):
            raise ValueError(f"retcode {result['retcode']} is transient: not a final outcome")
        now = self._clock()
        with self._lock:
            self._db.execute(
                "INSERT INTO requests (request_id, state, result, created_at, updated_at) VALUES (?, 'final', ?, ?, ?)"
                " ON CONFLICT(request_id) DO UPDATE SET state = 'final', result = excluded.result, updated_at = excluded.updated_at",
                (request_id, json.dumps(result), now, now),
            )

    def release(self, request_id: str) -> None:
        """Forget a pending id after a transient outcome; a final one is never released."""
        with self._lock:
            self._db.execute("DELETE FROM requests WHERE request_id = ? AND state = 'pending'", (request_id,))

    def get(self, request_id: str) -> Optional[Claim]:
        with self._lock:
            row = self._db.execute("SELECT state, result FROM requests WHERE request_id = ?", (request_id,)).fetchone()
        if row is None:
            return None
        return Claim(row[0], None if row[1] is None else json.loads(row[1]))

    def purge(self, retention_s: float = DEFAULT_RETENTION_S) -> int:
        """Delete final rows older than ``retention_s`` (pending ones are kept: they are unresolved)."""
        if retention_s < 24 * 3600:
            raise ValueError("the protocol requires remembering request ids for at least 24 hours")
        with self._lock:
            cursor = self._db.execute("DELETE FROM requests WHERE state = 'final' AND updated_at < ?", (self._clock() - retention_s,))
            return cursor.rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()


# ---------------------------------------------------------------------------------------------
# Fencing
# ---------------------------------------------------------------------------------------------


class BadRequest(Exception):
    """The request breaks the protocol: answered 400, nothing traded, nothing stored."""


HEADER_FENCING_TOKEN = "X-Fencing-Token"
STALE_FENCING_TOKEN = "stale_fencing_token"
# A decimal count that fits a JavaScript safe integer, which is what the service sends.
_FENCING_TOKEN = re.compile(r"[0-9]{1,16}")
_MAX_FENCING_TOKEN = 2**53 - 1


def fencing_token(headers: Mapping[str, str]) -> Optional[int]:
    """The request's ``X-Fencing-Token``: None when absent (single-process mode), else an integer
    ``>= 0``; anything else is BadRequest (400)."""
    raw = headers.get(HEADER_FENCING_TOKEN)
    if raw is None:
        return None
    if not _FENCING_TOKEN.fullmatch(raw) or int(raw) > _MAX_FENCING_TOKEN:
        raise BadRequest(f"{HEADER_FENCING_TOKEN} must be an integer >= 0")
    return int(raw)


def default_fencing_path(db_path: str) -> str:
    """The fencing file next to the idempotency store: ``t2.sqlite3`` -> ``t2.fencing.json``."""
    return os.path.splitext(db_path)[0] + ".fencing.json"


class FencingTokenStore:
    """The highest ``X-Fencing-Token`` this bridge (one terminal) has accepted.

    The token rises each time the account changes owner among the service's processes; a write
    with a lower one comes from a process that lost the account (paused, say) and is refused.
    The mark is durable, so a bridge restart does not let such a process back in: ``admit``
    writes a higher token to a temporary file, fsyncs it, renames it over the file and fsyncs the
    folder (POSIX; NTFS journals the rename) BEFORE the request goes on. ``path=None`` keeps it in
    memory only (tests). A file that cannot be read at start raises: forgetting the fence would
    let a stale process trade.
    """

    def __init__(self, path: Optional[str]) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._highest = self._load()

    @property
    def highest(self) -> Optional[int]:
        with self._lock:
            return self._highest

    def admit(self, token: int) -> bool:
        """True for a token at least the highest seen (raising the mark, on disk first); False for a
        lower one. Raises OSError when a higher token cannot be stored: the request must not go on."""
        with self._lock:
            if self._highest is not None and token < self._highest:
                return False
            if self._highest is None or token > self._highest:
                self._store(token)
                self._highest = token
            return True

    def _load(self) -> Optional[int]:
        if self._path is None or not os.path.exists(self._path):
            return None
        with open(self._path, "r", encoding="utf-8") as file:
            text = file.read()
        try:
            value = json.loads(text)["highest_fencing_token"]
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise ValueError(f"{self._path}: not a fencing file ({error}); refusing to start without the fence") from error
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{self._path}: highest_fencing_token must be an integer >= 0, got {value!r}")
        return value

    def _store(self, token: int) -> None:
        if self._path is None:
            return
        folder = os.path.dirname(os.path.abspath(self._path))
        temporary = self._path + ".tmp"
        with open(temporary, "w", encoding="utf-8") as file:
            file.write(json.dumps({"highest_fencing_token": token}))
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, self._path)
        if os.name == "posix":  # a folder cannot be opened for fsync on Windows
            descriptor = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)


# ---------------------------------------------------------------------------------------------
# Protocol bodies to MetaTrader5 requests
# ---------------------------------------------------------------------------------------------

MAX_COMMENT_LENGTH = 26
DEFAULT_DEVIATION = 20
_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}")
_SYMBOL = re.compile(r"[A-Za-z0-9._#+-]{1,32}")


def _number(body: Mapping[str, Any], field: str, *, required: bool, positive: bool = False) -> Optional[float]:
    value = body.get(field)
    if value is None:
        if required:
            raise BadRequest(f"{field} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value in (float("inf"), float("-inf")):
        raise BadRequest(f"{field} must be a finite number")
    if value < 0 or (positive and value == 0):
        raise BadRequest(f"{field} must be {'> 0' if positive else '>= 0'}")
    return float(value)


def _integer(body: Mapping[str, Any], field: str) -> Optional[int]:
    value = body.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadRequest(f"{field} must be an integer >= 0")
    return value


def check_request_id(body: Mapping[str, Any], idempotency_key: Optional[str]) -> str:
    request_id = body.get("request_id")
    if not isinstance(request_id, str) or not _REQUEST_ID.fullmatch(request_id):
        raise BadRequest("request_id must be 1-128 visible ASCII characters")
    if idempotency_key != request_id:
        raise BadRequest("the Idempotency-Key header must equal request_id")
    return request_id


def order_comment(body: Mapping[str, Any], request_id: str) -> str:
    """The comment carries the request id (at most 26 characters), so the position can be found later."""
    comment = body.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise BadRequest("comment must be a string")
    return (comment or request_id)[:MAX_COMMENT_LENGTH]


def filling_mode(mt5: Any, symbol_info: Any) -> int:
    """The symbol's allowed filling: FOK, else IOC, else RETURN (``symbol_info.filling_mode`` flags)."""
    flags = int(getattr(symbol_info, "filling_mode", 0) or 0)
    if flags & int(getattr(mt5, "SYMBOL_FILLING_FOK", 1)):
        return mt5.ORDER_FILLING_FOK
    if flags & int(getattr(mt5, "SYMBOL_FILLING_IOC", 2)):
        return mt5.ORDER_FILLING_IOC
    return mt5.ORDER_FILLING_RETURN


def open_request(mt5: Any, body: Mapping[str, Any], request_id: str, symbol_info: Any, tick: Any) -> Dict[str, Any]:
    """``POST /v1/orders`` body to an ``order_send`` request: a market DEAL at the current ask/bid."""
    symbol = body.get("symbol")
    if not isinstance(symbol, str) or not _SYMBOL.fullmatch(symbol):
        raise BadRequest("symbol must be 1-32 of [A-Za-z0-9._#+-]")
    side = body.get("type")
    if side not in ("buy", "sell"):
        raise BadRequest('type must be "buy" or "sell"')
    volume = _number(body, "volume", required=True, positive=True)
    sl = _number(body, "sl", required=False)
    tp = _number(body, "tp", required=False)
    deviation = _integer(body, "deviation")
    magic = _integer(body, "magic")
    return {
        "action": mt5.TRADE_ACTION_DEAL,
        "symbol": symbol,
        "volume": volume,
        "type": mt5.ORDER_TYPE_BUY if side == "buy" else mt5.ORDER_TYPE_SELL,
        "price": tick.ask if side == "buy" else tick.bid,
        "sl": sl or 0.0,
        "tp": tp or 0.0,
        "deviation": DEFAULT_DEVIATION if deviation is None else deviation,
        "magic": magic or 0,
        "comment": order_comment(body, request_id),
        "type_time": mt5.ORDER_TIME_GTC,
        "type_filling": filling_mode(mt5, symbol_info),
    }


def close_request(mt5: Any, body: Mapping[str, Any], request_id: str, position: Any, symbol_info: Any, tick: Any) -> Dict[str, Any]:
    """``POST /v1/positions/{ticket}/close`` body to an opposite DEAL on that position."""
    volume = _number(body, "volume", required=False, positive=True)
    if volume is not None and volume > float(position.volume) + 1e-9:
        raise BadRequest(f"volume {volume} exceeds the position's {position.volume}")
    deviation = _integer(body, "deviation")
    is_buy = int(position.type) == int(mt5.POSITION_TYPE_BUY)
    return {
        "action": mt5.TRADE_ACTION_DEAL,
        "symbol": position.symbol,
        "volume": float(position.volume) if volume is None else volume,
        "type": mt5.ORDER_TYPE_SELL if is_buy else mt5.ORDER_TYPE_BUY,
        "position": int(position.ticket),
        "price": tick.bid if is_buy else tick.ask,
        "deviation": DEFAULT_DEVIATION if deviation is None else deviation,
        "magic": int(getattr(position, "magic", 0) or 0),
        "comment": request_id[:MAX_COMMENT_LENGTH],
        "type_time": mt5.ORDER_TIME_GTC,
        "type_filling": filling_mode(mt5, symbol_info),
    }


def trade_answer(request_id: str, retcode: int, *, order: int = 0, deal: int = 0, position: int = 0, volume: float = 0.0, price: float = 0.0, comment: str = "") -> Dict[str, Any]:
    return {
        "request_id": request_id,
        "retcode": int(retcode),
        "order": int(order),
        "deal": int(deal),
        "position": int(position),
        "volume": float(volume),
        "price": float(price),
        "comment": str(comment),
    }


# MT5 DEAL_REASON_* by value, in the protocol's lower-case names (``so`` is a margin stop-out).
DEAL_REASONS = ("client", "mobile", "web", "expert", "sl", "tp", "so", "rollover", "vmargin", "split")
DEAL_TYPE_BUY, DEAL_TYPE_SELL = 0, 1
DEAL_ENTRY_IN = 0


def deal_view(mt5: Any, d: Any) -> Optional[Dict[str, Any]]:
    """A deal of ``history_deals_get`` as the protocol's Deal; None for a non-trade deal (balance, credit)."""
    deal_type = int(d.type)
    if deal_type not in (DEAL_TYPE_BUY, DEAL_TYPE_SELL):
        return None
    reason = int(getattr(d, "reason", 3))
    return {
        "ticket": int(d.ticket),
        "order": int(d.order),
        "position": int(d.position_id),
        "symbol": str(d.symbol),
        "type": "buy" if deal_type == DEAL_TYPE_BUY else "sell",
        # IN opens; OUT, INOUT (a reversal) and OUT_BY (closed by an opposite position) close.
        "entry": "in" if int(d.entry) == DEAL_ENTRY_IN else "out",
        "volume": float(d.volume),
        "price": float(d.price),
        "profit": float(d.profit),
        "reason": DEAL_REASONS[reason] if 0 <= reason < len(DEAL_REASONS) else "client",
        "magic": int(d.magic),
        "comment": str(d.comment),
        "time": iso_utc(float(d.time)),
    }


def position_query(path_with_query: str) -> int:
    """The ``position`` query parameter of ``/v1/deals``: a positive integer, else BadRequest."""
    query = path_with_query.split("?", 1)[1] if "?" in path_with_query else ""
    values = [value for name, _, value in (part.partition("=") for part in query.split("&")) if name == "position"]
    if len(values) != 1 or not re.fullmatch(r"[1-9][0-9]{0,18}", values[0]):
        raise BadRequest("position must be one positive integer")
    return int(values[0])


def iso_utc(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, tz=timezone.utc).isoformat().replace("+00:00", "Z")


# ---------------------------------------------------------------------------------------------
# Request targets: path prefix, the target as signed, the symbol segment
# ---------------------------------------------------------------------------------------------

_PATH_PREFIX = re.compile(r"/[A-Za-z0-9._-]{1,64}")


def check_path_prefix(prefix: str) -> str:
    """The bridge's path prefix: empty, or ``/`` and 1-64 of ``[A-Za-z0-9._-]`` (one segment, no
    trailing slash, not ``.`` or ``..``). Raises ValueError otherwise."""
    if prefix == "":
        return prefix
    if not _PATH_PREFIX.fullmatch(prefix) or prefix in ("/.", "/.."):
        raise ValueError(f"path prefix {prefix!r}: must be empty or / followed by 1-64 of [A-Za-z0-9._-], e.g. /t2")
    return prefix


def wsgi_target(environ: Mapping[str, Any]) -> str:
    """The request target (path and query) as it came on the wire: what the client signed.

    Werkzeug's server keeps it in ``RAW_URI``. Waitress (and wsgiref) give only the percent-decoded
    ``PATH_INFO``; it is encoded again the way the service encodes a path segment
    (``encodeURIComponent``: letters, digits and ``-._~!*'()`` as they are, ``#`` as ``%23``, ``+``
    as ``%2B``). The query string is passed on undecoded by every WSGI server.
    """
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if isinstance(raw, str) and raw.startswith("/"):
        return raw
    path = str(environ.get("SCRIPT_NAME") or "") + str(environ.get("PATH_INFO") or "")
    try:
        raw_path = path.encode("latin-1")  # PEP 3333: the bytes of the path, one character each
    except UnicodeEncodeError:
        raw_path = path.encode("utf-8")
    query = str(environ.get("QUERY_STRING") or "")
    return quote(raw_path, safe="/!*'()") + ("?" + query if query else "")


def symbol_segment(segment: str) -> str:
    """The ``{symbol}`` of ``/v1/symbols/{symbol}``, percent-decoded: 1-32 of ``[A-Za-z0-9._#+-]``,
    else BadRequest (400)."""
    try:
        name = unquote(segment, errors="strict")
    except UnicodeDecodeError:
        name = ""
    if not _SYMBOL.fullmatch(name):
        raise BadRequest("symbol must be 1-32 of [A-Za-z0-9._#+-] (# and + percent-encoded)")
    return name


# ---------------------------------------------------------------------------------------------
# The bridge
# ---------------------------------------------------------------------------------------------

Answer = Tuple[int, Dict[str, Any]]
_CLOSE_PATH = re.compile(r"/v1/positions/([0-9]{1,19})/close")
_SYMBOL_PATH = re.compile(r"/v1/symbols/([^/]+)")


def _error(status: int, code: str, message: str) -> Answer:
    return status, {"error": code, "message": message}


class Bridge:
    """The protocol over an ``mt5`` module (the MetaTrader5 package, or a stand-in in tests).

    ``handle`` takes the raw request and returns (status, JSON body). Calls into the terminal are
    serialised by one lock: the MetaTrader5 package is one IPC connection and not meant for
    concurrent use, and serialising also makes "claim, order_send, complete" atomic per bridge.

    With a ``path_prefix`` (``/t2``) the calls are served under it (``/t2/v1/orders``), the
    signature is checked over that full path, and any path outside it is 404.

    ``fencing`` keeps the highest ``X-Fencing-Token`` (in memory only when not given). A signed
    call with a lower one is ``409 stale_fencing_token`` before anything else; a trade checks it
    again under the terminal lock, so no stale order is sent once a newer owner has been seen.
    """

    def __init__(
        self,
        mt5: Any,
        store: IdempotencyStore,
        key_id: str,
        secret: str,
        now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
        history_lookback_s: int = 48 * 3600,
        path_prefix: str = "",
        fencing: Optional[FencingTokenStore] = None,
    ) -> None:
        if len(secret) < 16:
            raise ValueError("the bridge secret must be at least 16 characters")
        self.path_prefix = check_path_prefix(path_prefix)
        self.mt5 = mt5
        self.store = store
        self.key_id = key_id
        self.secret = secret
        self.now_ms = now_ms
        self.history_lookback_s = history_lookback_s
        self.fencing = fencing if fencing is not None else FencingTokenStore(None)
        self._lock = threading.Lock()

    def handle(self, method: str, path_with_query: str, headers: Mapping[str, str], body: bytes) -> Answer:
        method = method.upper()
        path = path_with_query.split("?", 1)[0]
        if self.path_prefix:
            # Checked before the signature, so a proxy that strips or rewrites the prefix shows up
            # as this 404 rather than as a bad signature.
            if not path.startswith(self.path_prefix + "/"):
                return _error(404, "not_found", f"{method} {path}: outside the path prefix {self.path_prefix}")
            path = path[len(self.path_prefix) :]
        # Signed over the full target as received, prefix and query included.
        ok, reason = verify_signature(self.key_id, self.secret, headers, method, path_with_query, body, self.now_ms())
        if not ok:
            return _error(401, "unauthorized", reason)
        try:
            # Fenced before anything else, a stored answer's replay included (docs/mt5-bridge.md, Fencing).
            token = fencing_token(headers)
            refused = self._fence(token)
            if refused is not None:
                return refused
            if method == "GET" and path == "/v1/health":
                return self._health()
            if method == "GET" and path == "/v1/account":
                return self._account()
            if method == "GET" and path == "/v1/positions":
                return self._positions()
            if method == "GET" and path == "/v1/deals":
                return self._deals(position_query(path_with_query))
            symbol = _SYMBOL_PATH.fullmatch(path)
            if method == "GET" and symbol is not None:
                return self._symbol(symbol_segment(symbol.group(1)))
            if method == "POST" and path == "/v1/orders":
                payload = _json_object(body)
                request_id = check_request_id(payload, headers.get(HEADER_IDEMPOTENCY_KEY))
                return self._idempotent(request_id, token, headers, lambda: self._open(payload, request_id))
            match = _CLOSE_PATH.fullmatch(path)
            if method == "POST" and match is not None:
                payload = _json_object(body)
                request_id = check_request_id(payload, headers.get(HEADER_IDEMPOTENCY_KEY))
                ticket = int(match.group(1))
                return self._idempotent(request_id, token, headers, lambda: self._close(payload, request_id, ticket))
        except BadRequest as error:
            return _error(400, "bad_request", str(error))
        return _error(404, "not_found", f"{method} {path}")

    # -- reads --------------------------------------------------------------------------------

    def _health(self) -> Answer:
        with self._lock:
            info = self.mt5.terminal_info()
        return 200, {"connected": bool(info is not None and getattr(info, "connected", False))}

    def _account(self) -> Answer:
        with self._lock:
            info = self.mt5.account_info()
        if info is None:
            return self._mt5_unavailable("account_info")
        return 200, {
            "login": int(info.login),
            "currency": str(info.currency),
            "balance": float(info.balance),
            "equity": float(info.equity),
            "margin": float(info.margin),
            "margin_free": float(info.margin_free),
            # The bridge's clock in UTC: the terminal reports no server clock outside ticks.
            "server_time": iso_utc(self.now_ms() / 1000),
        }

    def _positions(self) -> Answer:
        with self._lock:
            positions = self.mt5.positions_get()
        if positions is None:
            return self._mt5_unavailable("positions_get")
        return 200, {"positions": [self._position_view(p) for p in positions]}

    def _position_view(self, p: Any) -> Dict[str, Any]:
        return {
            "ticket": int(p.ticket),
            "symbol": str(p.symbol),
            "type": "buy" if int(p.type) == int(self.mt5.POSITION_TYPE_BUY) else "sell",
            "volume": float(p.volume),
            "price_open": float(p.price_open),
            "price_current": float(p.price_current),
            "sl": float(p.sl),
            "tp": float(p.tp),
            "profit": float(p.profit),
            "magic": int(p.magic),
            "comment": str(p.comment),
            # MT5 reports seconds in the trade server's zone; see README (server time).
            "time": iso_utc(float(p.time)),
        }

    def _deals(self, position: int) -> Answer:
        with self._lock:
            deals = self.mt5.history_deals_get(position=position)
        if deals is None:
            return self._mt5_unavailable("history_deals_get")
        views = [deal_view(self.mt5, d) for d in deals]
        return 200, {"deals": sorted((v for v in views if v is not None), key=lambda v: (v["time"], v["ticket"]))}

    def _symbol(self, name: str) -> Answer:
        terminal = tick = None
        with self._lock:
            # Into Market Watch first (as for an order), so the terminal keeps its prices current.
            self.mt5.symbol_select(name, True)
            info = self.mt5.symbol_info(name)
            if info is None:
                # Nothing from symbol_info: an unknown symbol, unless the terminal itself is gone.
                terminal = self.mt5.terminal_info()
            elif not (float(info.bid) > 0 and float(info.ask) > 0):
                tick = self.mt5.symbol_info_tick(name)  # no quote in symbol_info yet: the last tick
        if info is None:
            if terminal is None:
                return self._mt5_unavailable("symbol_info")
            return _error(404, "unknown_symbol", f"the terminal does not know {name}")
        bid, ask = float(info.bid), float(info.ask)
        if tick is not None:
            bid, ask = float(tick.bid), float(tick.ask)
        return 200, {
            "symbol": str(getattr(info, "name", "") or name),
            "digits": int(info.digits),
            "contract_size": float(info.trade_contract_size),
            "tick_size": float(info.trade_tick_size),
            "tick_value": float(info.trade_tick_value),
            "volume_min": float(info.volume_min),
            "volume_max": float(info.volume_max),
            "volume_step": float(info.volume_step),
            "bid": bid,
            "ask": ask,
        }

    def _mt5_unavailable(self, call: str) -> Answer:
        code, message = self._last_error()
        return _error(503, "mt5_unavailable", f"{call} returned nothing: {code} {message}")

    def _last_error(self) -> Tuple[Any, str]:
        try:
            code, message = self.mt5.last_error()
            return code, str(message)
        except Exception as error:  # the terminal is gone: still answer with context
            return None, repr(error)

    # -- trades -------------------------------------------------------------------------------

    def _fence(self, token: Optional[int]) -> Optional[Answer]:
        """None when the call may go on: no token, or one at least the highest seen."""
        if token is None:
            return None
        try:
            admitted = self.fencing.admit(token)
        except OSError as error:
            return _error(503, "fencing_store_error", f"could not store {HEADER_FENCING_TOKEN} {token}: {error}; nothing was sent")
        if admitted:
            return None
        return _error(409, STALE_FENCING_TOKEN, f"{HEADER_FENCING_TOKEN} {token} is below {self.fencing.highest}: another process owns this account")

    def _idempotent(
        self, request_id: str, token: Optional[int], headers: Mapping[str, str], execute: Callable[[], Answer]
    ) -> Answer:
        with self._lock:
            # Again under the terminal lock: a newer owner's call may have been admitted while this
            # one waited for it.
            refused = self._fence(token)
            if refused is not None:
                return refused
            # And the timestamp window: a request that waited here past it is not sent. The service
            # counts on it: 35 s after it last signed an order whose answer was lost, a listing
            # without the order proves it absent (docs/mt5-bridge.md).
            if abs(self.now_ms() - int(headers.get(HEADER_TIMESTAMP) or "0")) > MAX_CLOCK_SKEW_MS:
                return _error(401, "unauthorized", "timestamp outside the 30 s window (the request waited for the terminal)")
            claim = self.store.claim(request_id)
            if claim.state == "final":
                return 200, claim.result or {}
            if claim.state == "pending":
                # An earlier attempt stored the key and never got a final outcome (a crash, or no
                # answer from the terminal): it may have traded. Look before sending again.
                found = self._find_by_comment(request_id)
                if found is not None:
                    self.store.complete(request_id, found)
                    return 200, found
            try:
                status, answer = execute()
            except BadRequest:
                self.store.release(request_id)  # refused before anything was sent
                raise
            if status == 200 and is_stored_outcome(int(answer["retcode"])):
                self.store.complete(request_id, answer)
            elif status == 200:
                # A transient retcode: nothing traded, the id may be tried again.
                self.store.release(request_id)
            # Other statuses (order_send returned nothing, an exception) keep the key pending:
            # the next attempt resolves it by the comment first.
            return status, answer

    def _find_by_comment(self, request_id: str) -> Optional[Dict[str, Any]]:
        """A DONE answer rebuilt from the open position, or the deal, whose comment is the request id."""
        comment = request_id[:MAX_COMMENT_LENGTH]
        for p in self.mt5.positions_get() or ():
            if str(p.comment) == comment:
                return trade_answer(request_id, RETCODE["DONE"], order=int(p.ticket), position=int(p.ticket), volume=float(p.volume), price=float(p.price_open), comment="resolved by comment")
        now_s = self.now_ms() / 1000
        deals = self.mt5.history_deals_get(datetime.fromtimestamp(now_s - self.history_lookback_s, tz=timezone.utc), datetime.fromtimestamp(now_s + 60, tz=timezone.utc))
        for d in deals or ():
            if str(d.comment) == comment:
                return trade_answer(request_id, RETCODE["DONE"], order=int(d.order), deal=int(d.ticket), position=int(d.position_id), volume=float(d.volume), price=float(d.price), comment="resolved by comment")
        return None

    def _open(self, payload: Mapping[str, Any], request_id: str) -> Answer:
        symbol = payload.get("symbol")
        if isinstance(symbol, str) and _SYMBOL.fullmatch(symbol):
            self.mt5.symbol_select(symbol, True)
            info = self.mt5.symbol_info(symbol)
            if info is None:
                return 200, trade_answer(request_id, RETCODE["INVALID"], comment=f"unknown symbol {symbol}")
            tick = self.mt5.symbol_info_tick(symbol)
            if tick is None:
                return 200, trade_answer(request_id, RETCODE["PRICE_OFF"], comment=f"no price for {symbol}")
        else:
            info = tick = None
        request = open_request(self.mt5, payload, request_id, info, tick)
        return self._send(request_id, request, position_hint=None)

    def _close(self, payload: Mapping[str, Any], request_id: str, ticket: int) -> Answer:
        found = self.mt5.positions_get(ticket=ticket)
        if not found:
            answer = trade_answer(request_id, RETCODE["POSITION_CLOSED"], position=ticket, comment="Position doesn't exist")
            return 200, answer
        position = found[0]
        info = self.mt5.symbol_info(position.symbol)
        tick = self.mt5.symbol_info_tick(position.symbol)
        if info is None or tick is None:
            return 200, trade_answer(request_id, RETCODE["PRICE_OFF"], position=ticket, comment=f"no price for {position.symbol}")
        request = close_request(self.mt5, payload, request_id, position, info, tick)
        return self._send(request_id, request, position_hint=ticket)

    def _send(self, request_id: str, request: Dict[str, Any], position_hint: Optional[int]) -> Answer:
        try:
            result = self.mt5.order_send(request)
        except Exception as error:
            return _error(503, "mt5_error", f"order_send raised {error!r}; the key stays pending and is resolved by comment on retry")
        if result is None:
            code, message = self._last_error()
            return _error(503, "mt5_error", f"order_send returned nothing: {code} {message}; resolved by comment on retry")
        retcode = int(result.retcode)
        position = position_hint if position_hint is not None else self._position_of(result)
        return 200, trade_answer(
            request_id,
            retcode,
            order=int(getattr(result, "order", 0) or 0),
            deal=int(getattr(result, "deal", 0) or 0),
            position=position if classify_retcode(retcode) in ("filled", "placed", "partial", "already_closed") else 0,
            volume=float(getattr(result, "volume", 0.0) or 0.0),
            price=float(getattr(result, "price", 0.0) or 0.0),
            comment=str(getattr(result, "comment", "") or ""),
        )

    def _position_of(self, result: Any) -> int:
        """The position a deal opened (``deal.position_id``); the order ticket when the deal is not listed yet."""
        deal = int(getattr(result, "deal", 0) or 0)
        if deal > 0:
            deals = self.mt5.history_deals_get(ticket=deal)
            if deals:
                return int(deals[0].position_id)
        return int(getattr(result, "order", 0) or 0)


def _json_object(body: bytes) -> Dict[str, Any]:
    try:
        parsed = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadRequest(f"body is not JSON: {error}") from error
    if not isinstance(parsed, dict):
        raise BadRequest("body must be a JSON object")
    return parsed
