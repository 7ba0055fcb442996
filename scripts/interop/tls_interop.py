#!/usr/bin/env python3
"""https and wss check against a chatd serving TLS, with the PyPI `websockets` client.

    .build-interop/venv/bin/python scripts/interop/tls_interop.py --url https://localhost:8443 --ca ca.pem

What it does:
  1. Without trusting --ca, an https request is refused by certificate verification (the
     server's certificate is signed by the test's own CA, not a public one).
  2. Trusting --ca only: POST /v1/users twice, POST /v1/chatrooms over https.
  3. Clients A and B join the room over wss (the same CA), each sends two messages, and
     each must receive all four, once each, in one order for both.
Exit status 0 when every check passes, 1 with a message otherwise (or after --timeout s).
"""

import argparse
import asyncio
import json
import secrets
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request

try:
    import websockets
    from websockets.asyncio.client import connect
except ImportError as exc:  # pragma: no cover - environment problem, not a test failure
    sys.exit("tls_interop.py needs websockets (scripts/interop/requirements.txt): %s" % exc)


class Failure(Exception):
    pass


def http_json(base, method, path, context, body=None, token=None):
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(base + path, data=data, method=method)
    if token:
        request.add_header("Authorization", "Bearer " + token)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=5, context=context) as response:
            return json.loads(response.read().decode("utf-8") or "null")
    except urllib.error.HTTPError as e:
        raise Failure("%s %s -> HTTP %d: %s" % (method, path, e.code, e.read()[:300].decode("utf-8", "replace")))
    except (urllib.error.URLError, OSError) as e:
        raise Failure("%s %s%s failed: %s" % (method, base, path, e))


async def read_messages(ws, count, label):
    messages = []
    while len(messages) < count:
        try:
            raw = await ws.recv()
        except websockets.ConnectionClosed as e:
            raise Failure("%s: closed after %d of %d messages: %s" % (label, len(messages), count, e))
        messages.append(json.loads(raw))
    return messages


async def run(args):
    base = args.url.rstrip("/")
    if urllib.parse.urlsplit(base).scheme != "https":
        raise Failure("--url must be https://HOST:PORT (got %r)" % args.url)
    ws_base = "wss://" + urllib.parse.urlsplit(base).netloc

    untrusted = ssl.create_default_context()
    try:
        http_json(base, "GET", "/v1/chatrooms", untrusted)
        raise Failure("an https request that does not trust the test CA was answered")
    except Failure as e:
        if "CERTIFICATE_VERIFY_FAILED" not in str(e):
            raise
    print("without the CA: refused by certificate verification")

    trusted = ssl.create_default_context(cafile=args.ca)
    tag = secrets.token_hex(4)
    users = ["tlsA-" + tag, "tlsB-" + tag]
    # chatd's default (--auth token) answers each new user with a token: rooms are created with
    # it and each join carries its user's access_token. An open server (--auth none) gives none.
    tokens = {}
    for user in users:
        answer = http_json(base, "POST", "/v1/users", trusted, {"name": user})
        if isinstance(answer, dict) and isinstance(answer.get("token"), str):
            tokens[user] = answer["token"]
    room = http_json(base, "POST", "/v1/chatrooms", trusted, token=tokens.get(users[0]))["id"]
    print("over https: users %s, room %d" % (users, room))

    sockets = []
    for user in users:
        uri = "%s/v1/chatrooms/%d/join?user=%s" % (ws_base, room, urllib.parse.quote(user, safe=""))
        if user in tokens:
            uri += "&access_token=" + urllib.parse.quote(tokens[user], safe="")
        ws = await connect(uri, ssl=trusted, proxy=None, open_timeout=5, ping_interval=None)
        if ws.transport.get_extra_info("ssl_object") is None:
            raise Failure("%s: the WebSocket is not over TLS" % user)
        sockets.append(ws)
    print("over wss: both joined (%s)" % sockets[0].transport.get_extra_info("ssl_object").version())

    sent = {users[0]: ["hello from A", "A: ünïcödé 🚀"], users[1]: ["hello from B", "B: last"]}
    for index in range(2):
        for user, ws in zip(users, sockets):
            await ws.send(sent[user][index])
    received = [await read_messages(ws, 4, user) for user, ws in zip(users, sockets)]
    for ws in sockets:
        await ws.close()

    orders = [[(m["user"], m["message"]) for m in messages] for messages in received]
    if orders[0] != orders[1]:
        raise Failure("A and B saw different orders: %r / %r" % (orders[0], orders[1]))
    expected = sorted((user, text) for user in users for text in sent[user])
    if sorted(orders[0]) != expected:
        raise Failure("received %r, expected each of %r once" % (orders[0], expected))
    for user in users:
        mine = [text for (who, text) in orders[0] if who == user]
        if mine != sent[user]:
            raise Failure("%s's messages arrived as %r, sent %r" % (user, mine, sent[user]))
    print("both received all 4 messages in one order")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="https://HOST:PORT of chatd")
    parser.add_argument("--ca", required=True, help="PEM file of the CA that signed chatd's certificate")
    parser.add_argument("--timeout", type=float, default=20.0)
    args = parser.parse_args()
    try:
        asyncio.run(asyncio.wait_for(run(args), args.timeout))
    except Failure as e:
        print("FAIL: %s" % e)
        sys.exit(1)
    except asyncio.TimeoutError:
        print("FAIL: no result within %.0f s" % args.timeout)
        sys.exit(1)
    print("OK")


if __name__ == "__main__":
    main()
