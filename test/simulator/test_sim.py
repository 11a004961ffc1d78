#!/usr/bin/env python3
"""Self-test of the BrickLink API simulator (stdlib unittest; < 30 s).

    python3 test/simulator/test_sim.py [-v]
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bl_client  # noqa: E402
import bricklink_sim  # noqa: E402

SIM = os.path.join(HERE, "bricklink_sim.py")

# RFC 5849 section 3.4.1 example
RFC_BASE_STRING = (
    "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q"
    "%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_"
    "key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_m"
    "ethod%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk"
    "9d7dh3k39sjv7")
RFC_OAUTH = [("oauth_consumer_key", "9djdj82h48djs9d2"), ("oauth_token", "kkk9d7dh3k39sjv7"),
             ("oauth_signature_method", "HMAC-SHA1"), ("oauth_timestamp", "137131201"),
             ("oauth_nonce", "7d8f3e4a")]
RFC_QUERY = "b5=%3D%253D&a3=a&c%40=&a2=r%20b"
RFC_BODY = "c2&a3=2+q"


class SimTestBase(unittest.TestCase):
    proc = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="blsim-")
        port_file = os.path.join(cls.tmp, "port")
        t0 = time.monotonic()
        cls.proc = subprocess.Popen([sys.executable, SIM, "--port", "0", "--port-file", port_file,
                                     "--quiet", "--seed", "1",
                                     "--log-file", os.path.join(cls.tmp, "sim.log")])
        while not os.path.exists(port_file):
            if cls.proc.poll() is not None:
                raise RuntimeError("simulator exited with %s" % cls.proc.returncode)
            if time.monotonic() - t0 > 10:
                raise RuntimeError("simulator did not start")
            time.sleep(0.01)
        cls.startup_s = time.monotonic() - t0
        with open(port_file) as f:
            cls.port = int(f.read())
        cls.base = "http://127.0.0.1:%d/api/store/v1" % cls.port

    @classmethod
    def tearDownClass(cls):
        if cls.proc:
            cls.proc.terminate()
            try:
                cls.proc.wait(5)
            except subprocess.TimeoutExpired:
                cls.proc.kill()
                cls.proc.wait()
        import shutil
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.ctl("POST", "/_sim/reset", {"catalog": True, "config": True})
        self.client = bl_client.Client(self.base, timeout=10)

    def tearDown(self):
        self.client.close()

    # helpers
    def ctl(self, method, path, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            c.request(method, path, body=json.dumps(body) if body is not None else None,
                      headers={"Content-Type": "application/json"})
            r = c.getresponse()
            data = r.read()
            self.assertEqual(r.status, 200, data)
            return json.loads(data)
        finally:
            c.close()

    def faults(self, *specs):
        return self.ctl("POST", "/_sim/faults", {"faults": list(specs)})

    def get(self, path, **kw):
        status, hdrs, body = self.client.request(path, **kw)
        return status, hdrs, body

    def get_json(self, path, **kw):
        status, hdrs, body = self.get(path, **kw)
        self.assertEqual(status, 200, body[:300])
        return json.loads(body)

    def fresh(self):
        c = bl_client.Client(self.base, timeout=10)
        self.addCleanup(c.close)
        return c

    def stats(self):
        return self.ctl("GET", "/_sim/stats")


class TestOAuth(SimTestBase):
    def test_rfc5849_base_string_server(self):
        params = list(RFC_OAUTH) + bricklink_sim.parse_qs_pairs(RFC_QUERY) + \
            bricklink_sim.parse_qs_pairs(RFC_BODY)
        uri = bricklink_sim.base_string_uri("HTTP", "Example.com:80", "/request")
        self.assertEqual(uri, "http://example.com/request")
        self.assertEqual(bricklink_sim.signature_base_string("POST", uri, params), RFC_BASE_STRING)

    def test_rfc5849_base_string_client(self):
        params = list(RFC_OAUTH) + bl_client.query_pairs(RFC_QUERY) + bl_client.query_pairs(RFC_BODY)
        bs = bl_client.base_string("POST", "http://EXAMPLE.COM:80/request?" + RFC_QUERY, params)
        self.assertEqual(bs, RFC_BASE_STRING)

    def test_base_uri_ports(self):
        self.assertEqual(bricklink_sim.base_string_uri("https", "www.example.net:8080", "/x"),
                         "https://www.example.net:8080/x")
        self.assertEqual(bricklink_sim.base_string_uri("https", "a.b:443", "/x"), "https://a.b/x")
        self.assertEqual(bl_client.base_uri("https://a.b:443/x?y=1"), "https://a.b/x")

    def test_signed_item_3001(self):
        status, hdrs, body = self.get("/items/part/3001")
        self.assertEqual(status, 200)
        self.assertEqual(hdrs["content-type"], "text/html;charset=utf-8")
        self.assertEqual(int(hdrs["content-length"]), len(body))
        obj = json.loads(body)
        self.assertEqual(obj["meta"], {"description": "OK", "message": "OK", "code": 200})
        d = obj["data"]
        self.assertEqual(d["no"], "3001")
        self.assertEqual(d["type"], "PART")
        self.assertEqual(d["name"], "Brick 2 x 4")
        self.assertEqual(d["weight"], "2.32")
        self.assertEqual(d["image_url"], "//img.bricklink.com/PL/3001.jpg")
        self.assertTrue(d["thumbnail_url"].startswith("//img.bricklink.com/P/"))
        self.assertIsInstance(d["category_id"], int)
        self.assertIsInstance(d["is_obsolete"], bool)

    def test_query_param_auth(self):
        obj = self.get_json("/items/part/3001/price?guide_type=sold&new_or_used=U", query_auth=True)
        self.assertEqual(obj["meta"]["code"], 200)
        self.assertEqual(obj["data"]["new_or_used"], "U")

    def test_query_with_space_and_plus_signed(self):
        obj = self.get_json("/items/part/3001/price?country_code=US&region=north_america&currency_code=EUR")
        self.assertEqual(obj["meta"]["code"], 200, obj)
        self.assertEqual(obj["data"]["currency_code"], "EUR")

    def _err(self, path="/items/part/3001", **kw):
        obj = self.get_json(path, **kw)
        self.assertEqual(obj["meta"]["code"], 401, obj)
        self.assertEqual(obj["meta"]["message"], "BAD_OAUTH_REQUEST")
        self.assertNotIn("data", obj)
        return obj["meta"]["description"]

    def test_wrong_signature(self):
        def tamper(o):
            o["oauth_signature"] = "AAAA" + o["oauth_signature"][4:]
        self.assertIn("SIGNATURE_INVALID", self._err(tamper=tamper))
        bad = dict(bl_client.DEFAULT_CREDS, consumer_secret="wrong")
        self.assertIn("SIGNATURE_INVALID", self._err(creds=bad))
        # signing another query string than the one sent
        c = bl_client.Client(self.base)
        oauth = bl_client.sign("GET", self.base + "/items/part/3001/price?guide_type=sold")
        st, _, body = c.request("/items/part/3001/price?guide_type=stock", sign_request=False)
        c.close()
        conn = http.client.HTTPConnection("127.0.0.1", self.port)
        conn.request("GET", "/api/store/v1/items/part/3001/price?guide_type=stock",
                     headers={"Authorization": bl_client.auth_header(oauth)})
        obj = json.loads(conn.getresponse().read())
        conn.close()
        self.assertEqual(obj["meta"]["description"], "SIGNATURE_INVALID")
        self.assertGreaterEqual(self.stats()["auth_failures"], 4)

    def test_nonce_reuse(self):
        obj = self.get_json("/items/part/3001", nonce="fixed-nonce-1")
        self.assertEqual(obj["meta"]["code"], 200)
        self.assertIn("NONCE_USED", self._err(nonce="fixed-nonce-1"))
        # after reset nonces are forgotten
        self.ctl("POST", "/_sim/reset")
        self.assertEqual(self.get_json("/items/part/3001", nonce="fixed-nonce-1")["meta"]["code"], 200)

    def test_other_auth_failures(self):
        self.assertIn("TIMESTAMP_REJECTED", self._err(timestamp=int(time.time()) - 1000))
        self.assertIn("TIMESTAMP_REJECTED", self._err(timestamp=int(time.time()) + 1000))
        self.assertIn("CONSUMER_KEY_UNKNOWN", self._err(creds=dict(bl_client.DEFAULT_CREDS, consumer_key="x")))
        self.assertIn("TOKEN_VALUE_UNKNOWN", self._err(creds=dict(bl_client.DEFAULT_CREDS, token_value="x")))
        self.assertIn("oauth_nonce", self._err(tamper=lambda o: o.pop("oauth_nonce")))
        self.assertIn("SIGNATURE_METHOD", self._err(tamper=lambda o: o.update(oauth_signature_method="PLAINTEXT")))
        self.assertIn("PARAMETER_MISSING", self._err(sign_request=False))

    def test_no_auth_config(self):
        self.ctl("POST", "/_sim/config", {"no_auth": True})
        self.assertEqual(self.get_json("/items/part/3001", sign_request=False)["meta"]["code"], 200)
        self.ctl("POST", "/_sim/config", {"no_auth": False})
        self.assertEqual(self.get_json("/items/part/3001", sign_request=False)["meta"]["code"], 401)


class TestCatalog(SimTestBase):
    def test_percent_decoding(self):
        for raw, no in (("3364-Da", "3364-Da"), ("a%2Fb", "a/b"), ("3001.1", "3001.1"),
                        ("973pb10c01", "973pb10c01"), ("x77cc22.5", "x77cc22.5"),
                        ("3001%20x", "3001 x"), ("%33%30%30%31", "3001")):
            obj = self.get_json("/items/PART/" + raw)
            self.assertEqual(obj["meta"]["code"], 200, (raw, obj))
            self.assertEqual(obj["data"]["no"], no)
        by_key = self.stats()["by_key"]
        self.assertEqual(by_key.get("item:PART:a/b"), 1)
        self.assertEqual(by_key.get("item:PART:3001"), 1)

    def test_not_found_and_bad_type(self):
        obj = self.get_json("/items/part/definitely-not-a-part")
        self.assertEqual(obj["meta"]["code"], 404)
        self.assertEqual(obj["meta"]["message"], "RESOURCE_NOT_FOUND")
        self.assertNotIn("data", obj)
        self.assertEqual(self.get_json("/items/nosuchtype/3001")["meta"]["code"], 400)

    def test_sets_minifigs(self):
        d = self.get_json("/items/set/10276-1")["data"]
        self.assertEqual(d["type"], "SET")
        self.assertEqual(self.get_json("/items/MINIFIG/sw0001a")["data"]["no"], "sw0001a")
        d = self.get_json("/items/set/6080-1")["data"]
        self.assertIn("&#39;", d["name"])

    def test_colors_and_price(self):
        lst = self.get_json("/items/part/3001/colors")["data"]
        self.assertTrue(lst)
        for e in lst:
            int(e["color_id"]), int(e["quantity"])
        for guide in ("stock", "sold"):
            for cond in ("N", "U"):
                d = self.get_json("/items/part/3001/price?guide_type=%s&new_or_used=%s&color_id=11"
                                  % (guide, cond))["data"]
                self.assertEqual(d["item"], {"no": "3001", "type": "PART"})
                for k in ("min_price", "max_price", "avg_price", "qty_avg_price"):
                    self.assertRegex(d[k], r"^\d+\.\d{4}$")
                self.assertIsInstance(d["price_detail"], list)
        self.assertEqual(self.get_json("/items/part/3001/price?guide_type=bogus")["meta"]["code"], 400)
        self.assertEqual(self.get_json("/items/part/3001/price?new_or_used=X")["meta"]["code"], 400)
        keys = self.stats()["by_key"]
        self.assertEqual(keys.get("price:PART:3001:11:sold:U"), 1)
        self.assertEqual(keys.get("colors:PART:3001"), 1)

    def test_quirks_present(self):
        """Across many parts some colors come as strings, some stock rows say qunatity,
        some items lack optional fields, some (item, color) have no sales."""
        cat = bricklink_sim.Catalog(bricklink_sim.default_data_dir(), 1)
        nos = cat.part_numbers[:400]
        self.assertTrue(any(isinstance(e["quantity"], str) for n in nos for e in cat.item_colors("PART", n)))
        self.assertTrue(any("year_released" not in cat.get_item("PART", n) or "dim_x" not in cat.get_item("PART", n)
                            or "description" not in cat.get_item("PART", n) for n in nos))
        prices = [cat.price("PART", n, 0, "stock", "N", "USD", "", "", "N") for n in nos]
        self.assertTrue(any(p["min_price"] == "0.0000" and p["price_detail"] == [] for p in prices))
        self.assertTrue(any(p["price_detail"] and "qunatity" in p["price_detail"][0] for p in prices))
        # determinism: same seed, same data
        cat2 = bricklink_sim.Catalog(bricklink_sim.default_data_dir(), 1)
        self.assertEqual(cat.price("PART", "3001", 11, "sold", "N", "USD", "", "", "N"),
                         cat2.price("PART", "3001", 11, "sold", "N", "USD", "", "", "N"))

    def test_colors_categories_images_mapping(self):
        lst = self.get_json("/colors")["data"]
        self.assertGreater(len(lst), 100)
        black = self.get_json("/colors/11")["data"]
        self.assertEqual(black["color_name"], "Black")
        self.assertNotIn("#", black["color_code"])
        self.assertEqual(self.get_json("/colors/99999")["meta"]["code"], 404)
        cats = self.get_json("/categories")["data"]
        self.assertTrue(any("&#39;" in c["category_name"] for c in cats))
        self.assertEqual(self.get_json("/categories/5")["data"]["parent_id"], 0)
        img = self.get_json("/items/part/3001/images/11")["data"]
        self.assertEqual(img["color_id"], 11)
        self.assertEqual(self.get_json("/item_mapping/part/3001?color_id=11")["meta"]["code"], 200)
        s = self.stats()["by_endpoint"]
        for e in ("color_list", "color", "category_list", "category", "images", "item_mapping"):
            self.assertGreaterEqual(s[e], 1, e)

    def test_runtime_items(self):
        r = self.ctl("POST", "/_sim/items", {"type": "PART", "no": "new-part-1", "name": "New Part",
                                            "weight": "1.50", "colors": [{"color_id": 5, "quantity": 3}]})
        self.assertTrue(r["ok"])
        d = self.get_json("/items/part/new-part-1")["data"]
        self.assertEqual((d["name"], d["weight"]), ("New Part", "1.50"))
        self.assertEqual(self.get_json("/items/part/new-part-1/colors")["data"], [{"color_id": 5, "quantity": 3}])
        self.ctl("POST", "/_sim/items", {"type": "PART", "no": "3001", "name": "Brick 2 x 4 Renamed"})
        self.assertEqual(self.get_json("/items/part/3001")["data"]["name"], "Brick 2 x 4 Renamed")
        self.ctl("DELETE", "/_sim/items/part/3001")
        self.assertEqual(self.get_json("/items/part/3001")["meta"]["code"], 404)
        self.assertEqual(self.get_json("/items/part/3001/price")["meta"]["code"], 404)
        self.ctl("POST", "/_sim/reset", {"catalog": True})
        self.assertEqual(self.get_json("/items/part/3001")["data"]["name"], "Brick 2 x 4")


class TestFaults(SimTestBase):
    def test_latency_and_config_latency(self):
        self.faults({"endpoint": "item", "kind": "latency", "ms": 300})
        t = time.monotonic()
        self.assertEqual(self.get_json("/items/part/3001")["meta"]["code"], 200)
        self.assertGreaterEqual(time.monotonic() - t, 0.29)
        self.ctl("DELETE", "/_sim/faults")
        self.ctl("POST", "/_sim/config", {"latency_ms": 200})
        t = time.monotonic()
        self.get_json("/colors/11")
        self.assertGreaterEqual(time.monotonic() - t, 0.19)

    def test_hang(self):
        self.faults({"endpoint": "item", "kind": "hang"})
        c = bl_client.Client(self.base, timeout=0.4)
        t = time.monotonic()
        with self.assertRaises(socket.timeout):
            c.request("/items/part/3001", retry=False)
        c.close()
        self.assertGreaterEqual(time.monotonic() - t, 0.39)
        # bounded hang: closed without answer after ms
        self.faults({"endpoint": "item", "kind": "hang", "ms": 200})
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionResetError)):
            self.fresh().request("/items/part/3001", retry=False)
        deadline = time.monotonic() + 2
        while self.stats()["current_concurrent"] and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.stats()["current_concurrent"], 0)

    def test_reset(self):
        self.faults({"endpoint": "item", "kind": "reset"})
        with self.assertRaises((ConnectionResetError, http.client.RemoteDisconnected)):
            self.fresh().request("/items/part/3001", retry=False)
        self.assertEqual(self.stats()["by_key"]["item:PART:3001"], 1)

    def test_truncate(self):
        self.faults({"endpoint": "item", "kind": "truncate"})
        with self.assertRaises(http.client.IncompleteRead):
            self.fresh().request("/items/part/3001", retry=False)

    def test_malformed_json(self):
        self.faults({"endpoint": "item", "kind": "malformed_json"})
        status, hdrs, body = self.get("/items/part/3001")
        self.assertEqual(status, 200)
        self.assertTrue(body.startswith(b'{"meta"'))
        with self.assertRaises(ValueError):
            json.loads(body)

    def test_wrong_types(self):
        self.faults({"endpoint": "item", "kind": "wrong_types", "variant": "array"},
                    {"endpoint": "colors", "kind": "wrong_types", "variant": "strings"})
        self.assertIsInstance(self.get_json("/items/part/3001")["data"], list)
        self.assertTrue(all(isinstance(x, str) for x in self.get_json("/items/part/3001/colors")["data"]))
        self.faults({"endpoint": "item", "kind": "wrong_types", "variant": "weight_object"})
        self.assertIsInstance(self.get_json("/items/part/3001")["data"]["weight"], dict)

    def test_gateway_503_http_500(self):
        self.faults({"endpoint": "item", "kind": "gateway_503", "count": 1},
                    {"endpoint": "colors", "kind": "http_500"},
                    {"endpoint": "price", "kind": "http_500", "body": "empty"})
        status, hdrs, body = self.get("/items/part/3001")
        self.assertEqual(status, 503)
        self.assertTrue(hdrs["content-type"].startswith("text/html"))
        self.assertIn(b"nginx", body)
        # count=1: fired once only
        self.assertEqual(self.get_json("/items/part/3001")["meta"]["code"], 200)
        status, hdrs, body = self.get("/items/part/3001/colors")
        self.assertEqual(status, 500)
        status, hdrs, body = self.get("/items/part/3001/price")
        self.assertEqual((status, body), (500, b""))
        fl = self.ctl("GET", "/_sim/faults")["faults"]
        self.assertEqual(fl[0]["fired"], 1)

    def test_meta_errors(self):
        self.faults({"key": "item:PART:3001", "kind": "meta_500"},
                    {"key": "item:PART:3002", "kind": "meta_429"},
                    {"key": "item:PART:3003", "kind": "bad_auth"})
        self.assertEqual(self.get_json("/items/part/3001")["meta"]["code"], 500)
        self.assertEqual(self.get_json("/items/part/3002")["meta"]["code"], 429)
        m = self.get_json("/items/part/3003")["meta"]
        self.assertEqual(m["code"], 401)
        self.assertTrue(m["description"].startswith("TOKEN_IP_MISMATCHED: consumer: test-consumer-key IP: 127.0.0.1"))
        self.assertEqual(self.get_json("/items/part/3004")["meta"]["code"], 200)

    def test_throttle_429(self):
        self.faults({"kind": "throttle_429", "retry_after": 7})
        status, hdrs, body = self.get("/items/part/3001")
        self.assertEqual(status, 429)
        self.assertEqual(hdrs["retry-after"], "7")

    def test_quota(self):
        self.faults({"kind": "quota", "after": 2})
        codes = [self.get_json("/items/part/300%d" % i)["meta"]["code"] for i in range(1, 5)]
        self.assertEqual(codes, [200, 200, 403, 403])
        self.faults({"kind": "quota", "after": 0, "code": 429})
        self.assertEqual(self.get_json("/colors/11")["meta"]["code"], 429)

    def test_oversize(self):
        self.faults({"kind": "oversize", "bytes": 2 * 1024 * 1024})
        status, hdrs, body = self.get("/items/part/3001")
        self.assertGreater(len(body), 2 * 1024 * 1024)
        self.assertEqual(int(hdrs["content-length"]), len(body))
        self.assertEqual(json.loads(body)["data"]["no"], "3001")

    def test_max_concurrency(self):
        self.faults({"key": "item:PART:3002", "kind": "latency", "ms": 600},
                    {"kind": "max_concurrency", "limit": 1})
        res = {}

        def slow():
            c = self.fresh()
            res["slow"] = c.request("/items/part/3002", retry=False)[0]
            c.close()
        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.2)
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionResetError)):
            self.fresh().request("/items/part/3001", retry=False)
        t.join()
        self.assertEqual(res["slow"], 200)
        s = self.stats()
        self.assertEqual(s["refused"], 1)
        self.assertEqual(s["max_concurrent"], 2)
        self.assertEqual(s["total"], 2)

    def test_rate_determinism(self):
        def run():
            self.ctl("POST", "/_sim/reset")
            self.faults({"endpoint": "color", "kind": "meta_500", "rate": 0.5})
            return [self.get_json("/colors/11")["meta"]["code"] for _ in range(16)]
        a, b = run(), run()
        self.assertEqual(a, b)
        self.assertIn(500, a)
        self.assertIn(200, a)

    def test_bad_fault_spec(self):
        c = http.client.HTTPConnection("127.0.0.1", self.port)
        c.request("POST", "/_sim/faults", body=json.dumps({"faults": [{"kind": "nope"}]}))
        r = c.getresponse()
        r.read()
        c.close()
        self.assertEqual(r.status, 400)


class TestStats(SimTestBase):
    def test_stats_counting(self):
        self.get("/items/part/3001")
        self.get("/items/part/3001")
        self.get("/items/part/3001/price?guide_type=sold")
        self.get("/categories")
        self.get("/items/part/3001", sign_request=False)      # auth failure still counts
        s = self.stats()
        self.assertEqual(s["total"], 5)
        self.assertEqual(s["by_endpoint"]["item"], 3)
        self.assertEqual(s["by_key"]["item:PART:3001"], 3)
        self.assertEqual(s["by_key"]["price:PART:3001:0:sold:N"], 1)
        self.assertEqual(s["by_key"]["category_list"], 1)
        self.assertEqual(s["auth_failures"], 1)
        self.assertEqual(s["current_concurrent"], 0)
        self.assertGreaterEqual(s["max_concurrent"], 1)
        for k in ("refused", "by_endpoint", "by_key"):
            self.assertIn(k, s)
        self.ctl("POST", "/_sim/reset")
        self.assertEqual(self.stats()["total"], 0)

    def test_startup_time(self):
        self.assertLess(self.startup_s, 3.0)   # < 1 s normally; margin for loaded CI hosts
        print("\nsimulator startup: %.0f ms" % (self.startup_s * 1000), file=sys.stderr)

    def test_non_loopback_refused(self):
        r = subprocess.run([sys.executable, SIM, "--host", "0.0.0.0", "--port", "0", "--quiet"],
                           capture_output=True, timeout=10)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"loopback", r.stderr)

    def test_keep_alive_reuse(self):
        c = http.client.HTTPConnection("127.0.0.1", self.port)
        for _ in range(3):
            oauth = bl_client.sign("GET", self.base + "/colors/11")
            c.request("GET", "/api/store/v1/colors/11", headers={"Authorization": bl_client.auth_header(oauth)})
            r = c.getresponse()
            self.assertFalse(r.will_close)
            self.assertEqual(json.loads(r.read())["meta"]["code"], 200)
        sock = c.sock
        self.assertIsNotNone(sock)
        c.close()


if __name__ == "__main__":
    unittest.main()
