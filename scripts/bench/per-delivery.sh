#!/usr/bin/env bash
# Load-independent cost per delivery of one server under ../shared/bench/wsload.mjs
# (1 room x MEMBERS members, 10 publishers, RATE messages/s), for issue 15's profile
# (docs/performance.md, "Profile next to nginx+nchan"). The machine it was written on has no
# hardware counters (a KVM guest: `perf stat -e instructions` is <not supported>; user-space
# instructions are counted in process instead, with valgrind on fanout-cost), so:
#   counts    system calls, context switches, wake-ups issued and packets sent per delivery
#             (perf's tracepoints on the server process, 5 s in the middle of the run);
#   record    a `perf record -g` (cpu-clock) of the same window, for sample proportions.
# Usage, from the project root, as root:
#   bash scripts/bench/per-delivery.sh MODE SERVER RATE [CHATD_BINARY] [CHATD FLAGS...]
#   SERVER: chatd-embedded | chatd-redis | nchan   (chatd-redis needs REDIS_URL)
# Env: MEMBERS [1000], WINDOW [5], OUT [/tmp/per-delivery] (perf data).
# Deliveries in the window: chatd's own count (chatd_deliveries_total on its admin listener:
# members and publishers), for nchan RATE x MEMBERS x WINDOW. wsload's line (loss, order, p99)
# is printed so that a run the server or the client could not keep up with is seen: such a run
# batches more per write than a quiet one and its figures are not comparable.
set -u
HERE=$(cd "$(dirname "$0")" && pwd); BENCH=$(cd "$HERE/../../../shared/bench" && pwd)
MODE=${1:?mode}; SERVER=${2:?server}; RATE=${3:?rate}; CHATD=${4:-.build/release/chatd}; shift $(( $# >= 4 ? 4 : $# ))
MEMBERS=${MEMBERS:-1000}; WINDOW=${WINDOW:-5}; OUT=${OUT:-/tmp/per-delivery}; mkdir -p "$OUT"
export NODE_PATH=/usr/share/nodejs; ulimit -n 20000 2>/dev/null
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'; }
LOG=${KEEP_LOG:-$(mktemp -d)}; SPID=""; NG=""
trap '[ -n "$SPID" ] && kill $SPID 2>/dev/null; [ -n "$NG" ] && kill $NG 2>/dev/null; true' EXIT
PORT=$(free_port); APORT=$(free_port); SCEN=fanout
case $SERVER in
  chatd-embedded|chatd-redis)
    R=(); [ $SERVER = chatd-redis ] && R=(--redis "${REDIS_URL:?REDIS_URL for chatd-redis}")
    "$(realpath "$CHATD")" --host 127.0.0.1 --port $PORT --log-level warning --auth none --admin-port $APORT \
      --max-connections-per-address 1000000 --connection-rate 1000000 "${R[@]}" "$@" >$LOG/server.log 2>&1 & SPID=$!
    for _ in $(seq 1 600); do curl -s -o /dev/null http://127.0.0.1:$PORT/v1/chatrooms && break; sleep 0.1; done ;;
  nchan)
    SCEN=nchan-fanout; RUN=$(mktemp -d); mkdir -p $RUN/run
    sed "s/127.0.0.1:18095/127.0.0.1:$PORT/" "$BENCH/nchan/nginx.conf" >$RUN/nginx.conf
    nginx -p $RUN/ -c nginx.conf; sleep 0.5; NG=$(cat $RUN/run/nginx.pid); SPID=$(pgrep -P $NG | head -1)
    for _ in $(seq 1 600); do curl -s -o /dev/null http://127.0.0.1:$PORT/ && break; sleep 0.1; done ;;
  *) echo "unknown server $SERVER"; exit 2 ;;
esac
sleep 1
node "$BENCH/wsload.mjs" $SCEN --url http://127.0.0.1:$PORT --client raw --members $MEMBERS --publishers 10 --rate $RATE \
  --duration $((WINDOW + 7)) --warmup 2 --quiet >$LOG/wsload.json 2>$LOG/wsload.err & W=$!
sleep 7
# chatd counts what it delivered (chatd_deliveries_total: members and publishers); nchan
# is taken to deliver every message to every member (wsload reports any loss).
delivered() { curl -s http://127.0.0.1:$APORT/metrics | awk '/^chatd_deliveries_total/ {print $2}'; }
case $SERVER in chatd-*) D0=$(delivered) ;; esac
count_deliveries() {
  case $SERVER in chatd-*) DELIVERIES=$(python3 -c "print(int(float('$(delivered)') - float('$D0')))") ;; *) DELIVERIES=$((RATE * MEMBERS * WINDOW)) ;; esac
}
case $MODE in
  counts)
    EV=$(printf "syscalls:sys_enter_%s," write writev sendmsg sendto read readv recvfrom recvmsg epoll_wait epoll_pwait epoll_ctl futex timerfd_settime ioctl mmap munmap madvise | sed "s/,$//")
    perf stat -x, -e "$EV,context-switches,sched:sched_wakeup,net:net_dev_xmit" -p $SPID -- sleep $WINDOW 2>$LOG/perf.txt
    count_deliveries
    python3 - "$SERVER $RATE" $LOG/perf.txt $DELIVERIES <<'PY'
import sys
label, path, deliveries = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = [(p[2].split(':')[-1].replace('sys_enter_', ''), int(p[0])) for p in (l.strip().split(',') for l in open(path)) if len(p) > 2 and p[0].isdigit()]
other = ('context-switches', 'sched_wakeup', 'net_dev_xmit')
calls = sum(n for k, n in rows if k not in other)
print(f"{label}: syscalls/delivery {calls/deliveries:.3f}; " + ", ".join(f"{k} {n/deliveries:.4f}" for k, n in rows if n))
PY
    ;;
  record)
    perf record -F 999 -g -p $SPID -o "$OUT/$SERVER-$RATE.perf" -- sleep $WINDOW 2>/dev/null
    count_deliveries; echo "deliveries in the window: $DELIVERIES"
    echo "$SERVER $RATE: perf report -i $OUT/$SERVER-$RATE.perf --no-children --sort dso,symbol --stdio" ;;
esac
wait $W
python3 -c "
import json
r=json.loads(open('$LOG/wsload.json').read().strip().splitlines()[-1])
print('  wsload: deliveries/s %s, lost %s, out of order %s, duplicates %s, p50 %s ms, p99 %s ms' % (r['deliveries_per_second'], r['lost'], r['out_of_order'], r['duplicates'], r['latency_ms']['p50'], r['latency_ms']['p99']))" 2>/dev/null || tail -3 $LOG/wsload.json $LOG/wsload.err
