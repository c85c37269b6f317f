import unittest
from types import SimpleNamespace

from support import FakeMt5, bridge_core


class RetcodeTest(unittest.TestCase):
    def test_classes_follow_the_protocol_table(self):
        expected = {
            10009: "filled", 10008: "placed", 10010: "partial",
            10004: "transient", 10020: "transient", 10021: "transient", 10024: "transient", 10031: "transient",
            10006: "final", 10013: "final", 10014: "final", 10015: "final", 10016: "final", 10018: "final", 10019: "final", 10027: "final",
            10036: "already_closed",
        }
        for code, cls in expected.items():
            self.assertEqual(bridge_core.classify_retcode(code), cls, code)

    def test_unknown_codes_are_final_never_a_fill(self):
        self.assertEqual(bridge_core.classify_retcode(10099), "final")
        self.assertTrue(bridge_core.is_stored_outcome(10099))

    def test_only_transient_codes_are_not_stored(self):
        stored = {code for code in bridge_core.RETCODE.values() if bridge_core.is_stored_outcome(code)}
        self.assertEqual(set(bridge_core.RETCODE.values()) - stored, {10004, 10020, 10021, 10024, 10031})


class TranslationTest(unittest.TestCase):
    def setUp(self):
        self.mt5 = FakeMt5()
        self.tick = SimpleNamespace(bid=1.09, ask=1.0902)

    def test_open_buy_is_a_market_deal_at_the_ask_carrying_the_request_id(self):
        body = {"request_id": "o-0123456789abcdef0123456789", "symbol": "EURUSD", "type": "buy", "volume": 0.1, "sl": 1.08, "magic": 19019}
        request = bridge_core.open_request(self.mt5, body, body["request_id"], SimpleNamespace(filling_mode=2), self.tick)
        self.assertEqual(request, {
            "action": 1, "symbol": "EURUSD", "volume": 0.1, "type": 0, "price": 1.0902, "sl": 1.08, "tp": 0.0,
            "deviation": 20, "magic": 19019, "comment": "o-0123456789abcdef01234567", "type_time": 0, "type_filling": 1,
        })
        self.assertEqual(len(request["comment"]), 26)

    def test_open_sell_uses_the_bid_and_a_given_comment_and_deviation(self):
        body = {"request_id": "o-1", "symbol": "EURUSD", "type": "sell", "volume": 0.2, "deviation": 5, "comment": "o-1"}
        request = bridge_core.open_request(self.mt5, body, "o-1", SimpleNamespace(filling_mode=1), self.tick)
        self.assertEqual((request["type"], request["price"], request["deviation"], request["comment"], request["type_filling"]), (1, 1.09, 5, "o-1", 0))

    def test_filling_falls_back_to_return(self):
        self.assertEqual(bridge_core.filling_mode(self.mt5, SimpleNamespace(filling_mode=0)), self.mt5.ORDER_FILLING_RETURN)

    def test_bad_bodies_are_refused_naming_the_field(self):
        base = {"request_id": "o-1", "symbol": "EURUSD", "type": "buy", "volume": 0.1}
        for change, field in [({"volume": 0}, "volume"), ({"volume": True}, "volume"), ({"volume": float("nan")}, "volume"), ({"type": "hold"}, "type"),
                              ({"symbol": ""}, "symbol"), ({"sl": -1}, "sl"), ({"magic": 1.5}, "magic"), ({"comment": 3}, "comment")]:
            with self.assertRaises(bridge_core.BadRequest) as caught:
                bridge_core.open_request(self.mt5, dict(base, **change), "o-1", SimpleNamespace(filling_mode=1), self.tick)
            self.assertIn(field, str(caught.exception))

    def test_request_id_must_match_the_idempotency_key(self):
        self.assertEqual(bridge_core.check_request_id({"request_id": "o-1"}, "o-1"), "o-1")
        with self.assertRaises(bridge_core.BadRequest):
            bridge_core.check_request_id({"request_id": "o-1"}, "o-2")
        with self.assertRaises(bridge_core.BadRequest):
            bridge_core.check_request_id({"request_id": "has space"}, "has space")

    def test_close_is_the_opposite_deal_on_the_position_whole_or_part(self):
        position = SimpleNamespace(ticket=7, symbol="EURUSD", type=0, volume=0.3, magic=19019)
        whole = bridge_core.close_request(self.mt5, {"request_id": "c-1"}, "c-1", position, SimpleNamespace(filling_mode=1), self.tick)
        self.assertEqual((whole["type"], whole["position"], whole["volume"], whole["price"], whole["magic"], whole["comment"]), (1, 7, 0.3, 1.09, 19019, "c-1"))
        part = bridge_core.close_request(self.mt5, {"request_id": "c-2", "volume": 0.1}, "c-2", SimpleNamespace(ticket=8, symbol="EURUSD", type=1, volume=0.3, magic=0), SimpleNamespace(filling_mode=1), self.tick)
        self.assertEqual((part["type"], part["volume"], part["price"]), (0, 0.1, 1.0902))
        with self.assertRaises(bridge_core.BadRequest):
            bridge_core.close_request(self.mt5, {"request_id": "c-3", "volume": 0.5}, "c-3", position, SimpleNamespace(filling_mode=1), self.tick)


if __name__ == "__main__":
    unittest.main()
