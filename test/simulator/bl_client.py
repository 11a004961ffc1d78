#!/usr/bin/env python3
"""Tiny BrickLink API client (Python standard library only).

Signs requests with OAuth 1.0a HMAC-SHA1 (its own implementation, independent
of the simulator's verifier) and GETs them over a keep-alive HTTP connection.
Used by the simulator self-test, by test scripts, and as the "plain client"
baseline of the benchmark.

    python3 bl_client.py --base http://127.0.0.1:PORT/api/store/v1 /items/part/3001
    python3 bl_client.py --base URL --query-auth '/items/part/3001/price?guide_type=sold'
    python3 bl_client.py --base URL --bench 5000 --concurrency 4 /items/part/3001
"""

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import sys
import threading
import time
import uuid
from urllib.parse import unquote_plus, urlsplit

DEFAULT_CREDS = {
    "consumer_key": "test-consumer-key",
    "consumer_secret": "test-consumer-secret",
    "token_value": "test-token-value",
    "token_secret": "test-token-secret",
}

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def pct(s):
    """RFC 3986 percent-encoding (RFC 5849 section 3.6), byte by byte."""
    if not isinstance(s, (bytes, bytearray)):
        s = str(s).encode("utf-8")
    return "".join(chr(b) if b in _UNRESERVED else "%%%02X" % b for b in s)


def _form_decode(s):
    return unquote_plus(s)


def query_pairs(query):
    pairs = []
    for part in (query or "").split("&"):
        if part:
            k, _, v = part.partition("=")
            pairs.append((_form_decode(k), _form_decode(v)))
    return pairs


def base_uri(url):
    u = urlsplit(url)
    scheme = u.scheme.lower()
    host = (u.hostname or "").lower()
    if ":" in host:
        host = "[%s]" % host
    port = u.port
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host += ":%d" % port
    return "%s://%s%s" % (scheme, host, u.path or "/")


def base_string(method, url, params):
    """RFC 5849 3.4.1 signature base string.  `params` are decoded pairs
    (oauth parameters without oauth_signature/realm, query and form params)."""
    norm = "&".join("%s=%s" % kv for kv in sorted((pct(k), pct(v)) for k, v in params))
    return "%s&%s&%s" % (method.upper(), pct(base_uri(url)), pct(norm))


def sign(method, url, creds=None, nonce=None, timestamp=None, extra_params=()):
    """Returns the dict of oauth_* parameters including oauth_signature.
    The query string of `url` is signed (except a parameter named
    Authorization)."""
    creds = creds or DEFAULT_CREDS
    oauth = {
        "oauth_consumer_key": creds["consumer_key"],
        "oauth_token": creds["token_value"],
        "oauth_signature_method": "HMAC-SHA1",
        "oauth_timestamp": str(int(time.time()) if timestamp is None else timestamp),
        "oauth_nonce": nonce or uuid.uuid4().hex,
        "oauth_version": "1.0",
    }
    q = [kv for kv in query_pairs(urlsplit(url).query) if kv[0] != "Authorization"]
    bs = base_string(method, url, list(oauth.items()) + q + list(extra_params))
    key = pct(creds["consumer_secret"]) + "&" + pct(creds["token_secret"])
    oauth["oauth_signature"] = base64.b64encode(
        hmac.new(key.encode("utf-8"), bs.encode("utf-8"), hashlib.sha1).digest()).decode("ascii")
    return oauth


def auth_header(oauth):
    return "OAuth realm=\"\", " + ", ".join('%s="%s"' % (k, pct(v)) for k, v in oauth.items())


def encode_path_segment(s):
    return pct(s)


