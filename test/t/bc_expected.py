#!/usr/bin/env python3
"""Expected brickcat rows for TAP tests, computed from what the BrickLink
simulator serves (fetched with the simulator's own signed client, which is
independent of brickcat's signer) and the mapping rules of the worker issue:
entities decoded, tags stripped from descriptions, whitespace trimmed,
"//" URLs made https:, zero or missing weights and dimensions NULL.

usage: bc_expected.py BASE_URL ITEM_NO...   (prints one JSON object)
"""
import html
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "simulator"))
import bl_client  # noqa: E402

BLOCK_TAG = re.compile(r"<\s*(br\s*/?|p|/p|div|/div|li|tr)\s*>", re.I)
ANY_TAG = re.compile(r"<[A-Za-z/!?][^<>]*>")
WS = re.compile(r"[ \t\r\n\f\v]+")


def text(s, strip_tags=False):
    if s is None:
        return None
    if strip_tags:
        s = BLOCK_TAG.sub("\n", s)
        s = ANY_TAG.sub("", s)
    s = html.unescape(s)
    s = WS.sub(lambda m: "\n" if "\n" in m.group(0) else " ", s).strip()
    return s or None


def dec(s):
    if s is None or s == "":
        return None
    return None if float(s) == 0 else s


def url(s):
    if not s:
        return None
    return "https:" + s if s.startswith("//") else s


def main():
    base, nos = sys.argv[1], sys.argv[2:]
    c = bl_client.Client(base)
    items, colors, prices = [], [], []
    flags = {"entities": 0, "missing_optional": 0, "no_sales": 0, "string_quantities": 0}
    for no in nos:
        p = "/items/part/" + bl_client.pct(no)
        raw = c.request(p)[2]
        d = json.loads(raw)["data"]
        if "&#" in d.get("name", "") or "&amp;" in d.get("name", ""):
            flags["entities"] += 1
        if any(k not in d for k in ("alternate_no", "description", "dim_x", "year_released",
                                     "language_code")):
            flags["missing_optional"] += 1
        items.append({
            "item_no": no, "name": text(d.get("name")),
            "category_id": d.get("category_id") or None,
            "alternate_no": d.get("alternate_no") or None,
            "image_url": url(d.get("image_url")), "thumbnail_url": url(d.get("thumbnail_url")),
            "weight": dec(d.get("weight")), "dim_x": dec(d.get("dim_x")),
            "dim_y": dec(d.get("dim_y")), "dim_z": dec(d.get("dim_z")),
            "year_released": d.get("year_released") or None,
            "is_obsolete": bool(d.get("is_obsolete", False)),
            "description": text(d.get("description"), strip_tags=True),
            "language_code": d.get("language_code") or None,
        })
        kc = json.loads(c.request(p + "/colors")[2])["data"]
        for k in kc:
            if isinstance(k["quantity"], str):
                flags["string_quantities"] += 1
            colors.append({"item_no": no, "color_id": int(k["color_id"]),
                           "quantity": int(k["quantity"])})
        pg = json.loads(c.request(p + "/price?guide_type=sold&new_or_used=N&color_id=0"
                                  "&currency_code=USD")[2])["data"]
        if pg["unit_quantity"] == 0:
            flags["no_sales"] += 1
        prices.append({"item_no": no, "min_price": pg["min_price"], "max_price": pg["max_price"],
                       "avg_price": pg["avg_price"], "qty_avg_price": pg["qty_avg_price"],
                       "unit_quantity": pg["unit_quantity"],
                       "total_quantity": pg["total_quantity"]})
    c.close()
    print(json.dumps({"items": items, "colors": colors, "prices": prices, "flags": flags},
                     ensure_ascii=False))


if __name__ == "__main__":
    main()
