#!/usr/bin/env python3
"""Writes a curl config (-K) that GETs one URL per item number read from
stdin, each with its own OAuth 1.0a Authorization header (fresh nonce,
current timestamp), signed ahead of time with the simulator's default test
credentials by test/simulator/bl_client.py.  The benchmark's fair baseline:
the same URLs, signed as the worker signs them, fetched by curl --parallel.

    signed_curl_cfg.py BASE_URL <item_numbers >curl.cfg
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "simulator"))
import bl_client  # noqa: E402


def main():
    base = sys.argv[1].rstrip("/")
    out = sys.stdout
    first = True
    for line in sys.stdin:
        item_no = line.rstrip("\n")
        if not item_no:
            continue
        url = "%s/items/part/%s" % (base, bl_client.encode_path_segment(item_no))
        header = bl_client.auth_header(bl_client.sign("GET", url))
        if not first:
            out.write("next\n")
        first = False
        out.write('url = "%s"\nheader = "Authorization: %s"\noutput = "/dev/null"\n'
                  'write-out = "%%{http_code}\\n"\n'
                  % (url, header.replace("\\", "\\\\").replace('"', '\\"')))


if __name__ == "__main__":
    main()
