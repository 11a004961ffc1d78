#!/usr/bin/env python3
"""BrickLink Store API simulator for brickcat tests and benchmarks.

Python 3 standard library only.  Serves the catalog part of the BrickLink
Store API (``/api/store/v1``) from the real data files in ``shared/data``,
verifies OAuth 1.0a HMAC-SHA1 signatures, and can inject faults (latency,
hangs, resets, truncated bodies, gateway pages, throttling, quota, ...)
driven through a small JSON control API under ``/_sim/``.

See README.md in this directory for the full description.
"""

import argparse
import base64
import collections
import hashlib
import hmac
import ipaddress
import json
import os
import random
import re
import select
import socket
import socketserver
import struct
import sys
import threading
import time
import xml.etree.ElementTree as ET
from http.server import ThreadingHTTPServer
from urllib.parse import quote, unquote, unquote_plus, urlsplit

API_BASE = "/api/store/v1"

ITEM_TYPES = ("PART", "SET", "MINIFIG", "BOOK", "GEAR", "CATALOG",
              "INSTRUCTION", "UNSORTED_LOT", "ORIGINAL_BOX")
TYPE_LETTER = {"PART": "P", "SET": "S", "MINIFIG": "M", "BOOK": "B", "GEAR": "G",
               "CATALOG": "C", "INSTRUCTION": "I", "UNSORTED_LOT": "U",
               "ORIGINAL_BOX": "O"}

ENDPOINTS = ("item", "colors", "price", "images", "color_list", "color",
             "category_list", "category", "item_mapping")

FAULT_KINDS = ("latency", "hang", "reset", "truncate", "malformed_json",
               "wrong_types", "gateway_503", "http_500", "meta_500",
               "throttle_429", "meta_429", "quota", "oversize",
               "max_concurrency", "bad_auth")

# Faults that replace the answer before authentication / routing.
PRE_FAULTS = ("hang", "reset", "gateway_503", "http_500", "meta_500",
              "throttle_429", "meta_429", "quota", "bad_auth")
# Faults that mangle the answer that would otherwise have been sent.
POST_FAULTS = ("truncate", "malformed_json", "wrong_types", "oversize")

CURRENCY_RATES = {
    "USD": 1.0, "EUR": 0.92, "GBP": 0.79, "CAD": 1.36, "AUD": 1.52,
    "NZD": 1.65, "JPY": 150.0, "CHF": 0.88, "SEK": 10.5, "DKK": 6.9,
    "NOK": 10.7, "PLN": 4.0, "CZK": 23.0, "HUF": 360.0, "SGD": 1.34,
    "HKD": 7.8, "MXN": 17.0, "BRL": 5.0, "INR": 83.0, "KRW": 1330.0,
    "CNY": 7.2, "ZAR": 18.5, "RON": 4.6, "HRK": 6.9, "BGN": 1.8,
    "ISK": 138.0, "ILS": 3.7, "MYR": 4.7, "PHP": 56.0, "THB": 36.0,
    "TWD": 31.5, "RUB": 92.0, "UAH": 38.0, "CLP": 950.0, "ARS": 850.0,
}
REGIONS = ("asia", "africa", "north_america", "south_america",
           "middle_east", "europe", "eu", "oceania")
COUNTRIES = ("US", "US", "US", "DE", "DE", "UK", "CA", "NL", "FR", "IT",
             "ES", "PL", "CZ", "AU", "JP", "SE", "BE", "AT", "DK", "HU")

NGINX_503 = (b"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n"
             b"<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n"
             b"<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
HTML_500 = (b"<!doctype html><html lang=\"en\"><head><title>HTTP Status 500 \xe2\x80\x93 "
            b"Internal Server Error</title></head><body><h1>HTTP Status 500 \xe2\x80\x93 "
            b"Internal Server Error</h1><hr class=\"line\" /><p><b>Type</b> Exception Report</p>"
            b"<h3>Apache Tomcat</h3></body></html>")
HTML_429 = (b"<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n"
            b"<center><h1>429 Too Many Requests</h1></center>\r\n<hr><center>nginx</center>\r\n"
            b"</body>\r\n</html>\r\n")

HTTP_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
                411: "Length Required", 413: "Payload Too Large", 429: "Too Many Requests",
                500: "Internal Server Error", 503: "Service Temporarily Unavailable"}

META_MESSAGES = {200: "OK", 400: "PARAMETER_MISSING_OR_INVALID", 401: "BAD_OAUTH_REQUEST",
                 403: "PERMISSION_DENIED", 404: "RESOURCE_NOT_FOUND",
                 405: "METHOD_NOT_ALLOWED", 429: "TOO_MANY_REQUESTS",
                 500: "INTERNAL_SERVER_ERROR"}


# --------------------------------------------------------------------------
# OAuth 1.0a (RFC 5849) helpers, server side
# --------------------------------------------------------------------------

_UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
_ENC_TABLE = {i: "%%%02X" % i for i in range(128) if chr(i) not in _UNRESERVED}


def oauth_enc(s):
    """RFC 3986 percent-encoding as RFC 5849 3.6 requires (space -> %20)."""
    if not isinstance(s, str):
        s = str(s)
    if s.isascii():
        return s.translate(_ENC_TABLE)      # C-speed fast path
    return quote(s, safe="-._~")


def parse_qs_pairs(query):
    """Decode an application/x-www-form-urlencoded query into (name, value)
    pairs, keeping blanks and order (RFC 5849 3.4.1.3.1)."""
    out = []
    if not query:
        return out
    for part in query.split("&"):
        if not part:
            continue
        k, sep, v = part.partition("=")
        out.append((unquote_plus(k), unquote_plus(v)))
    return out


def base_string_uri(scheme, host_header, path):
    """RFC 5849 3.4.1.2: lowercase scheme and host, drop default ports."""
    scheme = scheme.lower()
    host = host_header.strip().lower()
    port = None
    if host.startswith("["):          # IPv6 literal
        end = host.find("]")
        hostpart, rest = host[:end + 1], host[end + 1:]
        if rest.startswith(":"):
            port = rest[1:]
        host = hostpart
    elif ":" in host:
        host, port = host.rsplit(":", 1)
    if port and not ((scheme == "http" and port == "80") or (scheme == "https" and port == "443")):
        host = "%s:%s" % (host, port)
    return "%s://%s%s" % (scheme, host, path or "/")


def signature_base_string(method, uri, params):
    """RFC 5849 3.4.1: method, base string URI, normalized parameters.
    `params` are decoded (name, value) pairs, oauth_signature and realm
    already removed."""
    enc = [(oauth_enc(k), oauth_enc(v)) for k, v in params]
    enc.sort()
    norm = "&".join("%s=%s" % kv for kv in enc)
    return "&".join((method.upper(), oauth_enc(uri), oauth_enc(norm)))


def hmac_sha1_signature(base, consumer_secret, token_secret):
    key = (oauth_enc(consumer_secret) + "&" + oauth_enc(token_secret)).encode("utf-8")
    return base64.b64encode(hmac.new(key, base.encode("utf-8"), hashlib.sha1).digest()).decode("ascii")


_AUTH_PARAM_RE = re.compile(r'([A-Za-z0-9_\-]+)\s*=\s*"([^"]*)"')


def parse_oauth_header(value):
    v = value.strip()
    if v[:6].lower() != "oauth ":
        return None
    return {k: unquote(val) for k, val in _AUTH_PARAM_RE.findall(v[6:])}


OAUTH_REQUIRED = ("oauth_consumer_key", "oauth_token", "oauth_signature_method",
                  "oauth_timestamp", "oauth_nonce", "oauth_signature")


class OAuthError(Exception):
    pass


class NonceStore:
    """Nonces remembered per consumer key for 2*skew seconds.  Pruning is
    O(1) amortized: a FIFO of (expiry, key) ordered by insertion time."""

    def __init__(self):
        self.lock = threading.Lock()
        self.seen = {}
        self.fifo = collections.deque()

    def clear(self):
        with self.lock:
            self.seen.clear()
            self.fifo.clear()

    def use(self, consumer, nonce, ttl):
        now = time.monotonic()
        key = (consumer, nonce)
        with self.lock:
            fifo, seen = self.fifo, self.seen
            while fifo and fifo[0][0] < now:
                exp, k = fifo.popleft()
                if seen.get(k) == exp:
                    del seen[k]
            exp = seen.get(key)
            if exp is not None and exp >= now:
                return False
            exp = now + ttl
            seen[key] = exp
            fifo.append((exp, key))
            return True


# --------------------------------------------------------------------------
# Catalog (real data + deterministic generation)
# --------------------------------------------------------------------------

def bl_entities(s):
    """Entity-encode like BrickLink does in names and category names."""
    return (s.replace("&", "&amp;").replace("(", "&#40;").replace(")", "&#41;")
            .replace("'", "&#39;").replace('"', "&quot;"))


