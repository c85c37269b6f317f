import os
import tempfile
import unittest

from support import KEY_ID, NOW_MS, SECRET, FakeMt5, bridge_core, signed

SYMBOL_FIELDS = {"symbol", "digits", "contract_size", "tick_size", "tick_value", "volume_min", "volume_max", "volume_step", "bid", "ask"}


def order(request_id="o-abc"):
    return {"request_id": request_id, "symbol": "EURUSD", "type": "buy", "volume": 0.1, "magic": 19019, "comment": request_id}


class BridgeCase(unittest.TestCase):
    prefix = ""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.mt5 = FakeMt5()
        self.store = bridge_core.IdempotencyStore(os.path.join(self.dir.name, "ids.sqlite3"))
        self.bridge = bridge_core.Bridge(self.mt5, self.store, KEY_ID, SECRET, now_ms=lambda: NOW_MS, path_prefix=self.prefix)

    def tearDown(self):
        self.store.close()
        self.dir.cleanup()

    def call(self, *args, **kwargs):
        return self.bridge.handle(*signed(*args, **kwargs))


class SymbolTest(BridgeCase):
    def test_answers_the_documented_shape_from_symbol_info(self):
        status, info = self.call("GET", "/v1/symbols/EURUSD")
        self.assertEqual(status, 200)
        self.assertEqual(set(info), SYMBOL_FIELDS)
        self.assertEqual(info, {
            "symbol": "EURUSD", "digits": 5, "contract_size": 100000.0, "tick_size": 0.00001, "tick_value": 1.0,
            "volume_min": 0.01, "volume_max": 100.0, "volume_step": 0.01, "bid": 1.0900, "ask": 1.0902,
        })
        self.assertIsInstance(info["digits"], int)
        self.assertTrue(all(isinstance(info[f], float) for f in SYMBOL_FIELDS - {"symbol", "digits"}))
        self.assertEqual(self.mt5.selected, ["EURUSD"])  # symbol_select first, as for an order

    def test_takes_the_quote_from_the_last_tick_when_symbol_info_has_none(self):
        status, info = self.call("GET", "/v1/symbols/XAUUSD")
        self.assertEqual(status, 200)
        self.assertEqual((info["symbol"], info["contract_size"], info["tick_size"], info["bid"], info["ask"]), ("XAUUSD", 100.0, 0.01, 2000.0, 2000.5))
        del self.mt5.ticks["XAUUSD"]
        self.assertEqual(self.call("GET", "/v1/symbols/XAUUSD")[1]["bid"], 0.0)

    def test_a_percent_encoded_name_is_decoded_and_signed_as_sent(self):
        status, info = self.call("GET", "/v1/symbols/EURUSD%23")
        self.assertEqual((status, info["symbol"], info["volume_step"]), (200, "EURUSD#", 0.1))
        # Signed over the decoded form but sent encoded: not the target received.
        method, _, headers, body = signed("GET", "/v1/symbols/EURUSD#")
        self.assertEqual(self.bridge.handle(method, "/v1/symbols/EURUSD%23", headers, body)[0], 401)

    def test_an_unknown_symbol_is_404_unknown_symbol(self):
        status, answer = self.call("GET", "/v1/symbols/NOSUCH")
        self.assertEqual((status, answer["error"]), (404, "unknown_symbol"))
        self.assertEqual(self.call("GET", "/v1/symbols/EURUSD%2B")[1]["error"], "unknown_symbol")  # EURUSD+

    def test_a_lost_terminal_is_503_not_an_unknown_symbol(self):
        self.mt5.ipc = False
        status, answer = self.call("GET", "/v1/symbols/EURUSD")
        self.assertEqual((status, answer["error"]), (503, "mt5_unavailable"))

    def test_a_bad_signature_is_401_and_asks_the_terminal_nothing(self):
        method, target, headers, body = signed("GET", "/v1/symbols/EURUSD")
        headers["X-Signature"] = "0" * 64
        status, answer = self.bridge.handle(method, target, headers, body)
        self.assertEqual((status, answer["error"]), (401, "unauthorized"))
        self.assertEqual(self.call("GET", "/v1/symbols/EURUSD", secret="x" * 32)[0], 401)
        self.assertEqual(self.call("GET", "/v1/symbols/NOSUCH", now_ms=NOW_MS + 31_000)[0], 401)
        self.assertEqual(self.mt5.selected, [])

    def test_a_name_that_is_not_a_symbol_is_400(self):
        for segment in ("EUR%20USD", "A" * 33, "EURUSD%2Fx", "%FF", "EUR$USD", "%E2%82%AC"):
            status, answer = self.call("GET", f"/v1/symbols/{segment}")
            self.assertEqual((status, answer["error"]), (400, "bad_request"), segment)
        self.assertEqual(self.call("GET", "/v1/symbols/" + "A" * 32)[0], 404)  # 32 is a name, just unknown
        self.assertEqual(self.mt5.selected, ["A" * 32])

    def test_other_shapes_of_the_path_are_404_not_found(self):
        for method, target in (("GET", "/v1/symbols/"), ("GET", "/v1/symbols"), ("GET", "/v1/symbols/EURUSD/x"), ("POST", "/v1/symbols/EURUSD")):
            status, answer = self.call(method, target, {} if method == "POST" else None)
            self.assertEqual((status, answer["error"]), (404, "not_found"), target)


