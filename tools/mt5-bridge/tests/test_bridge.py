import os
import sys
import tempfile
import unittest

from support import NOW_MS, FakeMt5, bridge_core, signed


def order(request_id="o-abc", **extra):
    return dict({"request_id": request_id, "symbol": "EURUSD", "type": "buy", "volume": 0.1, "magic": 19019, "comment": request_id}, **extra)


class BridgeTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.db = os.path.join(self.dir.name, "ids.sqlite3")
        self.mt5 = FakeMt5()
        self.store = bridge_core.IdempotencyStore(self.db)
        self.bridge = self.make_bridge()

    def make_bridge(self):
        from support import KEY_ID, SECRET

        return bridge_core.Bridge(self.mt5, self.store, KEY_ID, SECRET, now_ms=lambda: NOW_MS)

    def tearDown(self):
        self.store.close()
        self.dir.cleanup()

    def call(self, *args, **kwargs):
        return self.bridge.handle(*signed(*args, **kwargs))

    def test_is_importable_without_flask_or_metatrader5(self):
        self.assertNotIn("flask", sys.modules)
        self.assertNotIn("MetaTrader5", sys.modules)

    def test_every_call_needs_a_good_signature(self):
        method, target, headers, body = signed("POST", "/v1/orders", order())
        headers["X-Signature"] = "0" * 64
        self.assertEqual(self.bridge.handle(method, target, headers, body)[0], 401)
        self.assertEqual(self.call("GET", "/v1/health", now_ms=NOW_MS - 31_000)[0], 401)
        self.assertEqual(self.mt5.sent, [])

    def test_reads(self):
        self.assertEqual(self.call("GET", "/v1/health"), (200, {"connected": True}))
        self.mt5.connected = False
        self.assertEqual(self.call("GET", "/v1/health"), (200, {"connected": False}))
        status, account = self.call("GET", "/v1/account")
        self.assertEqual(status, 200)
        self.assertEqual({k: account[k] for k in ("login", "currency", "equity", "margin_free")}, {"login": 123, "currency": "USD", "equity": 9950.0, "margin_free": 9830.0})
        self.assertTrue(account["server_time"].endswith("Z"))
        self.mt5.account = None
        self.assertEqual(self.call("GET", "/v1/account")[0], 503)

    def test_an_order_fills_once_and_a_repeat_gets_the_stored_answer(self):
        status, first = self.call("POST", "/v1/orders", order())
        self.assertEqual(status, 200)
        self.assertEqual((first["request_id"], first["retcode"]), ("o-abc", 10009))
        self.assertEqual(first["position"], first["order"])
        status, again = self.call("POST", "/v1/orders", order())
        self.assertEqual((status, again), (200, first))
        self.assertEqual(len(self.mt5.sent), 1)
        status, listed = self.call("GET", "/v1/positions")
        self.assertEqual([(p["comment"], p["type"], p["magic"]) for p in listed["positions"]], [("o-abc", "buy", 19019)])

    def test_the_key_is_stored_before_order_send(self):
        seen = []
        original = self.mt5.order_send
        self.mt5.order_send = lambda request: (seen.append(self.store.get("o-abc")), original(request))[1]
        self.call("POST", "/v1/orders", order())
        self.assertEqual(seen, [bridge_core.Claim("pending")])
        self.assertEqual(self.store.get("o-abc").state, "final")

    def test_a_transient_retcode_is_not_stored_so_the_same_id_trades_on_retry(self):
        self.mt5.next_results = [{"retcode": 10004}]
        self.assertEqual(self.call("POST", "/v1/orders", order())[1]["retcode"], 10004)
        self.assertIsNone(self.store.get("o-abc"))
        self.assertEqual(self.call("POST", "/v1/orders", order())[1]["retcode"], 10009)
        self.assertEqual(len(self.mt5.open), 1)

    def test_a_final_failure_is_stored_and_repeated_without_trading(self):
        self.mt5.next_results = [{"retcode": 10019}]
        self.assertEqual(self.call("POST", "/v1/orders", order())[1]["retcode"], 10019)
        self.assertEqual(self.call("POST", "/v1/orders", order())[1]["retcode"], 10019)
        self.assertEqual(len(self.mt5.sent), 1)
        self.assertEqual(self.mt5.open, {})

    def test_a_lost_terminal_answer_is_resolved_by_the_comment_not_sent_again(self):
        # order_send traded, then returned nothing (IPC lost): 503, the key stays pending.
        self.mt5.next_results = [{"retcode": None, "execute": True}]
        status, answer = self.call("POST", "/v1/orders", order())
        self.assertEqual((status, answer["error"]), (503, "mt5_error"))
        self.assertEqual(self.store.get("o-abc").state, "pending")
        status, again = self.call("POST", "/v1/orders", order())
        self.assertEqual((status, again["retcode"]), (200, 10009))
        self.assertEqual(again["position"], next(iter(self.mt5.open)))
        self.assertEqual((len(self.mt5.sent), len(self.mt5.open)), (1, 1))
        self.assertEqual(self.store.get("o-abc").state, "final")

    def test_a_pending_key_after_a_restart_is_found_among_deals_when_the_position_is_already_closed(self):
        self.mt5.next_results = [{"retcode": RuntimeError("terminal crashed"), "execute": True}]
        self.assertEqual(self.call("POST", "/v1/orders", order())[0], 503)
        self.mt5.open.clear()  # closed meanwhile (stop loss): only the deal history knows
        self.store.close()
        self.store = bridge_core.IdempotencyStore(self.db)
        self.bridge = self.make_bridge()
        status, answer = self.call("POST", "/v1/orders", order())
        self.assertEqual((status, answer["retcode"], answer["comment"]), (200, 10009, "resolved by comment"))
        self.assertEqual(len(self.mt5.sent), 1)

    def test_a_pending_key_with_no_trade_found_is_sent_again(self):
        self.mt5.next_results = [{"retcode": None, "execute": False}]
        self.assertEqual(self.call("POST", "/v1/orders", order())[0], 503)
        self.assertEqual(self.call("POST", "/v1/orders", order())[1]["retcode"], 10009)
        self.assertEqual((len(self.mt5.sent), len(self.mt5.open)), (2, 1))

    def test_bad_bodies_are_400_and_leave_no_key(self):
        self.assertEqual(self.call("POST", "/v1/orders", order(volume=-1))[0], 400)
        self.assertIsNone(self.store.get("o-abc"))
        method, target, headers, body = signed("POST", "/v1/orders", order())
        headers["Idempotency-Key"] = "other"
        self.assertEqual(self.bridge.handle(method, target, headers, body)[0], 400)
        self.assertEqual(self.mt5.sent, [])

    def test_unknown_symbol_is_a_final_invalid_and_no_price_is_transient(self):
        self.assertEqual(self.call("POST", "/v1/orders", order("o-x", symbol="NOPE"))[1]["retcode"], 10013)
        del self.mt5.ticks["EURUSD"]
        self.assertEqual(self.call("POST", "/v1/orders", order("o-y"))[1]["retcode"], 10021)
        self.assertIsNone(self.store.get("o-y"))
        self.assertEqual(self.mt5.sent, [])

    def test_close_whole_and_already_closed(self):
        opened = self.call("POST", "/v1/orders", order())[1]
        ticket = opened["position"]
        status, closed = self.call("POST", f"/v1/positions/{ticket}/close", {"request_id": "c-1"})
        self.assertEqual((status, closed["retcode"], closed["position"]), (200, 10009, ticket))
        self.assertEqual(self.mt5.open, {})
        self.assertEqual(self.mt5.sent[-1]["comment"], "c-1")
        status, gone = self.call("POST", f"/v1/positions/{ticket}/close", {"request_id": "c-2"})
        self.assertEqual((status, gone["retcode"], gone["position"]), (200, 10036, ticket))
        self.assertEqual(self.call("POST", f"/v1/positions/{ticket}/close", {"request_id": "c-1"})[1], closed)

    def test_deals_of_a_position_say_how_it_ended(self):
        opened = self.call("POST", "/v1/orders", order())[1]
        ticket = opened["position"]
        status, answer = self.call("GET", f"/v1/deals?position={ticket}")
        self.assertEqual(status, 200)
        self.assertEqual([(d["entry"], d["type"], d["reason"]) for d in answer["deals"]], [("in", "buy", "expert")])
        self.mt5.close_by_stop(ticket, reason=4, price=1.0850)
        deals = self.call("GET", f"/v1/deals?position={ticket}")[1]["deals"]
        self.assertEqual([(d["entry"], d["type"], d["reason"], d["price"]) for d in deals], [("in", "buy", "expert", opened["price"]), ("out", "sell", "sl", 1.0850)])
        self.assertTrue(all(d["position"] == ticket and d["time"].endswith("Z") for d in deals))
        self.assertEqual(self.call("GET", "/v1/deals?position=999999")[1], {"deals": []})

    def test_deals_need_one_positive_position(self):
        for target in ("/v1/deals", "/v1/deals?position=0", "/v1/deals?position=x", "/v1/deals?position=1&position=2"):
            self.assertEqual(self.call("GET", target)[0], 400, target)

    def test_unknown_routes_are_404(self):
        self.assertEqual(self.call("GET", "/v1/orders")[0], 404)
        self.assertEqual(self.call("POST", "/v1/positions/x/close", {"request_id": "c-1"})[0], 404)


if __name__ == "__main__":
    unittest.main()