_PRINTED_NO_RE = re.compile(r"\d[a-z]{0,2}(?:pb|px|pr|pat|p)\d", re.I)
_STICKER_RE = re.compile(r"\bsticker\b", re.I)
_PRINT_WORD_RE = re.compile(r"\bprint(ed)?\b", re.I)
_DIM_RE = re.compile(r"(\d+(?:\.\d+)?)\s+x\s+(\d+(?:\.\d+)?)(?:\s+x\s+(\d+(?:\.\d+)?))?")

SETS = [
    ("10276-1", "Colosseum", 2020, "15220", "Creator Expert", False),
    ("75192-1", "Millennium Falcon - UCS (2nd edition)", 2017, "13523", "Star Wars", False),
    ("10179-1", "Millennium Falcon - UCS", 2007, "11455", "Star Wars", True),
    ("6080-1", "King's Castle", 1984, "1487", "Castle", True),
    ("6086-1", "Black Knight's Castle", 1992, "1620", "Castle", True),
    ("42115-1", "Lamborghini Si\u00e1n FKP 37", 2020, "4370", "Technic", False),
    ("21318-1", "Tree House", 2019, "3720", "LEGO Ideas (CUUSOO)", True),
    ("60197-1", "Passenger Train", 2018, "1440", "Town", True),
    ("71040-1", "The Disney Castle", 2016, "6050", "Disney", True),
    ("10220-1", "Volkswagen T1 Camper Van", 2011, "2830", "Creator Expert", True),
    ("7140-1", "X-wing Fighter", 1999, "560", "Star Wars", True),
    ("6399-1", "Airport Shuttle", 1990, "2100", "Town", True),
    ("10256-1", "Taj Mahal", 2017, "7900", "Creator Expert", True),
    ("10030-1", "Imperial Star Destroyer - UCS", 2002, "9200", "Star Wars", True),
    ("31120-1", "Medieval Castle", 2021, "1650", "Creator", True),
    ("40174-1", "LEGO Iconic Chess Set", 2017, "1050", "Gear", True),
    ("8880-1", "Super Car", 1994, "2500", "Technic", True),
    ("928-1", "Galaxy Explorer (LL 928)", 1979, "1020", "Space", True),
    ("375-2", "Castle", 1978, "1100", "Castle", True),
    ("10497-1", "Galaxy Explorer", 2022, "1780", "Space", False),
]
MINIFIGS = [
    ("sw0001a", "Battle Droid Tan with Back Plate", 1999, "3.20", "Star Wars"),
    ("sw0001b", "Battle Droid Tan with 1 Straight Arm", 1999, "3.20", "Star Wars"),
    ("sw0001c", "Battle Droid Tan with 2 Straight Arms", 2000, "3.20", "Star Wars"),
    ("sw0002", "Boba Fett - Classic Grays (Blue Helmet Pattern)", 2000, "4.10", "Star Wars"),
    ("sw0003", "Darth Vader (Light Gray Head)", 1999, "3.90", "Star Wars"),
    ("cas001", "Black Falcon - Black Legs, Black Hips, Blue Cape", 1984, "3.50", "Castle"),
    ("hp001", "Harry Potter, Gryffindor Stripe and Shield Torso", 2001, "3.30", "Harry Potter"),
    ("col001", "Zombie, Series 1 (Minifigure Only without Stand and Accessories)", 2010, "3.40", "Collectible Minifigures"),
    ("twn001", "Octan - Green Stripe & Octan Logo, Black Legs", 1992, "3.00", "Town"),
    ("sp001", "Classic Space - Red with Air Tanks", 1978, "3.30", "Space"),
    ("njo001", "Kai - Rebooted (70723)", 2014, "3.60", "Ninjago"),
    ("cty0001", "Police - Suit with 2 Pockets, Black Legs, White Hat", 2006, "3.10", "Town"),
]
EXTRA_PARTS = [
    # Synthetic parts (not in part_weights.csv) with numbers that exercise
    # path encoding; documented in README.md.
    ("973pb10c01", "Torso Space Classic Pattern / Red Arms / Red Hands", "0.99"),
    ("3001.1", "Brick 2 x 4 (Test Variant with Dot)", "2.32"),
    ("a/b", "Test Part with Slash in Number", "1.00"),
    ("3001 x", "Test Part with Space in Number", "1.00"),
]
PART_TEMPLATES = [
    ("Brick", "Brick {a} x {b}"), ("Brick, Modified", "Brick, Modified {a} x {b} with Studs on Side"),
    ("Plate", "Plate {a} x {b}"), ("Plate, Modified", "Plate, Modified {a} x {b} with Clip"),
    ("Tile", "Tile {a} x {b}"), ("Tile, Modified", "Tile, Modified {a} x {b} with Bar"),
    ("Slope", "Slope 45 {a} x {b}"), ("Slope, Curved", "Slope, Curved {a} x {b}"),
    ("Technic, Liftarm", "Technic, Liftarm Thick 1 x {b}"), ("Wedge", "Wedge {a} x {b} Right"),
    ("Panel", "Panel {a} x {b} x 1 (Undetermined Type)"), ("Bracket", "Bracket {a} x {b} - {a} x {b}"),
    ("Hinge", "Hinge Plate {a} x {b} Locking"), ("Cone", "Cone {a} x {a} x 1 with Top Groove"),
]
DESCRIPTIONS = [
    "Same mold as the earlier version, but with <b>hollow studs</b>.<br>See also &#40;older&#41; variants.",
    "Produced with &amp; without internal ridges.<br /><br />Mold variation: &#39;A&#39; stamped inside.",
    "<i>Note:</i> color may vary slightly between production runs.",
    "This item is sold in sets only.<br>",
    "Compatible with parts from the 1970&#39;s.",
    "Measurements in studs: length x width x height.",
]


def _xml_items(path):
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        raise SystemExit("bricklink_sim: cannot read %s: %s" % (path, e))
    return root.findall("ITEM")


def fmt2(x):
    return "%.2f" % x


def fmt4(x):
    return "%.4f" % x