class PrefixTest(BridgeCase):
    prefix = "/t2"

    def test_serves_every_call_under_the_prefix(self):
        self.assertEqual(self.call("GET", "/t2/v1/health"), (200, {"connected": True}))
        self.assertEqual(self.call("GET", "/t2/v1/account")[0], 200)
        self.assertEqual(self.call("GET", "/t2/v1/symbols/EURUSD")[1]["symbol"], "EURUSD")
        self.assertEqual(self.call("GET", "/t2/v1/symbols/NOSUCH")[0], 404)
        opened = self.call("POST", "/t2/v1/orders", order())[1]
        self.assertEqual(opened["retcode"], 10009)
        self.assertEqual([p["comment"] for p in self.call("GET", "/t2/v1/positions")[1]["positions"]], ["o-abc"])
        ticket = opened["position"]
        self.assertEqual(len(self.call("GET", f"/t2/v1/deals?position={ticket}")[1]["deals"]), 1)
        closed = self.call("POST", f"/t2/v1/positions/{ticket}/close", {"request_id": "c-1"})[1]
        self.assertEqual((closed["retcode"], closed["position"]), (10009, ticket))
        self.assertEqual(self.call("GET", "/t2/v1/orders")[0], 404)

    def test_the_signature_covers_the_full_path_prefix_included(self):
        method, _, headers, body = signed("GET", "/v1/health")
        status, answer = self.bridge.handle(method, "/t2/v1/health", headers, body)
        self.assertEqual((status, answer["error"], answer["message"]), (401, "unauthorized", "bad signature"))
        method, _, headers, body = signed("POST", "/v1/orders", order())
        self.assertEqual(self.bridge.handle(method, "/t2/v1/orders", headers, body)[0], 401)
        self.assertEqual(self.mt5.sent, [])

    def test_a_path_outside_the_prefix_is_404_even_unsigned(self):
        for target in ("/v1/health", "/t20/v1/health", "/t2", "/T2/v1/health", "/x/t2/v1/health", "/t2v1/health"):
            status, answer = self.call("GET", target)
            self.assertEqual((status, answer["error"]), (404, "not_found"), target)
        # Before the signature check: a proxy that strips the prefix is told so, not "bad signature".
        status, answer = self.bridge.handle("GET", "/v1/health", {}, b"")
        self.assertEqual(status, 404)
        self.assertIn("outside the path prefix /t2", answer["message"])
        self.assertEqual(self.call("POST", "/v1/orders", order())[0], 404)
        self.assertEqual(self.mt5.sent, [])

    def test_without_a_prefix_the_prefixed_path_is_404(self):
        bare = bridge_core.Bridge(self.mt5, self.store, KEY_ID, SECRET, now_ms=lambda: NOW_MS)
        self.assertEqual(bare.handle(*signed("GET", "/t2/v1/health"))[0], 404)
        self.assertEqual(bare.handle(*signed("GET", "/v1/health"))[0], 200)


class PrefixConfigurationTest(unittest.TestCase):
    def test_accepts_empty_or_one_segment(self):
        for prefix in ("", "/t2", "/terminal.2_a-b", "/" + "a" * 64):
            self.assertEqual(bridge_core.check_path_prefix(prefix), prefix)

    def test_refuses_anything_else(self):
        for prefix in ("/", "t2", "/t2/", "/t2/x", "//t2", "/" + "a" * 65, "/.", "/..", "/t 2", "/t%32", "/t2?x", "/t#2"):
            with self.assertRaises(ValueError, msg=prefix):
                bridge_core.check_path_prefix(prefix)
        with self.assertRaises(ValueError):
            bridge_core.Bridge(FakeMt5(), None, KEY_ID, SECRET, path_prefix="/t2/")


class WsgiTargetTest(unittest.TestCase):
    def test_keeps_the_raw_target_when_the_server_gives_it(self):
        environ = {"RAW_URI": "/t2/v1/symbols/EURUSD%23", "PATH_INFO": "/t2/v1/symbols/EURUSD#", "QUERY_STRING": ""}
        self.assertEqual(bridge_core.wsgi_target(environ), "/t2/v1/symbols/EURUSD%23")
        self.assertEqual(bridge_core.wsgi_target({"REQUEST_URI": "/v1/deals?position=7"}), "/v1/deals?position=7")

    def test_encodes_a_decoded_path_again_as_the_service_does(self):
        # What waitress and wsgiref give: PATH_INFO percent-decoded, the query as sent.
        cases = {
            "/v1/health": "/v1/health",
            "/t2/v1/orders": "/t2/v1/orders",
            "/v1/symbols/EURUSD#": "/v1/symbols/EURUSD%23",
            "/v1/symbols/US30+": "/v1/symbols/US30%2B",
            "/v1/symbols/EUR.m_x-y": "/v1/symbols/EUR.m_x-y",
        }
        for path_info, target in cases.items():
            self.assertEqual(bridge_core.wsgi_target({"PATH_INFO": path_info, "QUERY_STRING": ""}), target)
        self.assertEqual(bridge_core.wsgi_target({"SCRIPT_NAME": "/t2", "PATH_INFO": "/v1/deals", "QUERY_STRING": "position=7"}), "/t2/v1/deals?position=7")
        self.assertEqual(bridge_core.wsgi_target({"PATH_INFO": "/v1/health", "RAW_URI": "http://h/v1/health"}), "/v1/health")


if __name__ == "__main__":
    unittest.main()
