#!/usr/bin/env python3
"""Gives a fresh chatd what schemathesis cannot make by itself (scripts/openapi/check.sh).

    seed.py BASE_URL [--password PASSWORD]

Creates the user `schemathesis` (with the password, under `--auth token`), rooms 1 and 2, and
posts a few messages to room 1 over the WebSocket join, so that the rooms, users and search
results of scripts/openapi/schemathesis.toml exist and the searches answer real messages.
Prints the user's token (empty without one). Exits non-zero with a message on any failure.
"""

import asyncio
import json
import sys
import urllib.request

import websockets

MESSAGES = ["hello schemathesis", "hello again", "a message with \"quotes\" and ünïcödé"]


def post(base, path, body=None, token=None):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(urllib.request.Request(base + path, data=data, headers=headers, method="POST"), timeout=10) as answer:
        return json.load(answer)


async def post_messages(base, token):
    query = f"access_token={token}" if token else "user=schemathesis"
    async with websockets.connect(base.replace("http", "ws", 1) + f"/v1/chatrooms/1/join?{query}") as socket:
        for text in MESSAGES:
            await socket.send(text)
        received = 0
        while received < len(MESSAGES):  # every message is broadcast back to its sender too
            if json.loads(await asyncio.wait_for(socket.recv(), 10)).get("user") == "schemathesis":
                received += 1


def main():
    base = sys.argv[1].rstrip("/")
    password = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--password" else None
    user = {"name": "schemathesis"} | ({"password": password} if password else {})
    token = post(base, "/v1/users", user).get("token")
    for expected in (1, 2):
        room = post(base, "/v1/chatrooms", token=token)["id"]
        if room != expected:
            sys.exit(f"seed.py: expected room {expected}, got {room}")
    asyncio.run(post_messages(base, token))
    print(token or "")


if __name__ == "__main__":
    main()