class Client:
    """Keep-alive client for one base URL."""

    def __init__(self, base, creds=None, query_auth=False, timeout=30):
        self.base = base.rstrip("/")
        self.creds = creds or DEFAULT_CREDS
        self.query_auth = query_auth
        self.timeout = timeout
        u = urlsplit(self.base)
        self.host, self.port = u.hostname, u.port or 80
        self.conn = None

    def _connection(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self.conn

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def url_for(self, path):
        return path if path.startswith("http") else self.base + path

    def request(self, path, sign_request=True, nonce=None, timestamp=None, tamper=None,
                creds=None, query_auth=None, method="GET", retry=True):
        """GET `path` (relative to the base, already percent-encoded).
        Returns (http_status, headers dict (lowercase), body bytes)."""
        url = self.url_for(path)
        for attempt in (0, 1):
            headers = {}
            target = urlsplit(url)
            target = target.path + ("?" + target.query if target.query else "")
            if sign_request:
                oauth = sign(method, url, creds or self.creds, nonce=nonce, timestamp=timestamp)
                if tamper:
                    tamper(oauth)
                qa = self.query_auth if query_auth is None else query_auth
                if qa:
                    target += ("&" if "?" in target else "?") + "Authorization=" + pct(json.dumps(oauth))
                else:
                    headers["Authorization"] = auth_header(oauth)
            reused = self.conn is not None
            conn = self._connection()
            try:
                conn.request(method, target, headers=headers)
                r = conn.getresponse()
                body = r.read()
                hdrs = {k.lower(): v for k, v in r.getheaders()}
                if r.will_close:
                    self.close()
                return r.status, hdrs, body
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                # retry (re-signed) only when a kept-alive connection went stale
                if attempt or not reused or not retry:
                    raise
        raise RuntimeError("unreachable")

    def get_json(self, path, **kw):
        status, hdrs, body = self.request(path, **kw)
        return status, json.loads(body.decode("utf-8"))


def get(url, creds=None, query_auth=False, timeout=30):
    """One-shot signed GET of an absolute URL; returns (status, headers, body)."""
    u = urlsplit(url)
    c = Client("%s://%s" % (u.scheme, u.netloc), creds=creds, query_auth=query_auth, timeout=timeout)
    try:
        return c.request(url)
    finally:
        c.close()


def bench(base, paths, n, concurrency, creds, query_auth=False):
    lock = threading.Lock()
    counter = [0]
    codes = {}
    errors = [0]

    def worker():
        c = Client(base, creds=creds, query_auth=query_auth)
        while True:
            with lock:
                i = counter[0]
                if i >= n:
                    break
                counter[0] += 1
            path = paths[i % len(paths)]
            try:
                status, _, body = c.request(path)
                code = json.loads(body)["meta"]["code"] if status == 200 else "http%d" % status
            except Exception:
                code = "error"
                c.close()
            with lock:
                codes[code] = codes.get(code, 0) + 1
        c.close()

    t0 = time.perf_counter()
    ts = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    dt = time.perf_counter() - t0
    return {"requests": n, "seconds": round(dt, 3), "req_per_s": round(n / dt, 1), "codes": codes}


def main(argv=None):
    ap = argparse.ArgumentParser(description="Signed GETs against the BrickLink API (or the simulator)")
    ap.add_argument("--base", default=os.environ.get("BRICKLINK_BASE", "http://127.0.0.1:8080/api/store/v1"))
    ap.add_argument("--consumer-key", default=DEFAULT_CREDS["consumer_key"])
    ap.add_argument("--consumer-secret", default=DEFAULT_CREDS["consumer_secret"])
    ap.add_argument("--token-value", default=DEFAULT_CREDS["token_value"])
    ap.add_argument("--token-secret", default=DEFAULT_CREDS["token_secret"])
    ap.add_argument("--query-auth", action="store_true", help="send OAuth as the Authorization query parameter")
    ap.add_argument("--no-sign", action="store_true")
    ap.add_argument("--raw", action="store_true", help="print the body as received")
    ap.add_argument("--bench", type=int, metavar="N", help="send N requests and report req/s")
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("paths", nargs="+", help="path below the base, e.g. /items/part/3001")
    a = ap.parse_args(argv)
    creds = {"consumer_key": a.consumer_key, "consumer_secret": a.consumer_secret,
             "token_value": a.token_value, "token_secret": a.token_secret}
    if a.bench:
        print(json.dumps(bench(a.base, a.paths, a.bench, a.concurrency, creds, a.query_auth)))
        return 0
    c = Client(a.base, creds=creds, query_auth=a.query_auth)
    rc = 0
    for p in a.paths:
        status, hdrs, body = c.request(p, sign_request=not a.no_sign)
        if a.raw:
            sys.stdout.write(body.decode("utf-8", "replace") + "\n")
            continue
        try:
            obj = json.loads(body.decode("utf-8"))
            print(json.dumps(obj, indent=2, ensure_ascii=False))
            if obj.get("meta", {}).get("code") != 200:
                rc = 1
        except ValueError:
            print("HTTP %d %s\n%s" % (status, hdrs.get("content-type"), body[:2000].decode("utf-8", "replace")))
            rc = 1
    c.close()
    return rc


if __name__ == "__main__":
    sys.exit(main())