class Catalog:
    def __init__(self, data_dir, seed, background=False):
        self.seed = seed
        self.data_dir = data_dir
        self.lock = threading.Lock()
        self.overrides = {}      # (TYPE, no) -> dict of fields (may define a new item)
        self.deleted = set()     # (TYPE, no)
        self.item_cache = {}
        self.colors_cache = {}
        self.body_cache = {}
        self._load()
        if background:
            threading.Thread(target=self.load_rebrickable, name="load-rebrickable", daemon=True).start()
        else:
            self.load_rebrickable()

    # -- loading ----------------------------------------------------------
    def _load(self):
        d = self.data_dir
        bl = os.path.join(d, "bricklink")
        rb = os.path.join(d, "rebrickable")
        for f in (os.path.join(bl, "part_weights.csv"), os.path.join(rb, "parts.csv"),
                  os.path.join(rb, "elements.csv")):
            if not os.access(f, os.R_OK):
                raise SystemExit("bricklink_sim: cannot read %s (use --data-dir)" % f)
        # colors
        self.colors = {}
        self.color_order = []
        for it in _xml_items(os.path.join(bl, "colors.xml")):
            cid = int(it.findtext("COLOR"))
            self.colors[cid] = {
                "color_id": cid,
                "color_name": it.findtext("COLORNAME") or "",
                "color_code": (it.findtext("COLORRGB") or "").strip(),
                "color_type": it.findtext("COLORTYPE") or "",
            }
            self.color_order.append((int(it.findtext("COLORCNTPARTS") or 0), cid))
        self.common_colors = [c for n, c in sorted(self.color_order, reverse=True) if c != 0][:40]
        self.color_list = [self.colors[c] for c in sorted(self.colors)]
        # categories
        self.categories = {}
        self.cat_by_name = {}
        for it in _xml_items(os.path.join(bl, "categories.xml")):
            cid = int(it.findtext("CATEGORY"))
            name = it.findtext("CATEGORYNAME") or ""
            self.categories[cid] = {"category_id": cid, "category_name": name, "parent_id": 0}
            self.cat_by_name[name.replace("&#39;", "'").replace("&#40;", "(")
                             .replace("&#41;", ")").lower()] = cid
        self.category_list = [self.categories[c] for c in sorted(self.categories)]
        self.cat_ids = sorted(self.categories)
        self.decorated_cats = [cid for cid, c in sorted(self.categories.items())
                               if c["category_name"].endswith((", Decorated", ", Decor."))]
        self.common_part_cats = [self.cat_by_name[n.lower()] for n, _ in PART_TEMPLATES
                                 if n.lower() in self.cat_by_name]
        # part weights (the set of PART numbers)
        self.weights = {}
        with open(os.path.join(bl, "part_weights.csv"), encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\r\n")
                if not line:
                    continue
                no, _, w = line.rpartition(",")
                if no:
                    self.weights[no] = w
        self.part_numbers = list(self.weights)
        for no, name, w in EXTRA_PARTS:
            self.weights.setdefault(no, w)
        self.extra_names = {no: name for no, name, w in EXTRA_PARTS}
        self.specials = {}
        self._load_specials()
        self.rb_names = {}
        self.elements = {}
        self.ready = threading.Event()

    def load_rebrickable(self):
        """Names and element/color data from rebrickable/ (about 0.2 s); until this has run,
        item, colors and item_mapping answers wait for it."""
        try:
            self._load_rebrickable()
        finally:
            self.ready.set()

    def _load_rebrickable(self):
        import csv
        d = self.data_dir
        rb = os.path.join(d, "rebrickable")
        weights = self.weights
        with open(os.path.join(rb, "parts.csv"), encoding="utf-8", newline="") as f:
            r = csv.reader(f)
            next(r, None)
            for row in r:
                if len(row) >= 2 and row[0] in weights:
                    self.rb_names[row[0]] = row[1]
        # rebrickable color id -> bricklink color id
        rb2bl = {}
        ldraw2bl = {}
        try:
            with open(os.path.join(d, "colors", "legocolors.csv"), encoding="utf-8", newline="") as f:
                for row in csv.DictReader(f):
                    bl_id, ld = (row.get("bl_id") or "").strip(), (row.get("ldraw_id") or "").strip()
                    if bl_id.isdigit() and ld.lstrip("-").isdigit():
                        ldraw2bl.setdefault(int(ld), int(bl_id))
        except OSError:
            pass
        name2bl = {c["color_name"].lower(): cid for cid, c in self.colors.items()}
        try:
            with open(os.path.join(rb, "colors.csv"), encoding="utf-8", newline="") as f:
                for row in csv.DictReader(f):
                    try:
                        rid = int(row["id"])
                    except (KeyError, ValueError):
                        continue
                    if rid in ldraw2bl and ldraw2bl[rid] in self.colors:
                        rb2bl[rid] = ldraw2bl[rid]
                    elif (row.get("name") or "").lower() in name2bl:
                        rb2bl[rid] = name2bl[row["name"].lower()]
        except OSError:
            pass
        # elements: part -> [(element_id, bl color)]
        elements = {}
        with open(os.path.join(rb, "elements.csv"), encoding="utf-8", newline="") as f:
            r = csv.reader(f)
            next(r, None)
            for row in r:
                if len(row) < 3 or row[1] not in weights:
                    continue
                try:
                    blc = rb2bl.get(int(row[2]))
                except ValueError:
                    continue
                if blc is None:
                    continue
                elements.setdefault(row[1], []).append((row[0], blc))
        self.elements = elements

    def _load_specials(self):
        # sets / minifigs / other types
        for no, name, year, w, cat, obsolete in SETS:
            self.specials[("SET", no)] = (name, year, w, cat, obsolete)
            self.specials[("INSTRUCTION", no)] = (name + " Instructions", year, "%.2f" % (float(w) * 0.04), cat, obsolete)
            self.specials[("ORIGINAL_BOX", no)] = (name + " Original Box", year, "%.2f" % (float(w) * 0.08), cat, obsolete)
        for no, name, year, w, cat in MINIFIGS:
            self.specials[("MINIFIG", no)] = (name, year, w, cat, year < 2015)
        self.specials[("BOOK", "b89ldp01")] = ("LEGO Ideas Book, 1989", 1989, "310.00", "Books", True)
        self.specials[("GEAR", "5006085-1")] = ("Brick Sorting Box", 2018, "560.00", "Gear", False)
        self.specials[("CATALOG", "c1980uk")] = ("1980 Large UK Catalog", 1980, "120.00", "Catalogs", True)

    # -- helpers ------------------------------------------------------------
    def h(self, *parts):
        s = "%d|%s" % (self.seed, "|".join(str(p) for p in parts))
        return int.from_bytes(hashlib.blake2b(s.encode("utf-8"), digest_size=8).digest(), "big")

    def exists(self, itype, no):
        key = (itype, no)
        if key in self.deleted:
            return False
        if key in self.overrides:
            return True
        if itype == "PART":
            return no in self.weights
        return key in self.specials

    def _cat_id_by_name(self, name, fallback_h):
        cid = self.cat_by_name.get(name.lower())
        if cid is None:
            cid = self.cat_ids[fallback_h % len(self.cat_ids)]
        return cid

    def _part_category(self, name, printed, hv):
        words = re.split(r"[\s,]+", name)
        head = []
        for w in words:
            if not w or any(ch.isdigit() for ch in w) or w.lower() in ("x", "with", "-", "/"):
                break
            head.append("Minifigure" if w == "Minifig" else w)
        cid = None
        for k in range(min(len(head), 3), 0, -1):
            cand = ", ".join(head[:k]).lower()
            if cand in self.cat_by_name:
                cid = self.cat_by_name[cand]
                if printed:
                    for suf in (", decorated", ", decor."):
                        if cand + suf in self.cat_by_name:
                            return self.cat_by_name[cand + suf]
                    break
                return cid
        if printed and self.decorated_cats:
            if cid is not None:
                return cid
            return self.decorated_cats[hv % len(self.decorated_cats)]
        if cid is not None:
            return cid
        pool = self.common_part_cats or self.cat_ids
        return pool[hv % len(pool)]

    # -- items --------------------------------------------------------------
    def get_item(self, itype, no):
        self.ready.wait()
        key = (itype, no)
        if not self.exists(itype, no):
            return None
        item = self.item_cache.get(key)
        if item is None:
            item = self._gen_item(itype, no)
            ov = self.overrides.get(key)
            if ov:
                item = dict(item)
                for k, v in ov.items():
                    if k in ("colors", "omit"):
                        continue
                    item[k] = v
                for k in ov.get("omit", ()):
                    item.pop(k, None)
            self.item_cache[key] = item
        return item

    def _gen_item(self, itype, no):
        hv = self.h("item", itype, no)
        r = random.Random(hv)
        L = TYPE_LETTER.get(itype, "P")
        colors = self.item_colors(itype, no)
        first_color = int(colors[0]["color_id"]) if colors else 0
        printed = False
        if itype == "PART":
            rbname = self.extra_names.get(no) or self.rb_names.get(no)
            printed = bool(_PRINTED_NO_RE.search(no))
            if rbname:
                if _PRINT_WORD_RE.search(rbname):
                    printed = True
                    rbname = _PRINT_WORD_RE.sub("Pattern", rbname)
                if "Pattern" in rbname and not _STICKER_RE.search(rbname):
                    printed = True
                name = rbname
            elif ("PART", no) in self.overrides:
                name = "Part %s" % no
            else:
                base, tmpl = PART_TEMPLATES[hv % len(PART_TEMPLATES)]
                a = r.choice((1, 1, 1, 2, 2, 3, 4))
                b = r.choice((1, 2, 2, 3, 4, 6, 8))
                name = tmpl.format(a=a, b=b)
                if printed:
                    name += r.choice((" with Black 'LEGO' Pattern", " with Red & White Stripes Pattern",
                                      " with Control Panel Pattern", " with Stars Pattern (Sticker)"))
                elif r.random() < 0.15:
                    name += r.choice((" (Undetermined Type)", " - Reinforced Underside",
                                      " with Axle Hole 'X' Shape", " (Part %s)" % no))
            category = self._part_category(name, printed, hv)
            w = self.weights.get(no, "?")
            try:
                weight = fmt2(float(w))
            except ValueError:
                weight = "0.00"
            m = _DIM_RE.search(name)
            if m and r.random() < 0.9:
                dx, dy = float(m.group(1)), float(m.group(2))
                if m.group(3):
                    dz = float(m.group(3))
                elif name.startswith("Brick"):
                    dz = 1.0
                elif name.startswith(("Plate", "Tile")):
                    dz = 0.33
                else:
                    dz = 0.0
                dims = (fmt2(dx), fmt2(dy), fmt2(dz))
            else:
                dims = ("0.00", "0.00", "0.00")
            year = r.randint(1958, 2022)
            lang = ""
            obsolete = r.random() < 0.04
        else:
            spec = self.overrides.get((itype, no)) or {}
            sp = self.specials.get((itype, no))
            if sp:
                name, year, weight, catname, obsolete = sp
            else:
                name, year, weight, catname = spec.get("name", "%s %s" % (itype.title(), no)), 2000, "0.00", ""
                obsolete = False
            weight = fmt2(float(weight))
            category = self._cat_id_by_name(catname, hv)
            dims = ("0.00", "0.00", "0.00") if itype != "SET" else (
                fmt2(r.randint(20, 60)), fmt2(r.randint(10, 50)), fmt2(r.randint(5, 15)))
            lang = "en" if itype in ("BOOK", "INSTRUCTION", "CATALOG") else ""
        roll = r.random()
        if roll < 0.12:
            alt = "%s%s" % (no, r.choice(("a", "b", "old")))
            if r.random() < 0.3:
                alt += ", %s" % r.choice(self.part_numbers)
        else:
            alt = ""
        desc = r.choice(DESCRIPTIONS) if r.random() < 0.3 else ""
        item = {
            "no": no,
            "name": bl_entities(name),
            "type": itype,
            "category_id": category,
            "alternate_no": alt,
            "image_url": "//img.bricklink.com/%sL/%s.jpg" % (L, no),
            "thumbnail_url": "//img.bricklink.com/%s/%d/%s.jpg" % (L, first_color, no),
            "weight": weight,
            "dim_x": dims[0],
            "dim_y": dims[1],
            "dim_z": dims[2],
            "year_released": year,
            "description": desc,
            "is_obsolete": obsolete,
            "language_code": lang,
        }
        if hv % 10 == 0:
            optional = ["alternate_no", "description", "dims", "year_released", "language_code"]
            omit = [f for f in optional if r.random() < 0.5] or [r.choice(optional)]
            for f in omit:
                if f == "dims":
                    for k in ("dim_x", "dim_y", "dim_z"):
                        item.pop(k, None)
                else:
                    item.pop(f, None)
        return item

    def item_colors(self, itype, no):
        self.ready.wait()
        key = (itype, no)
        ov = self.overrides.get(key)
        if ov and "colors" in ov:
            return ov["colors"]
        cached = self.colors_cache.get(key)
        if cached is not None:
            return cached
        hv = self.h("colors", itype, no)
        r = random.Random(hv)
        if itype != "PART":
            lst = [(0, 1)]
        else:
            els = self.elements.get(no)
            if els:
                seen = []
                for _, c in els:
                    if c not in seen:
                        seen.append(c)
                lst = [(c, r.randint(1, 3000)) for c in sorted(seen)]
            else:
                n = r.randint(1, 6)
                pool = self.common_colors
                cs = sorted(set(pool[min(int(r.expovariate(0.12)), len(pool) - 1)] for _ in range(n)))
                lst = [(c, r.randint(1, 3000)) for c in cs]
        quirk = hv % 10
        out = []
        for c, q in lst:
            if quirk < 2:   # ~20%: values as strings (BrickLink quirk)
                out.append({"color_id": str(c) if quirk == 0 else c, "quantity": str(q)})
            else:
                out.append({"color_id": c, "quantity": q})
        self.colors_cache[key] = out
        return out

    def item_mapping(self, itype, no, color_id):
        self.ready.wait()
        out = []
        if itype != "PART":
            return out
        for el, c in self.elements.get(no, ()):
            if color_id is not None and c != color_id:
                continue
            out.append({"item": {"no": no, "type": itype}, "color_id": c,
                        "color_name": self.colors.get(c, {}).get("color_name", ""),
                        "element_id": el})
        return out

    def element_lookup(self, element_id):
        # reverse mapping; built lazily
        self.ready.wait()
        idx = getattr(self, "_el_index", None)
        if idx is None:
            idx = {}
            for no, els in self.elements.items():
                for el, c in els:
                    idx.setdefault(el, (no, c))
            self._el_index = idx
        hit = idx.get(element_id)
        if not hit:
            return []
        no, c = hit
        return [{"item": {"no": no, "type": "PART"}, "color_id": c,
                 "color_name": self.colors.get(c, {}).get("color_name", ""), "element_id": element_id}]

    def price(self, itype, no, color_id, guide, cond, currency, country, region, vat):
        hv = self.h("price", itype, no, color_id)
        r0 = random.Random(hv)
        rate = CURRENCY_RATES[currency] * (1.2 if vat in ("Y", "O") else 1.0)
        data = {"item": {"no": no, "type": itype}, "new_or_used": cond, "currency_code": currency}
        if hv % 10 == 0:   # ~10% of (item, color): no sales at all
            data.update({"min_price": "0.0000", "max_price": "0.0000", "avg_price": "0.0000",
                         "qty_avg_price": "0.0000", "unit_quantity": 0, "total_quantity": 0,
                         "price_detail": []})
            return data
        if itype == "PART":
            try:
                w = float(self.weights.get(no, "1"))
            except ValueError:
                w = 1.0
            base = (0.02 + w * 0.03) * r0.lognormvariate(0, 0.8)
        elif itype == "MINIFIG":
            base = r0.uniform(2, 40)
        elif itype == "SET":
            base = r0.uniform(20, 900)
        else:
            base = r0.uniform(1, 60)
        if cond == "U":
            base *= 0.6
        r = random.Random(self.h("price", itype, no, color_id, guide, cond, country, region))
        misspelt = self.h("qunatity", itype, no) % 7 == 0
        rows = []
        if guide == "stock":
            n = r.randint(1, 25)
            for _ in range(n):
                q = max(1, int(r.expovariate(0.05)))
                p = round(base * r.lognormvariate(0, 0.35) * rate, 4)
                rows.append({("qunatity" if misspelt else "quantity"): q, "unit_price": fmt4(p),
                             "shipping_available": r.random() < 0.9})
        else:
            n = r.randint(1, 40)
            t_end = 1748736000  # 2025-06-01T00:00:00Z, fixed for determinism
            for _ in range(n):
                q = max(1, int(r.expovariate(0.1)))
                p = round(base * r.lognormvariate(0, 0.3) * rate, 4)
                ts = t_end - r.randint(0, 182 * 86400)
                ms = r.randint(0, 999)
                rows.append({"quantity": q, "unit_price": fmt4(p),
                             "seller_country_code": country or r.choice(COUNTRIES),
                             "buyer_country_code": r.choice(COUNTRIES),
                             "date_ordered": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + ".%03dZ" % ms})
            rows.sort(key=lambda x: x["date_ordered"], reverse=True)
        prices = [float(x["unit_price"]) for x in rows]
        qtys = [x.get("quantity", x.get("qunatity")) for x in rows]
        tq = sum(qtys)
        data.update({
            "min_price": fmt4(min(prices)), "max_price": fmt4(max(prices)),
            "avg_price": fmt4(sum(prices) / len(prices)),
            "qty_avg_price": fmt4(sum(p * q for p, q in zip(prices, qtys)) / tq),
            "unit_quantity": len(rows), "total_quantity": tq, "price_detail": rows,
        })
        return data

    # -- runtime changes ------------------------------------------------------
    def put_item(self, fields):
        itype = str(fields.get("type", "PART")).upper()
        no = fields.get("no")
        if not isinstance(no, str) or not no or itype not in ITEM_TYPES:
            raise ValueError("need 'no' (string) and a valid 'type'")
        key = (itype, no)
        with self.lock:
            ov = dict(self.overrides.get(key) or {})
            ov.update(fields)
            ov["type"] = itype
            self.overrides[key] = ov
            self.deleted.discard(key)
            self.item_cache.pop(key, None)
            self.colors_cache.pop(key, None)
            self.body_cache.clear()
        return self.get_item(itype, no)

    def delete_item(self, itype, no):
        key = (itype, no)
        with self.lock:
            existed = self.exists(itype, no)
            self.deleted.add(key)
            self.overrides.pop(key, None)
            self.item_cache.pop(key, None)
            self.colors_cache.pop(key, None)
            self.body_cache.clear()
        return existed

    def reset_items(self):
        with self.lock:
            self.overrides.clear()
            self.deleted.clear()
            self.item_cache.clear()
            self.colors_cache.clear()
            self.body_cache.clear()


# --------------------------------------------------------------------------
# Faults, stats
# --------------------------------------------------------------------------

class Fault:
    def __init__(self, spec, index, seed):
        if not isinstance(spec, dict):
            raise ValueError("fault must be an object")
        self.spec = dict(spec)
        self.kind = spec.get("kind")
        if self.kind not in FAULT_KINDS:
            raise ValueError("unknown fault kind %r" % (self.kind,))
        self.endpoint = spec.get("endpoint", "*")
        if self.endpoint != "*" and self.endpoint not in ENDPOINTS + ("other",):
            raise ValueError("unknown endpoint %r" % (self.endpoint,))
        self.key = spec.get("key")
        self.key_prefix = spec.get("key_prefix")
        self.rate = float(spec.get("rate", 1.0))
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("rate must be within 0..1")
        c = spec.get("count")
        self.count = None if c is None else int(c)
        self.fired = 0
        self.ok_calls = 0            # for quota: successful calls since installation
        self.rng = random.Random("%d:%d:%s" % (seed, index, self.kind))
        self.ms = float(spec.get("ms", 0) or 0)
        self.retry_after = int(spec.get("retry_after", 2))
        self.after = int(spec.get("after", 0))
        self.code = int(spec.get("code", 403))
        self.limit = int(spec.get("limit", 4))
        self.bytes = int(spec.get("bytes", 20 * 1024 * 1024))
        self.variant = spec.get("variant")
        self.body = spec.get("body", "html")
        self.mode = spec.get("mode", "close")
        if self.kind == "quota" and self.code not in (403, 429):
            raise ValueError("quota code must be 403 or 429")

    def matches(self, endpoint, key):
        if self.endpoint != "*" and self.endpoint != endpoint:
            return False
        if self.key is not None and self.key != key:
            return False
        if self.key_prefix is not None and not key.startswith(self.key_prefix):
            return False
        return True

    def describe(self):
        d = dict(self.spec)
        d["fired"] = self.fired
        if self.kind == "quota":
            d["ok_calls"] = self.ok_calls
        return d


class SimState:
    def __init__(self, args, catalog):
        self.args = args
        self.catalog = catalog
        self.seed = args.seed
        self.lock = threading.Lock()
        self.nonces = NonceStore()
        self.creds = {"consumer_key": args.consumer_key, "consumer_secret": args.consumer_secret,
                      "token_value": args.token_value, "token_secret": args.token_secret}
        self.config = {"latency_ms": 0.0, "no_auth": bool(args.no_auth),
                       "timestamp_skew": int(args.timestamp_skew)}
        self.faults = []
        self.fault_gen = 0
        self.reset_stats()

    def reset_stats(self):
        with self.lock:
            self.total = 0
            self.by_endpoint = {e: 0 for e in ENDPOINTS}
            self.by_key = {}
            self.by_code = {}
            self.auth_failures = 0
            self.max_concurrent = 0
            self.refused = 0
            self.ok = 0
            self.faults_fired = 0
            if not hasattr(self, "current"):
                self.current = 0
            self.started = time.time()

    def stats(self):
        with self.lock:
            return {"total": self.total, "by_endpoint": dict(self.by_endpoint),
                    "by_key": dict(self.by_key), "auth_failures": self.auth_failures,
                    "max_concurrent": self.max_concurrent, "current_concurrent": self.current,
                    "refused": self.refused, "ok": self.ok, "by_code": dict(self.by_code),
                    "faults_fired": self.faults_fired,
                    "uptime_s": round(time.time() - self.started, 3)}

    def set_faults(self, specs):
        self.fault_gen += 1
        faults = [Fault(s, i, self.seed) for i, s in enumerate(specs)]
        with self.lock:
            self.faults = faults

    def begin(self, endpoint, key):
        """Count a call; returns True if it must be refused (max_concurrency)."""
        with self.lock:
            self.total += 1
            if endpoint in self.by_endpoint:
                self.by_endpoint[endpoint] += 1
            else:
                self.by_endpoint[endpoint] = 1
            self.by_key[key] = self.by_key.get(key, 0) + 1
            self.current += 1
            if self.current > self.max_concurrent:
                self.max_concurrent = self.current
            for f in self.faults:
                if f.kind == "max_concurrency" and f.matches(endpoint, key) and self.current > f.limit:
                    f.fired += 1
                    self.refused += 1
                    self.faults_fired += 1
                    self.current -= 1
                    return f
        return None

    def end(self, meta_code, http_status):
        with self.lock:
            self.current -= 1
            code = str(meta_code if meta_code is not None else http_status)
            self.by_code[code] = self.by_code.get(code, 0) + 1
            if meta_code == 200 and http_status == 200:
                self.ok += 1
                for f in self.faults:
                    if f.kind == "quota":
                        f.ok_calls += 1

    def pick_faults(self, endpoint, key):
        """Returns (extra_latency_ms, fault or None)."""
        latency = 0.0
        chosen = None
        with self.lock:
            for f in self.faults:
                if f.kind == "max_concurrency" or not f.matches(endpoint, key):
                    continue
                if f.kind == "quota" and f.ok_calls < f.after:
                    continue
                if chosen is not None and f.kind != "latency":
                    continue
                if f.count is not None and f.fired >= f.count:
                    continue
                if f.rate < 1.0 and f.rng.random() >= f.rate:
                    continue
                f.fired += 1
                self.faults_fired += 1
                if f.kind == "latency":
                    latency += f.ms
                else:
                    chosen = f
        return latency, chosen


# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------

class AbortConnection(Exception):
    pass


def envelope(code, data=None, description=None, message=None, has_data=True):
    meta = {"description": description if description is not None else META_MESSAGES.get(code, "OK"),
            "message": message if message is not None else META_MESSAGES.get(code, "OK"),
            "code": code}
    d = {"meta": meta}
    if code == 200 and has_data:
        d["data"] = data
    return d


def dumps(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class APIResponse:
    __slots__ = ("status", "headers", "body", "meta_code", "obj", "endpoint")

    def __init__(self, obj=None, status=200, body=None, headers=None, meta_code=None):
        self.status = status
        self.obj = obj
        self.body = body
        self.headers = headers or []
        self.meta_code = meta_code if meta_code is not None else (obj["meta"]["code"] if obj else None)


def meta_error(code, description=None, message=None):
    return APIResponse(envelope(code, description=description, message=message))


class Handler(socketserver.StreamRequestHandler):
    rbufsize = 65536
    wbufsize = 0
    server_version = "Apache-Coyote/1.1"

    def setup(self):
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.connection.settimeout(self.server.idle_timeout)

    def finish(self):
        try:
            super().finish()
        except (OSError, ValueError):
            pass

    def handle(self):
        try:
            while self.handle_one():
                pass
        except AbortConnection:
            pass
        except (ConnectionError, socket.timeout, OSError, ValueError):
            pass

    # -- request parsing ------------------------------------------------------
    def handle_one(self):
        line = self.rfile.readline(65537)
        if not line:
            return False
        if line in (b"\r\n", b"\n"):          # tolerate stray CRLF between requests
            line = self.rfile.readline(65537)
            if not line:
                return False
        try:
            reqline = line.decode("latin-1").rstrip("\r\n")
            method, target, version = reqline.split(" ")
        except ValueError:
            self.send_raw(400, [("Content-Type", "text/plain")], b"bad request line", close=True)
            return False
        headers = {}
        while True:
            h = self.rfile.readline(65537)
            if not h or h in (b"\r\n", b"\n"):
                break
            k, _, v = h.decode("latin-1").partition(":")
            headers[k.strip().lower()] = v.strip()
            if len(headers) > 200:
                self.send_raw(431, [("Content-Type", "text/plain")], b"too many headers", close=True)
                return False
        conn_hdr = headers.get("connection", "").lower()
        if version == "HTTP/1.1":
            self.keep_alive = "close" not in conn_hdr
        else:
            self.keep_alive = "keep-alive" in conn_hdr
        body = b""
        if "content-length" in headers:
            try:
                n = int(headers["content-length"])
            except ValueError:
                n = -1
            if n < 0 or n > 64 * 1024 * 1024:
                self.send_raw(400, [("Content-Type", "text/plain")], b"bad content-length", close=True)
                return False
            body = self.rfile.read(n) if n else b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            self.send_raw(411, [("Content-Type", "text/plain")], b"chunked bodies not supported", close=True)
            return False
        self.method = method.upper()
        self.headers = headers
        self.req_body = body
        if target.startswith(("http://", "https://")):
            sp = urlsplit(target)
            raw_path, query = sp.path, sp.query
        else:
            raw_path, _, query = target.partition("?")
        self.raw_path = raw_path
        self.query = query
        t0 = time.perf_counter()
        if raw_path.startswith("/_sim/") or raw_path == "/_sim":
            status = self.handle_control()
        else:
            status = self.handle_api()
        self.server.sim_log(self, status, t0)
        return self.keep_alive

    # -- low-level writing --------------------------------------------------------
    def send_raw(self, status, headers, body, close=False, truncate_to=None):
        reason = HTTP_REASONS.get(status, "Unknown")
        out = ["HTTP/1.1 %d %s\r\n" % (status, reason), "Content-Length: %d\r\n" % len(body)]
        if not any(k.lower() == "server" for k, _ in headers):
            out.append("Server: %s\r\n" % self.server_version)
        for k, v in headers:
            out.append("%s: %s\r\n" % (k, v))
        if close or not getattr(self, "keep_alive", False):
            out.append("Connection: close\r\n")
            self.keep_alive = False
        out.append("\r\n")
        payload = "".join(out).encode("latin-1")
        if truncate_to is not None:
            self.wfile.write(payload + body[:truncate_to])
            self.keep_alive = False
            raise AbortConnection()
        if len(body) > 1 << 20:
            self.wfile.write(payload)
            self.wfile.write(body)
        else:
            self.wfile.write(payload + body)

    def rst_close(self):
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        for f in (self.rfile, self.wfile):
            try:
                f.close()
            except (OSError, ValueError):
                pass
        try:
            self.connection.close()
        except OSError:
            pass
        raise AbortConnection()

    def send_json(self, obj, status=200):
        self.send_raw(status, [("Content-Type", "application/json")], dumps(obj) + b"\n")
        return status

    # -- control API --------------------------------------------------------------
    def handle_control(self):
        st = self.server.state
        path = self.raw_path.rstrip("/")
        m = self.method
        try:
            payload = json.loads(self.req_body.decode("utf-8")) if self.req_body.strip() else {}
        except ValueError as e:
            return self.send_json({"error": "invalid JSON: %s" % e}, 400)
        try:
            if path == "/_sim/stats" and m == "GET":
                return self.send_json(st.stats())
            if path == "/_sim/health" and m == "GET":
                return self.send_json({"ok": True, "port": self.server.server_address[1],
                                       "seed": st.seed, "data_dir": st.catalog.data_dir})
            if path == "/_sim/reset" and m == "POST":
                st.reset_stats()
                st.set_faults([])
                st.nonces.clear()
                if isinstance(payload, dict) and payload.get("catalog"):
                    st.catalog.reset_items()
                if isinstance(payload, dict) and payload.get("config"):
                    st.config.update({"latency_ms": 0.0, "no_auth": bool(st.args.no_auth),
                                      "timestamp_skew": int(st.args.timestamp_skew)})
                return self.send_json({"ok": True})
            if path == "/_sim/faults":
                if m == "GET":
                    with st.lock:
                        return self.send_json({"faults": [f.describe() for f in st.faults]})
                if m == "POST" or m == "PUT":
                    specs = payload.get("faults") if isinstance(payload, dict) else payload
                    if not isinstance(specs, list):
                        return self.send_json({"error": "expected {\"faults\": [...]}"}, 400)
                    st.set_faults(specs)
                    with st.lock:
                        return self.send_json({"ok": True, "faults": [f.describe() for f in st.faults]})
                if m == "DELETE":
                    st.set_faults([])
                    return self.send_json({"ok": True, "faults": []})
            if path == "/_sim/config":
                if m == "POST":
                    if not isinstance(payload, dict):
                        return self.send_json({"error": "expected an object"}, 400)
                    for k, v in payload.items():
                        if k == "latency_ms":
                            st.config[k] = float(v)
                        elif k == "no_auth":
                            st.config[k] = bool(v)
                        elif k == "timestamp_skew":
                            st.config[k] = int(v)
                        elif k == "quiet":
                            self.server.quiet = bool(v)
                        else:
                            return self.send_json({"error": "unknown config key %r" % k}, 400)
                if m in ("GET", "POST"):
                    return self.send_json({"config": dict(st.config, quiet=self.server.quiet)})
            if path == "/_sim/items" and m == "POST":
                items = payload if isinstance(payload, list) else [payload]
                out = [st.catalog.put_item(x) for x in items]
                return self.send_json({"ok": True, "items": out})
            if path.startswith("/_sim/items/"):
                segs = [unquote(s) for s in path[len("/_sim/items/"):].split("/")]
                if len(segs) != 2:
                    return self.send_json({"error": "use /_sim/items/{type}/{no}"}, 400)
                itype, no = segs[0].upper(), segs[1]
                if m == "DELETE":
                    existed = st.catalog.delete_item(itype, no)
                    return self.send_json({"ok": True, "existed": existed})
                if m == "GET":
                    it = st.catalog.get_item(itype, no)
                    if it is None:
                        return self.send_json({"error": "not found"}, 404)
                    return self.send_json({"item": it, "colors": st.catalog.item_colors(itype, no)})
            if path == "/_sim/shutdown" and m == "POST":
                self.send_json({"ok": True})
                threading.Thread(target=self.server.shutdown, daemon=True).start()
                return 200
        except (ValueError, TypeError) as e:
            return self.send_json({"error": str(e)}, 400)
        return self.send_json({"error": "no such control endpoint: %s %s" % (m, path)}, 404)

    # -- API --------------------------------------------------------------------
    def classify(self):
        """Map the path to (endpoint, key, route-args)."""
        rest = self.raw_path[len(API_BASE):]
        segs = rest.split("/")[1:]
        if segs and segs[-1] == "":
            segs.pop()
        segs = [unquote(s) for s in segs]
        n = len(segs)
        if n >= 3 and segs[0] == "items":
            itype = segs[1].upper()
            no = segs[2]
            if n == 3:
                return "item", "item:%s:%s" % (itype, no), (itype, no)
            if n == 4 and segs[3] == "colors":
                return "colors", "colors:%s:%s" % (itype, no), (itype, no)
            if n == 4 and segs[3] == "price":
                q = self.qdict()
                return "price", "price:%s:%s:%s:%s:%s" % (
                    itype, no, q.get("color_id") or "0", (q.get("guide_type") or "stock").lower(),
                    (q.get("new_or_used") or "N").upper()), (itype, no)
            if n == 5 and segs[3] == "images":
                return "images", "images:%s:%s:%s" % (itype, no, segs[4]), (itype, no, segs[4])
        elif n == 1 and segs[0] == "colors":
            return "color_list", "color_list", ()
        elif n == 2 and segs[0] == "colors":
            return "color", "color:%s" % segs[1], (segs[1],)
        elif n == 1 and segs[0] == "categories":
            return "category_list", "category_list", ()
        elif n == 2 and segs[0] == "categories":
            return "category", "category:%s" % segs[1], (segs[1],)
        elif n == 3 and segs[0] == "item_mapping":
            itype = segs[1].upper()
            return "item_mapping", "item_mapping:%s:%s" % (itype, segs[2]), (itype, segs[2])
        elif n == 2 and segs[0] == "item_mapping":
            return "item_mapping", "item_mapping:ELEMENT:%s" % segs[1], (None, segs[1])
        return "other", "other:%s" % self.raw_path, ()

    def qdict(self):
        qd = getattr(self, "_qd", None)
        if qd is None or qd[0] is not self.query:
            d = {}
            for k, v in parse_qs_pairs(self.query):
                d.setdefault(k, v)
            qd = (self.query, d)
            self._qd = qd
        return qd[1]

    def handle_api(self):
        srv = self.server
        st = srv.state
        if not self.raw_path.startswith(API_BASE + "/") and self.raw_path != API_BASE:
            self.send_raw(404, [("Content-Type", "text/html;charset=utf-8")],
                          b"<html><body><h1>404 Not Found</h1></body></html>")
            return 404
        endpoint, key, args = self.classify()
        self.endpoint, self.key = endpoint, key
        self.meta_code = self.fault_kind = None
        refuse = st.begin(endpoint, key)
        if refuse is not None:
            self.keep_alive = False
            if refuse.mode == "reset":
                self.rst_close()
            raise AbortConnection()
        meta_code, status, ended = None, 0, False
        try:
            latency, fault = st.pick_faults(endpoint, key)
            latency += st.config["latency_ms"]
            if latency > 0:
                time.sleep(latency / 1000.0)
            kind = fault.kind if fault else None
            self.fault_kind = kind
            if kind in PRE_FAULTS:
                resp = self.pre_fault(fault)
            else:
                resp = self.authenticate()
                if resp is None:
                    try:
                        resp = self.route(endpoint, args)
                    except Exception:
                        import traceback
                        sys.stderr.write("bricklink_sim: internal error on %s\n%s"
                                         % (self.raw_path, traceback.format_exc()))
                        resp = APIResponse(status=500, body=b"simulator internal error",
                                           headers=[("Content-Type", "text/plain")])
                else:
                    with st.lock:
                        st.auth_failures += 1
            if kind == "bad_auth":
                with st.lock:
                    st.auth_failures += 1
            meta_code, status = resp.meta_code, resp.status
            self.meta_code = meta_code
            truncate_to = None
            if kind in POST_FAULTS:
                status, hdrs, body, truncate_to = self.post_fault(fault, resp, endpoint)
            else:
                body = resp.body if resp.body is not None else dumps(resp.obj)
                hdrs = resp.headers or [("Content-Type", "text/html;charset=utf-8")]
            # The request stops being "in flight" just before its answer is written, so a
            # client that sends its next request as soon as it has an answer is never
            # counted twice (max_concurrent never over-reports the client's concurrency).
            ended = True
            st.end(meta_code, status)
            self.send_raw(status, hdrs, body, truncate_to=truncate_to)
        finally:
            if not ended:
                st.end(meta_code, status)
        return status

    def pre_fault(self, f):
        k = f.kind
        if k == "hang":
            self.hang(f.ms)
        if k == "reset":
            self.rst_close()
        if k == "gateway_503":
            return APIResponse(status=503, body=NGINX_503, headers=[
                ("Content-Type", "text/html"), ("Server", "nginx")])
        if k == "http_500":
            if f.body == "empty":
                return APIResponse(status=500, body=b"", headers=[("Content-Type", "text/html;charset=utf-8")])
            return APIResponse(status=500, body=HTML_500, headers=[("Content-Type", "text/html;charset=utf-8")])
        if k == "meta_500":
            return meta_error(500)
        if k == "throttle_429":
            return APIResponse(status=429, body=HTML_429, headers=[
                ("Content-Type", "text/html"), ("Retry-After", str(f.retry_after))])
        if k == "meta_429":
            return meta_error(429, description="TOO_MANY_REQUESTS: request rate exceeded")
        if k == "quota":
            if f.code == 429:
                return meta_error(429, description="API_QUOTA_EXCEEDED: daily request limit reached")
            return meta_error(403, description="PERMISSION_DENIED: API daily request limit (5000) exceeded")
        if k == "bad_auth":
            ck = self.oauth_params_quiet().get("oauth_consumer_key", self.server.state.creds["consumer_key"])
            return meta_error(401, description="TOKEN_IP_MISMATCHED: consumer: %s IP: 127.0.0.1" % ck)
        raise AssertionError(k)

    def hang(self, max_ms):
        deadline = time.monotonic() + max_ms / 1000.0 if max_ms else None
        conn = self.connection
        while not self.server.stopping:
            if deadline is not None and time.monotonic() >= deadline:
                break
            try:
                r, _, _ = select.select([conn], [], [], 0.05)
            except (OSError, ValueError):
                break
            if r:
                try:
                    data = conn.recv(1, socket.MSG_PEEK)
                except OSError:
                    break
                if not data:
                    break
                time.sleep(0.05)   # pipelined data; keep hanging
        self.keep_alive = False
        raise AbortConnection()

    def post_fault(self, f, resp, endpoint):
        """Returns (status, headers, body, truncate_to) of the mangled answer."""
        k = f.kind
        hdrs = resp.headers or [("Content-Type", "text/html;charset=utf-8")]
        body = resp.body if resp.body is not None else dumps(resp.obj)
        if k == "truncate":
            return resp.status, hdrs, body, len(body) // 2
        if k == "malformed_json":
            full = dumps(resp.obj) if resp.obj else b'{"meta":{"code":200,"message":"OK"}}'
            return 200, hdrs, full[: max(20, len(full) * 2 // 3)], None   # lacks the closing brace
        if k == "wrong_types":
            obj = resp.obj if resp.obj and "data" in resp.obj else envelope(200, data={})
            obj = json.loads(dumps(obj))
            obj["data"] = self.wrong_types(obj.get("data"), endpoint, f)
            return 200, hdrs, dumps(obj), None
        if k == "oversize":
            obj = resp.obj if resp.obj and "data" in resp.obj else envelope(200, data={})
            data = obj.get("data")
            pad = "x" * max(0, f.bytes)
            if isinstance(data, dict):
                data = dict(data, description=pad)
            elif isinstance(data, list):
                data = list(data) + [{"padding": pad}]
            else:
                data = {"value": data, "description": pad}
            return 200, hdrs, dumps({"meta": obj["meta"], "data": data}), None
        raise AssertionError(k)

    def wrong_types(self, data, endpoint, f):
        with self.server.state.lock:
            pick = f.rng.randrange(1 << 30)
        v = f.variant
        if endpoint == "item" and isinstance(data, dict):
            variants = ("array", "weight_object", "scalar_types")
            v = v if v in variants else variants[pick % len(variants)]
            if v == "array":
                return [data]
            if v == "weight_object":
                data["weight"] = {"value": data.get("weight"), "unit": "g"}
                return data
            data["weight"] = 2.32 if data.get("weight") is not None else None
            data["category_id"] = str(data.get("category_id"))
            data["is_obsolete"] = "false"
            data["name"] = 3001
            data["year_released"] = "unknown"
            return data
        if endpoint in ("colors", "color_list", "category_list", "item_mapping") and isinstance(data, list):
            variants = ("strings", "object")
            v = v if v in variants else variants[pick % len(variants)]
            if v == "strings":
                return [json.dumps(x) if not isinstance(x, str) else x for x in data] or ["1"]
            return {"entries": data}
        if endpoint == "price" and isinstance(data, dict):
            variants = ("detail_object", "numbers", "array")
            v = v if v in variants else variants[pick % len(variants)]
            if v == "detail_object":
                data["price_detail"] = {"rows": data.get("price_detail")}
                return data
            if v == "numbers":
                for k in ("min_price", "max_price", "avg_price", "qty_avg_price"):
                    data[k] = {"amount": data.get(k)}
                data["total_quantity"] = "many"
                return data
            return [data]
        if isinstance(data, dict):
            return [data]
        return "unexpected"

    # -- OAuth ------------------------------------------------------------------
    def oauth_params_quiet(self):
        try:
            p, _, _ = self.oauth_params()
            return p or {}
        except Exception:
            return {}

    def oauth_params(self):
        """Returns (oauth dict, query pairs for the base string, form)."""
        qpairs = parse_qs_pairs(self.query)
        hdr = self.headers.get("authorization")
        if hdr:
            p = parse_oauth_header(hdr)
            if p is not None:
                return p, [kv for kv in qpairs if kv[0] != "Authorization"], "header"
        rest, auth_json = [], None
        for k, v in qpairs:
            if k == "Authorization" and auth_json is None:
                auth_json = v
            else:
                rest.append((k, v))
        if auth_json is not None:
            try:
                p = json.loads(auth_json)
            except ValueError:
                raise OAuthError("PARAMETER_MISSING_OR_INVALID: Authorization query parameter is not JSON")
            if not isinstance(p, dict):
                raise OAuthError("PARAMETER_MISSING_OR_INVALID: Authorization query parameter is not an object")
            return {str(k): ("" if v is None else str(v)) for k, v in p.items()}, rest, "query"
        p = {k: v for k, v in qpairs if k.startswith("oauth_")}
        if p:
            return p, [kv for kv in qpairs if not kv[0].startswith("oauth_")], "oauth_query"
        return None, qpairs, None

    def authenticate(self):
        st = self.server.state
        if st.config["no_auth"]:
            return None
        try:
            p, qpairs, form = self.oauth_params()
        except OAuthError as e:
            return meta_error(401, description=str(e))
        if not p:
            return meta_error(401, description="PARAMETER_MISSING_OR_INVALID: no OAuth parameters "
                              "(Authorization header or query parameter)")
        for k in OAUTH_REQUIRED:
            if not p.get(k):
                return meta_error(401, description="PARAMETER_MISSING_OR_INVALID: %s" % k)
        if p["oauth_signature_method"] != "HMAC-SHA1":
            return meta_error(401, description="SIGNATURE_METHOD_UNSUPPORTED: %s" % p["oauth_signature_method"])
        if p.get("oauth_version", "1.0") != "1.0":
            return meta_error(401, description="VERSION_UNSUPPORTED: %s" % p["oauth_version"])
        creds = st.creds
        if p["oauth_consumer_key"] != creds["consumer_key"]:
            return meta_error(401, description="CONSUMER_KEY_UNKNOWN")
        if p["oauth_token"] != creds["token_value"]:
            return meta_error(401, description="TOKEN_VALUE_UNKNOWN")
        try:
            ts = int(p["oauth_timestamp"])
        except ValueError:
            return meta_error(401, description="TIMESTAMP_REJECTED: not an integer")
        skew = st.config["timestamp_skew"]
        if abs(time.time() - ts) > skew:
            return meta_error(401, description="TIMESTAMP_REJECTED: %d is outside +/-%ds of server time %d"
                              % (ts, skew, int(time.time())))
        params = [(k, v) for k, v in p.items() if k not in ("oauth_signature", "realm")]
        params.extend(qpairs)
        host = self.headers.get("host") or "%s:%d" % self.server.server_address[:2]
        sig = p["oauth_signature"]
        ok = False
        tried = []
        for path in self.candidate_paths():
            base = signature_base_string(self.method, base_string_uri("http", host, path), params)
            expect = hmac_sha1_signature(base, creds["consumer_secret"], creds["token_secret"])
            tried.append(base)
            if hmac.compare_digest(expect, sig) or (form == "query" and "%" in sig
                                                  and hmac.compare_digest(expect, unquote(sig))):
                ok = True
                break
        if not ok:
            self.server.debug("signature mismatch; base strings tried: %r" % tried)
            return meta_error(401, description="SIGNATURE_INVALID")
        if not st.nonces.use(p["oauth_consumer_key"], p["oauth_nonce"], 2 * skew + 1):
            return meta_error(401, description="NONCE_USED: %s" % p["oauth_nonce"])
        return None

    def candidate_paths(self):
        raw = self.raw_path
        yield raw
        norm = "/".join(oauth_enc(unquote(s)) for s in raw.split("/"))
        if norm != raw:
            yield norm

    # -- routes -------------------------------------------------------------------
    def route(self, endpoint, args):
        if self.method != "GET":
            return meta_error(405, description="METHOD_NOT_ALLOWED: %s" % self.method)
        cat = self.server.state.catalog
        if endpoint in ("item", "colors", "price", "images") or (endpoint == "item_mapping" and args[0]):
            itype, no = args[0], args[1]
            if itype not in ITEM_TYPES:
                return meta_error(400, description="PARAMETER_MISSING_OR_INVALID: type %s" % itype)
            if not cat.exists(itype, no):
                return meta_error(404, description="RESOURCE_NOT_FOUND: %s %s" % (itype, no))
            if endpoint == "item":
                return self.cached_ok(cat, ("item", itype, no), cat.get_item, itype, no)
            if endpoint == "colors":
                return self.cached_ok(cat, ("colors", itype, no), cat.item_colors, itype, no)
            if endpoint == "images":
                try:
                    c = int(args[2])
                except ValueError:
                    return meta_error(400, description="PARAMETER_MISSING_OR_INVALID: color_id")
                L = TYPE_LETTER[itype]
                return APIResponse(envelope(200, {
                    "color_id": c, "thumbnail_url": "//img.bricklink.com/ItemImage/%sN/%d/%s.png" % (L, c, no),
                    "type": itype, "no": no}))
            if endpoint == "item_mapping":
                c = self.qdict().get("color_id")
                if c not in (None, ""):
                    try:
                        c = int(c)
                    except ValueError:
                        return meta_error(400, description="PARAMETER_MISSING_OR_INVALID: color_id")
                else:
                    c = None
                return APIResponse(envelope(200, cat.item_mapping(itype, no, c)))
            return self.price(itype, no)
        if endpoint == "item_mapping":
            return APIResponse(envelope(200, cat.element_lookup(args[1])))
        if endpoint == "color_list":
            return self.cached_ok(cat, ("color_list",), lambda: cat.color_list)
        if endpoint == "category_list":
            return self.cached_ok(cat, ("category_list",), lambda: cat.category_list)
        if endpoint in ("color", "category"):
            try:
                i = int(args[0])
            except ValueError:
                return meta_error(400, description="PARAMETER_MISSING_OR_INVALID: id %s" % args[0])
            d = (cat.colors if endpoint == "color" else cat.categories).get(i)
            if d is None:
                return meta_error(404, description="RESOURCE_NOT_FOUND: %s %d" % (endpoint, i))
            return APIResponse(envelope(200, d))
        return meta_error(400, description="INVALID_URI: %s" % self.raw_path, message="INVALID_URI")

    @staticmethod
    def cached_ok(cat, ckey, fn, *args):
        """Success envelope with the serialized body cached (catalog changes clear it)."""
        hit = cat.body_cache.get(ckey)
        if hit is None:
            obj = envelope(200, fn(*args))
            hit = (obj, dumps(obj))
            cat.body_cache[ckey] = hit
        return APIResponse(hit[0], body=hit[1])

    def price(self, itype, no):
        q = self.qdict()
        guide = (q.get("guide_type") or "stock").lower()
        if guide not in ("sold", "stock"):
            return meta_error(400, description="PARAMETER_MISSING_OR_INVALID: guide_type")
        cond = (q.get("new_or_used") or "N").upper()
        if cond not in ("N", "U"):
            return meta_error(400, description="PARAMETER_MISSING_OR_INVALID: new_or_used")
        c = q.get("color_id")
        color = 0
        if c not in (None, ""):
            try:
                color = int(c)
            except ValueError:
                return meta_error(400, description="PARAMETER_MISSING_OR_INVALID: color_id")
        cur = (q.get("currency_code") or "USD").upper()
        if cur not in CURRENCY_RATES:
            return meta_error(400, description="PARAMETER_MISSING_OR_INVALID: currency_code")
        country = (q.get("country_code") or "").upper()
        if country and not re.fullmatch(r"[A-Z]{2}", country):
            return meta_error(400, description="PARAMETER_MISSING_OR_INVALID: country_code")
        region = (q.get("region") or "").lower()
        if region and region not in REGIONS:
            return meta_error(400, description="PARAMETER_MISSING_OR_INVALID: region")
        vat = (q.get("vat") or "N").upper()
        if vat not in ("N", "Y", "O"):
            return meta_error(400, description="PARAMETER_MISSING_OR_INVALID: vat")
        data = self.server.state.catalog.price(itype, no, color, guide, cond, cur, country, region, vat)
        return APIResponse(envelope(200, data))


class SimServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False      # do not join connection threads (idle keep-alives) on exit
    allow_reuse_address = True
    request_queue_size = 256
    idle_timeout = 300

    def __init__(self, addr, handler, state, quiet, log_file, family):
        self.address_family = family
        self.state = state
        self.quiet = quiet
        self.stopping = False
        self.log_lock = threading.Lock()
        self.log_fp = open(log_file, "a", buffering=1, encoding="utf-8") if log_file else None
        self.debug_enabled = bool(os.environ.get("BRICKLINK_SIM_DEBUG"))
        super().__init__(addr, handler)

    def server_bind(self):
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn); skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = host
        self.server_port = port

    def sim_log(self, h, status, t0):
        if self.quiet and not self.log_fp:
            return
        line = "%s %s %s%s http=%s meta=%s fault=%s %.1fms\n" % (
            time.strftime("%H:%M:%S"), h.method, h.raw_path, ("?" + h.query) if h.query else "",
            status, getattr(h, "meta_code", None), getattr(h, "fault_kind", None),
            (time.perf_counter() - t0) * 1000)
        with self.log_lock:
            if self.log_fp:
                self.log_fp.write(line)
            if not self.quiet:
                sys.stderr.write(line)

    def debug(self, msg):
        if self.debug_enabled:
            with self.log_lock:
                sys.stderr.write("DEBUG %s\n" % msg)
                if self.log_fp:
                    self.log_fp.write("DEBUG %s\n" % msg)

    def handle_error(self, request, client_address):
        if self.debug_enabled:
            super().handle_error(request, client_address)


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------

def default_data_dir():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))           # project root (contains test/)
    cands = [os.environ[v] for v in ("BRICKLINK_SIM_DATA_DIR", "BRICKCAT_DATA") if os.environ.get(v)]
    cands.append(os.path.join(os.path.dirname(root), "shared", "data"))
    d = root
    while True:
        cands.append(os.path.join(d, "shared", "data"))
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    for c in cands:
        if os.path.isfile(os.path.join(c, "bricklink", "colors.xml")):
            return c
    return cands[0]


def check_loopback(host):
    if host == "localhost":
        return "127.0.0.1", socket.AF_INET
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise SystemExit("bricklink_sim: --host must be a loopback IP address, got %r" % host)
    if not ip.is_loopback:
        raise SystemExit("bricklink_sim: refusing to listen on non-loopback address %s" % host)
    return host, (socket.AF_INET6 if ip.version == 6 else socket.AF_INET)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description="BrickLink Store API simulator (loopback only)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--port-file", help="write the port here (atomically) once listening")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--consumer-key", default="test-consumer-key")
    ap.add_argument("--consumer-secret", default="test-consumer-secret")
    ap.add_argument("--token-value", default="test-token-value")
    ap.add_argument("--token-secret", default="test-token-secret")
    ap.add_argument("--no-auth", action="store_true", help="skip OAuth verification")
    ap.add_argument("--timestamp-skew", type=int, default=300)
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--log-file")
    return ap.parse_args(argv)


def main(argv=None):
    t0 = time.perf_counter()
    args = parse_args(argv)
    host, family = check_loopback(args.host)
    data_dir = os.path.abspath(args.data_dir or default_data_dir())
    catalog = Catalog(data_dir, args.seed, background=True)
    state = SimState(args, catalog)
    server = SimServer((host, args.port), Handler, state, args.quiet, args.log_file, family)
    port = server.server_address[1]
    if args.port_file:
        tmp = "%s.tmp.%d" % (args.port_file, os.getpid())
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    if not args.quiet:
        sys.stderr.write("bricklink_sim: listening on http://%s:%d%s (seed %d, data %s, %d parts, "
                         "started in %.0f ms)\n" % (host, port, API_BASE, args.seed, data_dir,
                                                   len(catalog.weights), (time.perf_counter() - t0) * 1000))
        sys.stderr.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.stopping = True
        server.server_close()
    return 0


def _sigterm(signum, frame):
    raise KeyboardInterrupt()


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGTERM, _sigterm)
    sys.exit(main())
