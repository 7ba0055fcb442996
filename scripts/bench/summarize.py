#!/usr/bin/env python3
"""The tables of docs/performance.md from the JSON files of scripts/bench/run-all.sh:

    python3 scripts/bench/summarize.py OUTDIR
"""
import json
import pathlib
import re
import sys


def us(seconds_per_million):
    return f"{seconds_per_million:.2f} us"


def label(name):
    backend, _, rest = name.partition("-")
    rest = re.sub(r"^(fanout|join-storm|cross-server)-?", "", rest)
    rest = {"": "1", "aligned": "aligned publishers", "window0-1": "`--flush-window-ms 0`", "window0-2": "`--flush-window-ms 0`"}.get(rest, rest)
    rest = re.sub(r"^rate(\d+)$", r"rate sweep", rest)
    return ("embedded" if backend == "embedded" else "Redis"), rest


def fanout_rows(runs):
    print("| backends | run | msg/s | delivered/s | lost | out of order | latency ms p50 / p99 / p99.9 / max "
          "| chatd CPU per delivery | chatd cores | chat-bench CPU per delivery | chat-bench cores |")
    print("| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |")
    for name, r in runs:
        backend, run = label(name)
        lat, server, client = r["latency_ms"], r.get("server") or {}, r["client"]
        print(f"| {backend} | {run} | {r['rate']:.0f} | {r['deliveries_per_second']:,.0f} | {r['lost']} | {r['out_of_order']} "
              f"| {lat['p50']:.1f} / {lat['p99']:.1f} / {lat['p99.9']:.1f} / {lat['max']:.1f} "
              f"| {us(server.get('cpu_seconds_per_million_deliveries', 0))} | {server.get('cores_busy', 0):.2f} "
              f"| {client['cpu_seconds'] * 1e6 / max(r['deliveries'], 1):.2f} us | {client['cores_busy']:.2f} |")


def main():
    out = pathlib.Path(sys.argv[1])
    runs = {p.stem: json.loads(p.read_text()) for p in sorted(out.glob("*.json")) if p.stat().st_size > 0}
    order = lambda n: (n.split("-")[0] != "embedded", n)

    print("## fanout\n")
    fanout_rows([(n, runs[n]) for n in sorted(runs, key=order) if runs[n].get("scenario") == "fanout"])

    print("\n## connections\n")
    print("| backends | opened | errors | time to open all | chatd RSS before → after | per connection | chat-bench per connection |")
    print("| --- | ---: | ---: | ---: | --- | ---: | ---: |")
    for n in sorted(runs, key=order):
        r = runs[n]
        if r.get("scenario") == "connections":
            s = r.get("server") or {}
            print(f"| {label(n)[0]} | {r['opened']:,} | {r['errors']} | {r['seconds_to_open']:.2f} s "
                  f"| {s.get('rss_bytes_before', 0) / 2**20:.1f} → {s.get('rss_bytes_after', 0) / 2**20:.1f} MiB "
                  f"| {s.get('bytes_per_connection', 0) / 1024:.2f} KiB | {r['client']['bytes_per_connection'] / 1024:.2f} KiB |")

    print("\n## join-storm\n")
    print("| backends | run | complete | errors | join ms p50 / p99 / max | chatd CPU for the storm |")
    print("| --- | --- | ---: | ---: | --- | ---: |")
    for n in sorted(runs, key=order):
        r = runs[n]
        if r.get("scenario") == "join-storm":
            j = r["join_ms"]
            print(f"| {label(n)[0]} | {label(n)[1]} | {r['histories_complete']:,} | {r['errors']} "
                  f"| {j['p50']:.0f} / {j['p99']:.0f} / {j['max']:.0f} | {r.get('server_cpu_seconds', 0):.2f} s |")

    print("\n## deflate\n")
    print("| backends | half | delivered/s | lost | out of order | latency ms p50 / p99 / max | chatd CPU per delivery | chat-bench cores |")
    print("| --- | --- | ---: | ---: | ---: | --- | ---: | ---: |")
    for n in sorted(runs, key=order):
        r = runs[n]
        if r.get("scenario") == "deflate":
            for half, title in (("plain", "plain"), ("deflate", "deflate offered")):
                h = r[half]
                lat = h["latency_ms"]
                print(f"| {label(n)[0]} | {title} | {h['deliveries_per_second']:,.0f} | {h['lost']} | {h['out_of_order']} "
                      f"| {lat['p50']:.1f} / {lat['p99']:.1f} / {lat['max']:.1f} "
                      f"| {us(h['server']['cpu_seconds_per_million_deliveries'])} | {h['client']['cores_busy']:.2f} |")
            print(f"\n{label(n)[0]}: server_cpu_ratio {r['server_cpu_ratio']:.2f}, compressed {r['deflate']['compressed_frames']:,} of {r['deflate']['deliveries']:,}\n")

    print("\n## cross-server\n")
    print("| run | delivered/s | lost | out of order | latency ms p50 / p99 / p99.9 / max | chatd CPU per delivery (both) | chatd cores (both) | chat-bench cores |")
    print("| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |")
    for n in sorted(runs, key=order):
        r = runs[n]
        if r.get("scenario") == "cross-server":
            lat, s = r["latency_ms"], r["server"]
            print(f"| {n.rsplit('-', 1)[-1]} | {r['deliveries_per_second']:,.0f} | {r['lost']} | {r['out_of_order']} "
                  f"| {lat['p50']:.1f} / {lat['p99']:.1f} / {lat['p99.9']:.1f} / {lat['max']:.1f} "
                  f"| {us(s['cpu_seconds_per_million_deliveries'])} | {s['cores_busy']:.2f} | {r['client']['cores_busy']:.2f} |")


main()
