#!/usr/bin/env python3
"""Markdown tables from the JSON files of scripts/bench/run-all.sh: python3 summarize.py OUTDIR"""
import json
import pathlib
import sys


def fanout_row(name, r):
    lat = r["latency_ms"]
    server = r.get("server") or {}
    return (f"| {name} | {r['rate']:.0f} | {r['deliveries']:,} | {r['deliveries_per_second']:,.0f} | {r['lost']} | {r['out_of_order']} "
            f"| {lat['p50']:.1f} / {lat['p99']:.1f} / {lat['p99.9']:.1f} / {lat['max']:.1f} "
            f"| {server.get('cpu_seconds_per_million_deliveries', 0):.2f} | {server.get('cores_busy', 0):.2f} "
            f"| {r['client']['cpu_seconds'] * 1e6 / max(r['deliveries'], 1):.2f} | {r['client']['cores_busy']:.2f} |")


def main():
    out = pathlib.Path(sys.argv[1])
    runs = {p.stem: json.loads(p.read_text()) for p in sorted(out.glob("*.json")) if p.stat().st_size > 0}
    print("| run | rate | deliveries | delivered/s | lost | out of order | latency ms p50 / p99 / p99.9 / max "
          "| server CPU s per 1M deliveries | server cores | chat-bench CPU us per delivery | chat-bench cores |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |")
    for name, r in runs.items():
        if r.get("scenario") in ("fanout", "cross-server"):
            print(fanout_row(name, r))
        elif r.get("scenario") == "deflate":
            print(fanout_row(name + " (plain)", r["plain"]))
            print(fanout_row(name + " (deflate)", r["deflate"]) + f" ratio {r['server_cpu_ratio']:.2f}x, compressed {r['deflate']['compressed_frames']:,}")
    print()
    for name, r in runs.items():
        if r.get("scenario") == "connections":
            s = r.get("server") or {}
            print(f"- {name}: {r['opened']:,} of {r['connections']:,} open in {r['seconds_to_open']:.2f} s, errors {r['errors']}; "
                  f"server RSS {s.get('rss_bytes_before', 0) / 2**20:.1f} -> {s.get('rss_bytes_after', 0) / 2**20:.1f} MiB = "
                  f"{s.get('bytes_per_connection', 0) / 1024:.2f} KiB per connection; chat-bench {r['client']['bytes_per_connection'] / 1024:.2f} KiB")
        if r.get("scenario") == "join-storm":
            j = r["join_ms"]
            print(f"- {name}: {r['histories_complete']} of {r['clients']} complete, errors {r['errors']}; join ms p50 {j['p50']:.0f} "
                  f"p99 {j['p99']:.0f} max {j['max']:.0f}; server CPU {r.get('server_cpu_seconds', 0):.2f} s")


main()
