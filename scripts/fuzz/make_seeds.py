#!/usr/bin/env python3
"""Writes the fuzzers' seed corpus, fuzz/corpus/<target>/, small inputs that each reach one
feature of the parser. Run it again after changing a harness's input layout, and commit the
result (scripts/fuzz.sh never writes there)."""
import os
import struct
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fuzz", "corpus")
MASK = b"\x37\xfa\x21\x3d"


def frame(opcode, payload, fin=True, rsv1=False, masked=True):
    """A client frame as it arrives on the wire (RFC 6455 §5.2)."""
    first = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    length = len(payload)
    mask_bit = 0x80 if masked else 0
    if length < 126:
        header = bytes([first, mask_bit | length])
    elif length < 65536:
        header = bytes([first, mask_bit | 126]) + struct.pack(">H", length)
    else:
        header = bytes([first, mask_bit | 127]) + struct.pack(">Q", length)
    if not masked:
        return header + payload
    return header + MASK + bytes(b ^ MASK[i % 4] for i, b in enumerate(payload))


def deflated(*messages, wbits=15):
    """permessage-deflate payloads: one compressor, as a client keeping its context."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -wbits)
    out = []
    for message in messages:
        data = compressor.compress(message) + compressor.flush(zlib.Z_SYNC_FLUSH)
        assert data.endswith(b"\x00\x00\xff\xff")
        out.append(data[:-4])
    return out


TEXT, BINARY, CLOSE, PING, PONG, CONT = 1, 2, 8, 9, 10, 0
close = lambda code, reason=b"": frame(CLOSE, struct.pack(">H", code) + reason)


def frames_seeds():
    # Byte 0: deflate mode (0 none, 1 shared inflater, 2|bits<<2 own inflater of window 8+bits),
    # 0x20 a tight rate limit; byte 1: read size (0: everything in one read).
    no_context = deflated(b"compress me, please. " * 4)[0]
    kept = deflated(b"first message, first message", b"first message again, with context")
    bomb = deflated(b"z" * 100_000)[0]
    return {
        "text": b"\x00\x00" + frame(TEXT, b"hello"),
        "text-fragmented-small-reads": b"\x00\x03" + frame(TEXT, "wö".encode(), fin=False) + frame(CONT, b"rld"),
        "binary-16bit-length": b"\x00\x00" + frame(BINARY, bytes(range(200))),
        "ping-pong-close": b"\x00\x00" + frame(PING, b"beat") + frame(PONG, b"") + close(1000, b"bye"),
        "close-bad-code": b"\x00\x00" + close(1005),
        "close-then-text": b"\x00\x00" + close(1000) + frame(TEXT, b"late"),
        "ping-inside-fragments": b"\x00\x05" + frame(TEXT, b"a", fin=False) + frame(PING, b"") + frame(CONT, b"b"),
        "invalid-utf8-fragment": b"\x00\x00" + frame(TEXT, b"\xc3", fin=False) + frame(CONT, b"\x28"),
        "unmasked": b"\x00\x00" + frame(TEXT, b"hi", masked=False),
        "too-large-frame": b"\x00\x00" + frame(BINARY, b"x" * 600),
        "rate-limited": b"\x20\x00" + b"".join(frame(TEXT, b"spam %d" % i) for i in range(6)),
        "deflate-shared": b"\x01\x00" + frame(TEXT, no_context, rsv1=True),
        "deflate-fragmented": b"\x01\x07" + frame(TEXT, no_context[:5], fin=False, rsv1=True) + frame(CONT, no_context[5:]),
        "deflate-context-kept": bytes([2 | (7 << 2), 0]) + b"".join(frame(TEXT, m, rsv1=True) for m in kept),
        "deflate-window-9": bytes([2 | (1 << 2), 0]) + frame(BINARY, deflated(b"abcabcabc" * 20, wbits=9)[0], rsv1=True),
        "deflate-bomb": b"\x01\x00" + frame(TEXT, bomb, rsv1=True),
        "deflate-corrupt": b"\x01\x00" + frame(TEXT, b"\xff\xff\xff\x00", rsv1=True),
        "deflate-final-block": b"\x01\x00" + frame(TEXT, zlib.compress(b"ends its stream", 6)[2:-4] + b"tail", rsv1=True),
    }


OFFERS = {
    "chrome": "permessage-deflate; client_max_window_bits",
    "firefox": "permessage-deflate",
    "safari-old": "x-webkit-deflate-frame",
    "python-websockets": "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12",
    "autobahn": "permessage-deflate; client_no_context_takeover; client_max_window_bits, permessage-deflate",
    "quoted": 'permessage-deflate; server_max_window_bits="10"; client_max_window_bits="9"',
    "two-headers": "x-foo; a=1\npermessage-deflate; server_no_context_takeover; server_max_window_bits=8",
    "declined-then-accepted": "permessage-deflate; server_max_window_bits=16, permessage-deflate; unknown, permessage-deflate",
    "escaped-quote": 'permessage-deflate; x="a\\"b", permessage-deflate',
    # Regressions: inputs that once broke a check (docs/security.md, "Fuzzing").
    "regression-signed-window-bits": "permessage-deflate; server_max_window_bits=+9",
}

JOINS = {
    "plain": "/v1/chatrooms/1/join?user=John",
    "encoded-space": "/v1/chatrooms/42/join?user=Ann%20Lee",
    "utf8": "/v1/chatrooms/7/join?user=Zo%C3%AB%20Li&x=1",
    "plus": "/v1/chatrooms/7/join?user=C++",
    "no-query": "/v1/chatrooms/7/join",
    "repeated": "/v1/chatrooms/7/join?user=a&user=b",
    "regression-leading-zeros": "/v1/chatrooms/007/join?user=a",
    "token": "/v1/chatrooms/3/join?access_token=abc123&user=ann",
    "bidi": "user=%E2%80%AEevil",
    "bad-escape": "user=%zz%C3",
    "emoji": "user=%F0%9F%98%80%20party",
    "not-a-join": "/v1/chatrooms/7/users",
}

BODIES = {
    "name": '{"name": "John"}',
    "utf8": '{"name":"Zo\u00eb Li"}',
    "escaped": '{"name": "\\u202eevil \\"quoted\\""}',
    "password": '{"name": "ann", "password": "correct horse battery staple"}',
    "wrong-type": '{"name": 5}',
    "array": '[{"name": "John"}]',
    "nested": '{"name": {"first": ["a", [1, 2.5e3, null, true]]}}',
    "too-long": '{"name": "' + "x" * 40 + '"}',
    "control": '{"name": "a\\u0007b"}',
}

# Redis payloads: the fixed layout, escapes and UTF-8 in both strings, text shaped like the
# tail, the format before epochs, a truncated one and another publisher's field order.
PAYLOADS = {
    "plain": '{"chatroom":7,"user":"Ann","message":"hi","timestamp":1700000000000,"seq":12,"epoch":"k3m9q2xa"}',
    "escapes": '{"chatroom":1,"user":"Zo\\u00eb \\u674e","message":"a \\"quoted\\" \\\\ line\\nnext \\ud83d\\ude00","timestamp":-5,"seq":1,"epoch":"a"}',
    "utf8": '{"chatroom":3,"user":"\u00e9","message":"\U0001F600 ,\\"epoch\\":\\"x\\"}","timestamp":0,"seq":999999999999999999,"epoch":"zzzzzzzz"}',
    "pre-epoch": '{"chatroom":7,"user":"Ann","message":"hi","timestamp":1700000000000,"seq":12}',
    "truncated": '{"chatroom":7,"user":"Ann","message":"hi","timestamp":1700000000000,"seq":12,"epoch":"k3',
    # Once broke a check: a timestamp with a leading zero was framed for clients, not JSON.
    "regression-leading-zero": '{"chatroom":7,"user":"Ann","message":"hi","timestamp":0850000000000,"seq":12,"epoch":"k3m9q2xa"}',
    "reordered": '{"user":"Ann","chatroom":7,"message":"hi","timestamp":1700000000000,"seq":12,"epoch":"k3m9q2xa"}',
}


def write(target, seeds):
    folder = os.path.join(ROOT, target)
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        os.remove(os.path.join(folder, name))
    for name, data in seeds.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)


write("FuzzInboundFrames", frames_seeds())
write("FuzzDeflateOffer", OFFERS)
write("FuzzJoinRequest", JOINS)
write("FuzzJSONBodies", BODIES)
write("FuzzRedisPayload", PAYLOADS)
