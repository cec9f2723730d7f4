#!/usr/bin/env python3
"""Writes the seeds of fuzz/corpus/fuzz_http/: raw bytes one client sends on one connection
(fuzz/fuzz_http.cc) — well framed requests, pipelines, bodies by length and chunked, HEAD,
Expect: 100-continue, the limits, and the framing RFC 9112 forbids (whitespace before a
colon, obs-fold, bare LF, HTTP/0.9 and HTTP/2.0 request lines, two Authorization fields).
Deterministic; rerun after changing it."""
import pathlib

OUT = pathlib.Path(__file__).resolve().parent / "corpus" / "fuzz_http"

GET = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
SEEDS = {
    "get": GET,
    "get-close": b"GET /ab HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "http10": b"GET /a HTTP/1.0\r\n\r\n",
    "http10-keep-alive": b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" + GET,
    "pipeline": GET + b"POST /ab HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc" + GET,
    "leading-empty-lines": b"\r\n\r\n" + GET,
    "chunked": b"POST /ab HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"
               b"10;ext=1\r\n0123456789abcdef\r\n0\r\nTrailer: t\r\n\r\n" + GET,
    "head-then-get": b"HEAD /a HTTP/1.1\r\nHost: x\r\n\r\nHEAD /ab HTTP/1.1\r\n\r\n" + GET,
    "expect-continue": b"POST /a HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi",
    "authorization": b"GET /a HTTP/1.1\r\nAuthorization: APIKey kpd_x_y\r\n\r\n",
    "query": b"GET /a/b?c=d&e=%20f HTTP/1.1\r\n\r\n",
    "long-target": b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n",
    "big-body": b"POST /a HTTP/1.1\r\nContent-Length: 70000\r\n\r\n" + b"x" * 100,
    "big-chunked": b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10001\r\n" + b"x" * 65537 + b"\r\n0\r\n\r\n",
    "many-fields": b"GET /a HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(120)) + b"\r\n",
    "space-before-colon": b"GET /a HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
    "tab-before-colon": b"GET /a HTTP/1.1\r\nHost\t: x\r\n\r\n",
    "obs-fold": b"GET /a HTTP/1.1\r\nAuthorization: APIKey\r\n kpd_x_y\r\n\r\n",
    "bare-lf": b"GET /a HTTP/1.1\nHost: x\n\n",
    "bare-cr": b"GET /a HTTP/1.1\rHost: x\r\n\r\n",
    "http09": b"GET /a\r\n\r\n",
    "http2": b"GET /a HTTP/2.0\r\n\r\n",
    "h2-preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "two-authorizations": b"GET /a HTTP/1.1\r\nAuthorization: a\r\nAuthorization: b\r\n\r\n",
    "two-content-lengths": b"POST /a HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    "cl-and-te": b"POST /a HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "pipeline-then-bad": GET + b"GET /a HTTP/1.1\r\nX : y\r\n\r\n" + GET,
    "incomplete-body": b"POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc",
    "tls-hello": b"\x16\x03\x01\x00\x05hello",
}

OUT.mkdir(parents=True, exist_ok=True)
for old in OUT.iterdir():
    old.unlink()
for name, data in SEEDS.items():
    (OUT / name).write_bytes(data)
print(f"{len(SEEDS)} seeds in corpus/fuzz_http")
