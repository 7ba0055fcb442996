#!/usr/bin/env python3
"""Reference WebSocket echo server for calibrating the Autobahn harness.

An independent, conforming implementation (the PyPI `websockets` package,
pinned in scripts/autobahn/requirements-py3.txt) that echoes every text and
binary message back unchanged and accepts any permessage-deflate offer
(RFC 7692), so `scripts/autobahn/run.sh` can be checked end to end without
our server: what this server scores is what a conforming echo endpoint scores
under autobahntestsuite 0.8.2.

    .build-autobahn/py3venv/bin/python scripts/autobahn/reference_echo.py --port 9001
    scripts/autobahn/run.sh ws://127.0.0.1:9001/ .build-autobahn/reports/reference

Loopback only. It runs until killed (SIGTERM/SIGINT) or until --max-seconds.
"""

import argparse
import asyncio
import os
import signal
import sys

# websockets (>= 14) fails a fragmented message of more than 4096 frames with 1009 "too many
# fragments" (a DoS guard read from this variable at import time). Autobahn 9.3.1-9.3.3 and
# 9.4.1-9.4.3 send 4 MiB in 64 B to 1 KiB fragments (up to 65536 frames): lift the guard,
# as max_size=None lifts the size limit, so the reference measures the protocol only.
os.environ.setdefault("WEBSOCKETS_MAX_FRAGMENTS", str(1 << 20))

import websockets  # noqa: E402
from websockets.asyncio.server import serve  # noqa: E402
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory  # noqa: E402


async def echo(ws):
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass


async def main(args):
    if args.no_compression:
        extensions = None
        compression = None
    else:
        # No required parameters: accept every offer the client makes (13.* offers
        # several window sizes and no_context_takeover variants).
        extensions = [ServerPerMessageDeflateFactory()]
        compression = None  # the explicit factory above is the only extension
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with serve(
        echo,
        args.host,
        args.port,
        compression=compression,
        extensions=extensions,
        max_size=None,          # 9.* sends messages up to 16 MiB
        max_queue=None,
        ping_interval=None,     # no unsolicited pings while the fuzzer runs
        close_timeout=5,
    ) as server:
        port = server.sockets[0].getsockname()[1]
        print("reference echo (websockets %s) on ws://%s:%d/ compression=%s max_fragments=%s"
              % (websockets.__version__, args.host, port,
                 "off" if args.no_compression else "permessage-deflate",
                 os.environ["WEBSOCKETS_MAX_FRAGMENTS"]), flush=True)
        if args.max_seconds:
            await asyncio.wait([stop], timeout=args.max_seconds)
        else:
            await stop


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9001)
    parser.add_argument("--no-compression", action="store_true",
                        help="do not negotiate permessage-deflate (13.* then UNIMPLEMENTED)")
    parser.add_argument("--max-seconds", type=float, default=0,
                        help="exit by itself after this many seconds (0: run until killed)")
    sys.exit(asyncio.run(main(parser.parse_args())))
