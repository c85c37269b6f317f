import os
import tempfile
import unittest

from support import bridge_core

DONE = {"request_id": "o-1", "retcode": 10009, "order": 8, "deal": 13, "position": 8, "volume": 0.1, "price": 1.09, "comment": "Request executed"}


class IdempotencyStoreTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "ids.sqlite3")
        self.now = [1_000_000.0]
        self.store = bridge_core.IdempotencyStore(self.path, clock=lambda: self.now[0])

    def tearDown(self):
        self.store.close()
        self.dir.cleanup()

    def test_a_new_id_is_stored_pending_before_anything_else(self):
        self.assertEqual(self.store.claim("o-1").state, "new")
        self.assertEqual(self.store.claim("o-1").state, "pending")

    def test_a_final_outcome_is_repeated_unchanged(self):
        self.store.claim("o-1")
        self.store.complete("o-1", DONE)
        self.assertEqual(self.store.claim("o-1"), bridge_core.Claim("final", DONE))

    def test_a_transient_outcome_is_never_stored(self):
        self.store.claim("o-1")
        with self.assertRaises(ValueError):
            self.store.complete("o-1", dict(DONE, retcode=10004))
        self.store.release("o-1")
        self.assertIsNone(self.store.get("o-1"))
        self.assertEqual(self.store.claim("o-1").state, "new")

    def test_release_never_forgets_a_final_outcome(self):
        self.store.claim("o-1")
        self.store.complete("o-1", DONE)
        self.store.release("o-1")
        self.assertEqual(self.store.get("o-1").state, "final")

    def test_survives_a_restart_pending_and_final(self):
        self.store.claim("o-1")
        self.store.complete("o-1", DONE)
        self.store.claim("o-2")
        self.store.close()
        self.store = bridge_core.IdempotencyStore(self.path, clock=lambda: self.now[0])
        self.assertEqual(self.store.claim("o-1"), bridge_core.Claim("final", DONE))
        self.assertEqual(self.store.claim("o-2").state, "pending")

    def test_purge_keeps_at_least_24_hours_and_never_drops_pending(self):
        with self.assertRaises(ValueError):
            self.store.purge(retention_s=3600)
        self.store.claim("old")
        self.store.complete("old", dict(DONE, request_id="old"))
        self.store.claim("stuck")
        self.now[0] += 24 * 3600 + 1
        self.store.claim("young")
        self.store.complete("young", dict(DONE, request_id="young"))
        self.assertEqual(self.store.purge(retention_s=24 * 3600), 1)
        self.assertIsNone(self.store.get("old"))
        self.assertEqual(self.store.get("stuck").state, "pending")
        self.assertEqual(self.store.get("young").state, "final")


if __name__ == "__main__":
    unittest.main()
