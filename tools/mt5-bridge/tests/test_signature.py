import unittest

from support import KEY_ID, NOW_MS, SECRET, Headers, bridge_core


def headers_for(method, target, body, ts=NOW_MS, secret=SECRET, key=KEY_ID):
    t = str(ts)
    return Headers({"X-Api-Key": key, "X-Timestamp": t, "X-Signature": bridge_core.sign(secret, t, method, target, body)})


class SignatureTest(unittest.TestCase):
    def verify(self, headers, method="POST", target="/v1/orders", body=b'{"a":1}', now=NOW_MS):
        return bridge_core.verify_signature(KEY_ID, SECRET, headers, method, target, body, now)

    def test_matches_the_protocol_payload_and_a_known_vector(self):
        self.assertEqual(bridge_core.signing_payload("1", "get", "/v1/health", b""), b"1\nGET\n/v1/health\n")
        # The vector the service's signer (libs/mt5/src/http/bridge-signature.ts, node:crypto) gives.
        self.assertEqual(bridge_core.sign("secret", "1700000000000", "post", "/v1/orders", b"{}"), "5556bcddce72082ef302f716f9466dda661ddb52ed7e009e25c455a52a92d78d")

    def test_accepts_a_good_signature_within_the_window(self):
        h = headers_for("POST", "/v1/orders", b'{"a":1}', ts=NOW_MS - 29_000)
        self.assertEqual(self.verify(h), (True, "ok"))

    def test_refuses_a_timestamp_more_than_30_s_off_either_way(self):
        for ts in (NOW_MS - 30_001, NOW_MS + 30_001):
            ok, reason = self.verify(headers_for("POST", "/v1/orders", b'{"a":1}', ts=ts))
            self.assertFalse(ok)
            self.assertIn("30 s", reason)

    def test_refuses_a_changed_body_path_query_or_method(self):
        h = headers_for("POST", "/v1/orders", b'{"a":1}')
        self.assertFalse(self.verify(h, body=b'{"a":2}')[0])
        self.assertFalse(self.verify(h, target="/v1/orders?x=1")[0])
        self.assertFalse(self.verify(h, method="GET")[0])

    def test_refuses_a_wrong_key_secret_or_malformed_headers(self):
        self.assertEqual(self.verify(headers_for("POST", "/v1/orders", b'{"a":1}', key="other"))[1], "unknown api key")
        self.assertEqual(self.verify(headers_for("POST", "/v1/orders", b'{"a":1}', secret="x" * 32))[1], "bad signature")
        h = headers_for("POST", "/v1/orders", b'{"a":1}')
        h["X-Signature"] = h["X-Signature"].upper()
        self.assertFalse(self.verify(h)[0])
        h = headers_for("POST", "/v1/orders", b'{"a":1}')
        h["X-Timestamp"] = "1.7e12"
        self.assertFalse(self.verify(h)[0])
        self.assertFalse(self.verify(Headers())[0])


if __name__ == "__main__":
    unittest.main()
