"""Test helpers: the bridge directory on sys.path, a stand-in MetaTrader5 module, signed requests."""

from __future__ import annotations

import json
import os
import sys
import types
from types import SimpleNamespace
from typing import Any, Dict, List, Optional

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

import bridge_core  # noqa: E402

KEY_ID = "bot-1"
SECRET = "a-test-secret-of-32-characters!!"
NOW_MS = 1_764_064_800_000


def symbol_record(name: str, **fields: Any) -> SimpleNamespace:
    """What ``symbol_info`` returns: the fields the bridge reads, named as in the package."""
    return SimpleNamespace(name=name, **fields)


class FakeMt5(types.ModuleType):
    """A stand-in for the MetaTrader5 package: its constants and the calls the bridge makes.

    ``order_send`` fills at the tick by default; ``next_results`` queues other behaviour, one dict
    per call: ``{"retcode": int | None | Exception, "execute": bool}``. ``None`` means order_send
    returned nothing, an Exception is raised; ``execute`` (default: retcode is DONE) opens the
    position anyway, i.e. the terminal traded and the answer was lost.
    """

    TRADE_ACTION_DEAL = 1
    ORDER_TYPE_BUY = 0
    ORDER_TYPE_SELL = 1
    ORDER_TIME_GTC = 0
    ORDER_FILLING_FOK = 0
    ORDER_FILLING_IOC = 1
    ORDER_FILLING_RETURN = 2
    SYMBOL_FILLING_FOK = 1
    SYMBOL_FILLING_IOC = 2
    POSITION_TYPE_BUY = 0
    POSITION_TYPE_SELL = 1

    def __init__(self) -> None:
        super().__init__("MetaTrader5")
        self.connected = True
        self.ipc = True  # False: the terminal is gone (terminal_info and symbol_info answer None)
        self.account: Optional[SimpleNamespace] = SimpleNamespace(login=123, currency="USD", balance=10_000.0, equity=9_950.0, margin=120.0, margin_free=9_830.0)
        self.open: Dict[int, SimpleNamespace] = {}
        self.deals: List[SimpleNamespace] = []
        self.sent: List[Dict[str, Any]] = []
        self.next_results: List[Any] = []
        # symbol_info: EURUSD quotes in it; XAUUSD has no quote there yet (0), only a tick;
        # EURUSD# is a broker's suffixed name (the # travels percent-encoded).
        self.symbols = {
            "EURUSD": symbol_record("EURUSD", filling_mode=2, digits=5, trade_contract_size=100_000.0, trade_tick_size=0.00001, trade_tick_value=1.0, volume_min=0.01, volume_max=100.0, volume_step=0.01, bid=1.0900, ask=1.0902),
            "XAUUSD": symbol_record("XAUUSD", filling_mode=1, digits=2, trade_contract_size=100.0, trade_tick_size=0.01, trade_tick_value=1.0, volume_min=0.01, volume_max=50.0, volume_step=0.01, bid=0.0, ask=0.0),
            "EURUSD#": symbol_record("EURUSD#", filling_mode=2, digits=5, trade_contract_size=100_000.0, trade_tick_size=0.00001, trade_tick_value=1.0, volume_min=0.1, volume_max=10.0, volume_step=0.1, bid=1.0901, ask=1.0904),
        }
        self.ticks = {"EURUSD": SimpleNamespace(bid=1.0900, ask=1.0902), "XAUUSD": SimpleNamespace(bid=2000.0, ask=2000.5), "EURUSD#": SimpleNamespace(bid=1.0901, ask=1.0904)}
        self.selected: List[str] = []
        self._ticket = 7
        self._deal = 12

    # -- reads --
    def terminal_info(self):
        return SimpleNamespace(connected=self.connected, trade_allowed=True) if self.ipc else None

    def account_info(self):
        return self.account

    def last_error(self):
        return (-10004, "No IPC connection")

    def positions_get(self, ticket: Optional[int] = None):
        if ticket is not None:
            return tuple(p for p in self.open.values() if p.ticket == ticket)
        return tuple(self.open.values())

    def history_deals_get(self, *args, ticket: Optional[int] = None, position: Optional[int] = None):
        if ticket is not None:
            return tuple(d for d in self.deals if d.ticket == ticket)
        if position is not None:
            return tuple(d for d in self.deals if d.position_id == position)
        return tuple(self.deals)

    def close_by_stop(self, ticket: int, reason: int, price: float) -> None:
        """The terminal closes a position by itself: a stop loss (4), take profit (5) or stop-out (6)."""
        position = self.open.pop(ticket)
        self._deal += 1
        self.deals.append(self._deal_record(position, entry=1, reason=reason, volume=position.volume, price=price, order=0, comment=position.comment))

    def _deal_record(self, position, *, entry: int, reason: int, volume: float, price: float, order: int, comment: str):
        closing_type = 1 - position.type if entry == 1 else position.type
        return SimpleNamespace(
            ticket=self._deal, order=order, position_id=position.ticket, symbol=position.symbol, type=closing_type, entry=entry,
            volume=volume, price=price, profit=0.0, reason=reason, magic=position.magic, comment=comment, time=NOW_MS // 1000,
        )

    def symbol_select(self, symbol, enable):
        self.selected.append(symbol)
        return symbol in self.symbols

    def symbol_info(self, symbol):
        return self.symbols.get(symbol) if self.ipc else None

    def symbol_info_tick(self, symbol):
        return self.ticks.get(symbol)

    # -- trading --
    def order_send(self, request: Dict[str, Any]):
        self.sent.append(dict(request))
        plan = self.next_results.pop(0) if self.next_results else {"retcode": 10009}
        retcode = plan.get("retcode", 10009)
        result = self._execute(request) if plan.get("execute", retcode == 10009) else None
        if isinstance(retcode, Exception):
            raise retcode
        if retcode is None:
            return None
        if result is not None and retcode == 10009:
            return result
        return SimpleNamespace(retcode=retcode, order=0, deal=0, volume=0.0, price=0.0, comment="stub retcode")

    def _execute(self, request):
        self._ticket += 1
        self._deal += 1
        if "position" in request:
            position = self.open[request["position"]]
            remaining = round(position.volume - request["volume"], 2)
            if remaining <= 0:
                del self.open[position.ticket]
            else:
                position.volume = remaining
            self.deals.append(self._deal_record(position, entry=1, reason=3, volume=request["volume"], price=request["price"], order=self._ticket, comment=request["comment"]))
            return SimpleNamespace(retcode=10009, order=self._ticket, deal=self._deal, volume=request["volume"], price=request["price"], comment="Request executed")
        ticket = self._ticket
        self.open[ticket] = SimpleNamespace(
            ticket=ticket, symbol=request["symbol"], type=0 if request["type"] == self.ORDER_TYPE_BUY else 1, volume=request["volume"],
            price_open=request["price"], price_current=request["price"], sl=request["sl"], tp=request["tp"], profit=0.0,
            magic=request["magic"], comment=request["comment"], time=NOW_MS // 1000,
        )
        self.deals.append(self._deal_record(self.open[ticket], entry=0, reason=3, volume=request["volume"], price=request["price"], order=ticket, comment=request["comment"]))
        return SimpleNamespace(retcode=10009, order=ticket, deal=self._deal, volume=request["volume"], price=request["price"], comment="Request executed")


class Headers(dict):
    """Case-insensitive header lookup, like Flask's."""

    def get(self, key, default=None):
        for name, value in self.items():
            if name.lower() == key.lower():
                return value
        return default


def signed(method: str, target: str, body: Optional[Dict[str, Any]] = None, *, now_ms: int = NOW_MS, secret: str = SECRET, key_id: str = KEY_ID, idempotency: bool = True):
    raw = b"" if body is None else json.dumps(body).encode("utf-8")
    ts = str(now_ms)
    headers = Headers({"X-Api-Key": key_id, "X-Timestamp": ts, "X-Signature": bridge_core.sign(secret, ts, method, target, raw)})
    if body is not None and idempotency and "request_id" in body:
        headers["Idempotency-Key"] = body["request_id"]
    return method, target, headers, raw
