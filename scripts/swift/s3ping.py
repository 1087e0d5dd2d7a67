#!/usr/bin/env python3
"""One SigV4-signed S3 ListBuckets request; exit 0 only on HTTP 200.

Usage: s3ping.py <endpoint> <access-key> <secret-key> <region>

server.sh polls with it so that `start` returns only once the S3 layer really answers (the
proxy's port being open is not enough: auth and the account must work too). Python's standard
library only, because python3 is already there wherever Swift is.
"""
import datetime
import hashlib
import hmac
import sys
import urllib.error
import urllib.parse
import urllib.request


def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signed_headers(endpoint, access, secret, region):
    host = urllib.parse.urlsplit(endpoint).netloc
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = now.strftime("%Y%m%d")
    payload = hashlib.sha256(b"").hexdigest()
    canonical = "\n".join([
        "GET", "/", "",
        f"host:{host}", f"x-amz-content-sha256:{payload}", f"x-amz-date:{amz_date}", "",
        "host;x-amz-content-sha256;x-amz-date", payload,
    ])
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(("AWS4" + secret).encode(), day)
    for part in (region, "s3", "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return {
        "x-amz-date": amz_date,
        "x-amz-content-sha256": payload,
        "Authorization": f"AWS4-HMAC-SHA256 Credential={access}/{scope}, "
        f"SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={signature}",
    }


def main():
    endpoint, access, secret, region = sys.argv[1:5]
    req = urllib.request.Request(endpoint + "/", headers=signed_headers(endpoint, access, secret, region))
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            resp.read()
            return 0 if resp.status == 200 else 1
    except urllib.error.HTTPError as err:
        print(f"HTTP {err.code}: {err.read()[:300]!r}", file=sys.stderr)
    except OSError as err:
        print(f"{type(err).__name__}: {err}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
