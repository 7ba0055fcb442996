#!/usr/bin/env python3
"""permessage-deflate interop check against a running chatd, with the PyPI `websockets` client.

    python3 -m venv .build-autobahn/interop-venv
    .build-autobahn/interop-venv/bin/pip install -r scripts/interop/requirements.txt
    .build-autobahn/interop-venv/bin/python scripts/interop/deflate_interop.py --url http://127.0.0.1:8080

What it does, through the seed API (shared/DESIGN.md, "The seed API"):
  1. POST /v1/users {"name": ...} twice (two fresh names), POST /v1/chatrooms -> {"id": N},
     and checks that GET /v1/chatrooms lists N. When the server answers a token (chatd's
     default --auth token), rooms are created with it and each join carries its user's
     access_token.
  2. Client A joins GET /v1/chatrooms/N/join?user=A with websockets' default
     permessage-deflate offer; client B joins with compression=None.
  3. Asserts that A's handshake response negotiated permessage-deflate
     (Sec-WebSocket-Extensions, and the extension is active on the connection) and that B's
     did not (no Sec-WebSocket-Extensions at all).
  4. A and B each send several text messages (the client sends the message text as a text
     frame), among them a 2 KiB compressible one and non-ASCII text (accents, CJK, emoji),
     interleaved and without waiting for each other.
  5. Asserts that each client receives every message of both, as the seed's JSON
     {"chatroom": N, "user": ..., "message": ..., "timestamp": ..., ["seq": ...]}, each
     exactly once, with the right user and text, each sender's messages in the order sent,
     and both clients in the same order (and, where "seq" is present, increasing).
  6. When deflate was negotiated, also asserts that the server sent the long message to A
     as a compressed frame (RSV1 set); --allow-uncompressed relaxes this.

Exit status 0 when every check passes, 1 with a clear message otherwise (also when the
overall --timeout, default 20 s, runs out). --no-require-deflate turns the negotiation
check for A (and the compressed-frame check) into a warning, for servers that do not offer
permessage-deflate yet; everything else is still checked.
"""

import argparse
import asyncio
import json
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request

try:
    import websockets
    from websockets.asyncio.client import connect
except ImportError as exc:  # pragma: no cover - environment problem, not a test failure
    sys.exit("deflate_interop.py needs websockets >= 14 (pinned in scripts/interop/requirements.txt; "
             "Python >= 3.11): python3 -m venv .build-autobahn/interop-venv && "
             ".build-autobahn/interop-venv/bin/pip install -r scripts/interop/requirements.txt (%s)" % exc)


class Failure(Exception):
    pass


