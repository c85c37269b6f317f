"""mt5_bridge.py's Flask glue, where Flask is installed (it is not needed by the other tests).

Runs in a child interpreter: importing Flask here would break the check that bridge_core needs
neither Flask nor MetaTrader5 (test_bridge.py).
"""

import importlib.util
import json
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))

CHILD = r"""
import json, os, sys, tempfile
sys.path.insert(0, sys.argv[1])
import support
from support import FakeMt5, bridge_core, signed

mt5 = FakeMt5()
sys.modules["MetaTrader5"] = mt5
import mt5_bridge

with tempfile.TemporaryDirectory() as folder:
    store = bridge_core.IdempotencyStore(os.path.join(folder, "ids.sqlite3"))
    bridge = bridge_core.Bridge(mt5, store, support.KEY_ID, support.SECRET, now_ms=lambda: support.NOW_MS, path_prefix="/t2")
    client = mt5_bridge.create_app(bridge).test_client()

    def call(method, target, body=None, raw_uri=True):
        method, target, headers, raw = signed(method, target, body)
        # Waitress gives no RAW_URI/REQUEST_URI: only the decoded PATH_INFO.
        overrides = {} if raw_uri else {"RAW_URI": "", "REQUEST_URI": ""}
        answer = client.open(target, method=method, headers=dict(headers), data=raw, environ_overrides=overrides)
        return [answer.status_code, answer.get_json()]

    order = {"request_id": "o-1", "symbol": "EURUSD", "type": "buy", "volume": 0.1}
    print(json.dumps({
        "symbol": call("GET", "/t2/v1/symbols/EURUSD%23"),
        "symbol_decoded_path_only": call("GET", "/t2/v1/symbols/EURUSD%23", raw_uri=False),
        "deals": call("GET", "/t2/v1/deals?position=7"),
        "order": call("POST", "/t2/v1/orders", order),
        "outside": call("GET", "/v1/health"),
    }))
    store.close()
"""


@unittest.skipUnless(importlib.util.find_spec("flask"), "Flask is not installed")
class FlaskAppTest(unittest.TestCase):
    def test_passes_the_target_as_sent_and_serves_under_the_prefix(self):
        run = subprocess.run([sys.executable, "-c", CHILD, HERE], capture_output=True, text=True, timeout=60)
        self.assertEqual(run.returncode, 0, run.stderr)
        answers = json.loads(run.stdout.strip().splitlines()[-1])
        self.assertEqual(answers["symbol"][0], 200, answers)
        self.assertEqual(answers["symbol"][1]["symbol"], "EURUSD#")
        self.assertEqual(answers["symbol_decoded_path_only"], answers["symbol"])
        self.assertEqual(answers["deals"], [200, {"deals": []}])
        self.assertEqual((answers["order"][0], answers["order"][1]["retcode"]), (200, 10009))
        self.assertEqual((answers["outside"][0], answers["outside"][1]["error"]), (404, "not_found"))


if __name__ == "__main__":
    unittest.main()
