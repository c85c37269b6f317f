"""Fencing (docs/mt5-bridge.md): the highest X-Fencing-Token, kept on disk, refuses a stale writer."""

import json
import os
import tempfile
import threading
import unittest

from support import KEY_ID, NOW_MS, SECRET, FakeMt5, bridge_core, signed


def order(request_id="o-fence", **extra):
    return dict({"request_id": request_id, "symbol": "EURUSD", "type": "buy", "volume": 0.1}, **extra)


def fenced(method, target, body=None, token=None):
    """A signed call carrying ``X-Fencing-Token: token`` (none when token is None)."""
    method, target, headers, raw = signed(method, target, body)
    if token is not None:
        headers["X-Fencing-Token"] = str(token)
    return method, target, headers, raw


class FencingTokenStoreTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "t2.fencing.json")

    def tearDown(self):
        self.dir.cleanup()

    def test_keeps_the_highest_token_across_a_restart(self):
        store = bridge_core.FencingTokenStore(self.path)
        self.assertIsNone(store.highest)
        self.assertTrue(store.admit(3))
        self.assertTrue(store.admit(7))
        self.assertFalse(store.admit(6))
        self.assertTrue(store.admit(7))
        reopened = bridge_core.FencingTokenStore(self.path)
        self.assertEqual(reopened.highest, 7)
        self.assertFalse(reopened.admit(6))
        with open(self.path, encoding="utf-8") as file:
            self.assertEqual(json.load(file), {"highest_fencing_token": 7})
        # Replaced by rename: no temporary file is left behind.
        self.assertEqual(os.listdir(self.dir.name), ["t2.fencing.json"])

    def test_a_lower_or_equal_token_writes_nothing(self):
        store = bridge_core.FencingTokenStore(self.path)
        store.admit(5)
        before = os.stat(self.path)
        self.assertTrue(store.admit(5))
        self.assertFalse(store.admit(4))
        after = os.stat(self.path)
        # A write would have renamed a new file over it: another inode.
        self.assertEqual((after.st_ino, after.st_mtime_ns), (before.st_ino, before.st_mtime_ns))

    def test_refuses_to_start_on_a_file_it_cannot_read(self):
        for text in ("", "{", '{"other": 1}', '{"highest_fencing_token": -1}', '{"highest_fencing_token": "7"}', "[]"):
            with open(self.path, "w", encoding="utf-8") as file:
                file.write(text)
            with self.assertRaises(ValueError, msg=text):
                bridge_core.FencingTokenStore(self.path)

    def test_a_token_it_cannot_store_is_not_admitted(self):
        store = bridge_core.FencingTokenStore(os.path.join(self.dir.name, "missing-folder", "f.json"))
        with self.assertRaises(OSError):
            store.admit(1)
        self.assertIsNone(store.highest)

    def test_the_file_sits_next_to_the_idempotency_store(self):
        self.assertEqual(bridge_core.default_fencing_path(os.path.join("data", "t2.sqlite3")), os.path.join("data", "t2.fencing.json"))
        self.assertEqual(bridge_core.default_fencing_path("mt5-bridge.sqlite3"), "mt5-bridge.fencing.json")


class BridgeFencingTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.db = os.path.join(self.dir.name, "ids.sqlite3")
        self.fencing_path = bridge_core.default_fencing_path(self.db)
        self.mt5 = FakeMt5()
        self.store = bridge_core.IdempotencyStore(self.db)
        self.bridge = self.make_bridge()

    def make_bridge(self, fencing=None, prefix=""):
        fencing = fencing if fencing is not None else bridge_core.FencingTokenStore(self.fencing_path)
        return bridge_core.Bridge(self.mt5, self.store, KEY_ID, SECRET, now_ms=lambda: NOW_MS, path_prefix=prefix, fencing=fencing)

    def tearDown(self):
        self.store.close()
        self.dir.cleanup()

    def call(self, method, target, body=None, token=None):
        return self.bridge.handle(*fenced(method, target, body, token))

    def test_a_lower_token_is_409_even_for_a_stored_fill(self):
        status, filled = self.call("POST", "/v1/orders", order(), token=5)
        self.assertEqual((status, filled["retcode"]), (200, 10009))
        status, answer = self.call("POST", "/v1/orders", order(), token=4)
        self.assertEqual((status, answer["error"]), (409, "stale_fencing_token"))
        self.assertIn("another process owns this account", answer["message"])
        # The owner's repeat still gets its stored fill: one order sent in all.
        self.assertEqual(self.call("POST", "/v1/orders", order(), token=5), (200, filled))
        self.assertEqual(len(self.mt5.sent), 1)

    def test_a_lower_token_is_refused_before_the_body_is_read_and_for_a_close(self):
        self.call("POST", "/v1/orders", order("o-new-owner"), token=9)
        self.assertEqual(self.call("POST", "/v1/orders", order(volume=-1), token=8)[0], 409)
        ticket = next(iter(self.mt5.open))
        self.assertEqual(self.call("POST", f"/v1/positions/{ticket}/close", {"request_id": "c-old"}, token=8)[0], 409)
        self.assertIsNone(self.store.get("c-old"))
        self.assertIsNone(self.store.get("o-fence"))
        self.assertEqual((len(self.mt5.sent), len(self.mt5.open)), (1, 1))

    def test_no_header_and_an_equal_token_are_accepted(self):
        self.assertEqual(self.call("POST", "/v1/orders", order("o-1"), token=3)[0], 200)
        self.assertEqual(self.call("POST", "/v1/orders", order("o-2"))[0], 200)
        self.assertEqual(self.call("POST", "/v1/orders", order("o-3"), token=3)[0], 200)
        self.assertEqual(len(self.mt5.sent), 3)
        self.assertEqual(self.bridge.fencing.highest, 3)

    def test_a_token_that_is_not_a_count_is_400(self):
        for token in ("-1", "1.5", "abc", "", "9007199254740992", "1" * 17):
            status, answer = self.call("POST", "/v1/orders", order(), token=token)
            self.assertEqual((status, answer["error"]), (400, "bad_request"), token)
        self.assertEqual(self.mt5.sent, [])
        self.assertIsNone(self.bridge.fencing.highest)

    def test_only_a_signed_call_moves_the_fence(self):
        method, target, headers, body = fenced("POST", "/v1/orders", order(), token=99)
        headers["X-Signature"] = "0" * 64
        self.assertEqual(self.bridge.handle(method, target, headers, body)[0], 401)
        self.assertIsNone(self.bridge.fencing.highest)
        self.assertFalse(os.path.exists(self.fencing_path))

    def test_the_fence_survives_a_bridge_restart(self):
        self.call("POST", "/v1/orders", order("o-1"), token=12)
        self.bridge = self.make_bridge()
        self.assertEqual(self.call("POST", "/v1/orders", order("o-2"), token=11)[0], 409)
        self.assertEqual(len(self.mt5.sent), 1)

    def test_fences_under_a_path_prefix(self):
        self.bridge = self.make_bridge(prefix="/t2")
        self.assertEqual(self.call("POST", "/t2/v1/orders", order("o-1"), token=2)[0], 200)
        self.assertEqual(self.call("POST", "/t2/v1/orders", order("o-2"), token=1)[0], 409)

    def test_a_token_it_cannot_store_is_503_and_nothing_is_sent(self):
        self.bridge = self.make_bridge(fencing=bridge_core.FencingTokenStore(os.path.join(self.dir.name, "gone", "f.json")))
        status, answer = self.call("POST", "/v1/orders", order(), token=1)
        self.assertEqual((status, answer["error"]), (503, "fencing_store_error"))
        self.assertEqual(self.mt5.sent, [])
        self.assertIsNone(self.store.get("o-fence"))

    def test_a_call_admitted_while_a_newer_owner_arrives_is_refused_under_the_terminal_lock(self):
        # The stale call passes the first check, then waits for the terminal lock; meanwhile the
        # new owner's token is admitted. Under the lock it is checked again: nothing is sent.
        fencing = self.bridge.fencing
        first_check_done = threading.Event()
        admit = fencing.admit

        def admit_and_tell(token):
            admitted = admit(token)
            first_check_done.set()
            return admitted

        fencing.admit = admit_and_tell
        answers = []
        with self.bridge._lock:
            worker = threading.Thread(target=lambda: answers.append(self.call("POST", "/v1/orders", order(), token=1)))
            worker.start()
            self.assertTrue(first_check_done.wait(10))
            self.assertTrue(admit(2))
        worker.join(10)
        self.assertFalse(worker.is_alive())
        self.assertEqual((answers[0][0], answers[0][1]["error"]), (409, "stale_fencing_token"))
        self.assertEqual(self.mt5.sent, [])
        self.assertIsNone(self.store.get("o-fence"))


    def test_a_request_that_waited_for_the_terminal_past_the_window_is_not_sent(self):
        # Signed and checked at NOW_MS, then held behind the terminal lock for 31 s: refused under
        # the lock, nothing sent and no id stored, so the service's proof of absence holds.
        clock = {"now": NOW_MS}
        bridge = bridge_core.Bridge(self.mt5, self.store, KEY_ID, SECRET, now_ms=lambda: clock["now"])
        checked = threading.Event()
        verify = bridge_core.verify_signature

        def verify_then_tell(*args):
            result = verify(*args)
            checked.set()
            return result

        answers = []
        bridge_core.verify_signature = verify_then_tell
        try:
            with bridge._lock:
                worker = threading.Thread(target=lambda: answers.append(bridge.handle(*signed("POST", "/v1/orders", order()))))
                worker.start()
                self.assertTrue(checked.wait(10))
                clock["now"] = NOW_MS + 31_000
        finally:
            bridge_core.verify_signature = verify
        worker.join(10)
        self.assertFalse(worker.is_alive())
        self.assertEqual(answers[0][0], 401)
        self.assertIn("waited for the terminal", answers[0][1]["message"])
        self.assertEqual(self.mt5.sent, [])
        self.assertIsNone(self.store.get("o-fence"))


if __name__ == "__main__":
    unittest.main()