def http_json(base, method, path, body=None, timeout=5.0, token=None):
    data = None if body is None else json.dumps(body).encode("utf-8")
    req = urllib.request.Request(base + path, data=data, method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        raise Failure("%s %s -> HTTP %d: %s" % (method, path, e.code, e.read()[:300].decode("utf-8", "replace")))
    except (urllib.error.URLError, OSError) as e:
        raise Failure("%s %s%s failed: %s (is the server running?)" % (method, base, path, e))
    if not 200 <= status < 300:
        raise Failure("%s %s -> HTTP %d" % (method, path, status))
    try:
        return json.loads(raw.decode("utf-8")) if raw else None
    except ValueError:
        raise Failure("%s %s returned non-JSON: %r" % (method, path, raw[:200]))


class Client:
    """One joined WebSocket connection that records every message the server sends."""

    def __init__(self, label, user, token=None):
        self.label = label
        self.user = user
        self.token = token
        self.ws = None
        self.received = []           # decoded JSON objects, in arrival order
        self.compressed_frames = 0   # data frames that arrived with RSV1 (deflated)
        self.frames = 0
        self.compressed_texts = []   # texts of messages whose first frame was deflated
        self._reader = None
        self._pending_rsv1 = []

    async def join(self, ws_base, room, compression):
        uri = "%s/v1/chatrooms/%s/join?user=%s" % (ws_base, room, urllib.parse.quote(self.user, safe=""))
        if self.token:
            uri += "&access_token=" + urllib.parse.quote(self.token, safe="")
        try:
            self.ws = await connect(uri, compression=compression, proxy=None, open_timeout=5,
                                    ping_interval=None, max_size=2 ** 22)
        except websockets.InvalidStatus as e:
            body = e.response.body[:300].decode("utf-8", "replace") if e.response.body else ""
            raise Failure("%s: join %s refused with HTTP %d %s" % (self.label, uri, e.response.status_code, body))
        except (OSError, websockets.WebSocketException, asyncio.TimeoutError) as e:
            raise Failure("%s: join %s failed: %r" % (self.label, uri, e))
        # Count deflated frames: wrap the decode of each negotiated extension (RSV1 is still
        # set on the frame handed to permessage-deflate's decode).
        for ext in self.ws.protocol.extensions:
            original = ext.decode

            def decode(frame, *, max_size=None, _original=original):
                if frame.opcode.name in ("TEXT", "BINARY", "CONT"):
                    self.frames += 1
                    if frame.rsv1:
                        self.compressed_frames += 1
                    if frame.opcode.name in ("TEXT", "BINARY"):
                        self._pending_rsv1.append(frame.rsv1)
                return _original(frame, max_size=max_size)

            ext.decode = decode
        self._reader = asyncio.create_task(self._read())

    def extensions_header(self):
        return self.ws.response.headers.get("Sec-WebSocket-Extensions")

    def negotiated(self):
        return [ext.name for ext in self.ws.protocol.extensions]

    async def _read(self):
        try:
            async for raw in self.ws:
                rsv1 = self._pending_rsv1.pop(0) if self._pending_rsv1 else False
                if not isinstance(raw, str):
                    raise Failure("%s: got a binary frame (%d bytes); the seed sends text frames" % (self.label, len(raw)))
                try:
                    msg = json.loads(raw)
                except ValueError:
                    raise Failure("%s: got a text frame that is not JSON: %r" % (self.label, raw[:200]))
                self.received.append(msg)
                if rsv1 and isinstance(msg, dict):
                    self.compressed_texts.append(msg.get("message"))
        except websockets.ConnectionClosed:
            pass

    async def wait_for(self, count):
        while len(self.received) < count:
            if self._reader.done():
                self._reader.result()  # raises the reader's Failure, if any
                raise Failure("%s: the connection closed after %d of %d messages (close code %s, reason %r)" % (
                    self.label, len(self.received), count, self.ws.close_code, self.ws.close_reason))
            await asyncio.sleep(0.02)

    async def close(self):
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            try:
                await asyncio.wait_for(self._reader, 2)
            except Exception:
                pass


def check(cond, message, failures):
    if not cond:
        failures.append(message)


async def run(args):
    base = args.url.rstrip("/")
    parsed = urllib.parse.urlsplit(base)
    if parsed.scheme not in ("http", "https"):
        raise Failure("--url must be http://HOST:PORT (got %r)" % args.url)
    ws_base = ("wss" if parsed.scheme == "https" else "ws") + "://" + parsed.netloc + parsed.path
    failures, warnings = [], []

    tag = secrets.token_hex(4)
    user_a, user_b = "interopA-" + tag, "interopB-" + tag
    tokens = {}
    for user in (user_a, user_b):
        answer = http_json(base, "POST", "/v1/users", {"name": user})
        if isinstance(answer, dict) and isinstance(answer.get("token"), str):
            tokens[user] = answer["token"]
    created = http_json(base, "POST", "/v1/chatrooms", {"name": "deflate-interop-" + tag}, token=tokens.get(user_a))
    if not isinstance(created, dict) or not isinstance(created.get("id"), int):
        raise Failure("POST /v1/chatrooms returned %r, expected {\"id\": N}" % (created,))
    room = created["id"]
    listed = http_json(base, "GET", "/v1/chatrooms")
    ids = listed.get("ids") if isinstance(listed, dict) else listed
    check(isinstance(ids, list) and room in ids, "GET /v1/chatrooms (%r) does not list room %d" % (listed, room), failures)
    print("users %s, %s; room %d" % (user_a, user_b, room))

    a, b = Client("A (deflate)", user_a, tokens.get(user_a)), Client("B (no compression)", user_b, tokens.get(user_b))
    try:
        await a.join(ws_base, room, "deflate")
        await b.join(ws_base, room, None)
        print("A: Sec-WebSocket-Extensions: %s; active extensions %s" % (a.extensions_header(), a.negotiated()))
        print("B: Sec-WebSocket-Extensions: %s; active extensions %s" % (b.extensions_header(), b.negotiated()))

        a_deflate = "permessage-deflate" in (a.extensions_header() or "") and "permessage-deflate" in a.negotiated()
        if not a_deflate:
            msg = "A offered permessage-deflate but the server did not negotiate it (Sec-WebSocket-Extensions: %r)" % (a.extensions_header(),)
            (warnings if args.no_require_deflate else failures).append(msg)
        check(b.extensions_header() is None and not b.negotiated(),
              "B offered no extension but the response carries Sec-WebSocket-Extensions: %r" % (b.extensions_header(),), failures)

        long_text = ("All work and no play makes Jack a dull boy. " * 48)[:2048]
        sent = {
            user_a: ["hello from A", long_text, "Grüße, Jürgen! Ça va? 日本語のテキスト 🚀✨", "A: last, with \"quotes\" and \\ backslash"],
            user_b: ["hello from B", "B: ñandú, ¿qué tal? Привет, мир 👋", "B says: " + "na" * 700 + " batman", "B: last"],
        }

        async def send_all(client, texts):
            for text in texts:
                await client.ws.send(text)
                await asyncio.sleep(0.01)

        await asyncio.gather(send_all(a, sent[user_a]), send_all(b, sent[user_b]))
        total = sum(len(v) for v in sent.values())
        await asyncio.gather(a.wait_for(total), b.wait_for(total))
        await asyncio.sleep(0.3)  # anything extra (a duplicate) would show up now

        for client in (a, b):
            got = client.received
            check(len(got) == total, "%s: received %d messages, expected %d" % (client.label, len(got), total), failures)
            for i, msg in enumerate(got):
                if not isinstance(msg, dict):
                    failures.append("%s: message %d is not a JSON object: %r" % (client.label, i, msg))
                    continue
                check(msg.get("chatroom") == room, "%s: message %d has chatroom %r, expected %d" % (client.label, i, msg.get("chatroom"), room), failures)
                check(isinstance(msg.get("timestamp"), int), "%s: message %d has no integer timestamp: %r" % (client.label, i, msg), failures)
            for user, texts in sent.items():
                mine = [m.get("message") for m in got if isinstance(m, dict) and m.get("user") == user]
                if mine != texts:
                    failures.append("%s: messages from %s are %s, expected %s (in this order)" % (
                        client.label, user, summarize(mine), summarize(texts)))
            users = {m.get("user") for m in got if isinstance(m, dict)}
            check(users <= set(sent), "%s: messages from unexpected users %s" % (client.label, users - set(sent)), failures)
            seqs = [m.get("seq") for m in got if isinstance(m, dict) and "seq" in m]
            if seqs:
                check(seqs == sorted(seqs) and len(set(seqs)) == len(seqs), "%s: seq not strictly increasing: %s" % (client.label, seqs), failures)

        key = lambda m: (m.get("user"), m.get("message"), m.get("seq")) if isinstance(m, dict) else m
        check([key(m) for m in a.received] == [key(m) for m in b.received],
              "A and B received the messages in different orders:\n  A: %s\n  B: %s" % (
                  [summarize_one(m) for m in a.received], [summarize_one(m) for m in b.received]), failures)

        for client in (a, b):
            if client.negotiated():
                print("%s: %d data frames from the server, %d of them compressed" % (
                    client.label, client.frames, client.compressed_frames))
        check(b.compressed_frames == 0, "B negotiated no compression but got %d frames with RSV1 set" % b.compressed_frames, failures)
        if a_deflate and long_text not in a.compressed_texts:
            msg = "the server sent the 2 KiB compressible message to A uncompressed (no RSV1) although deflate was negotiated"
            (warnings if args.allow_uncompressed else failures).append(msg)
    finally:
        await asyncio.gather(a.close(), b.close(), return_exceptions=True)

    print("A and B each received %d and %d messages (%d sent)" % (len(a.received), len(b.received), total))
    for w in warnings:
        print("WARNING: " + w)
    if failures:
        raise Failure("\n  ".join(["%d check(s) failed:" % len(failures)] + failures))


def summarize_one(m):
    if not isinstance(m, dict):
        return repr(m)
    text = m.get("message") or ""
    return "%s:%s%s" % (m.get("user"), text[:24], "…(%d chars)" % len(text) if len(text) > 24 else "")


def summarize(texts):
    return [t if t is None or len(t) <= 40 else t[:40] + "…(%d chars)" % len(t) for t in texts]


def main():
    parser = argparse.ArgumentParser(description="permessage-deflate interop check for chatd using the websockets client")
    parser.add_argument("--url", required=True, help="the server's HTTP base URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--timeout", type=float, default=20.0, help="overall timeout in seconds (default 20)")
    parser.add_argument("--no-require-deflate", action="store_true",
                        help="only warn when A's permessage-deflate offer is declined (servers without deflate)")
    parser.add_argument("--allow-uncompressed", action="store_true",
                        help="only warn when the server sends the long message to A without compressing it")
    args = parser.parse_args()
    print("websockets %s against %s" % (websockets.__version__, args.url))
    try:
        asyncio.run(asyncio.wait_for(run(args), args.timeout))
    except asyncio.TimeoutError:
        print("FAIL: the check did not finish within %.0f s (--timeout)" % args.timeout, file=sys.stderr)
        return 1
    except Failure as e:
        print("FAIL: %s" % e, file=sys.stderr)
        return 1
    print("PASS: deflate interop (websockets %s)" % websockets.__version__)
    return 0


if __name__ == "__main__":
    sys.exit(main())
