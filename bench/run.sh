#!/usr/bin/env bash
# Measures, in one run and against the same nginx backend:
#   direct       wrk → backend
#   nginx-proxy  wrk → nginx as a plain reverse proxy → backend (the reference)
#   gateway      wrk → agentgateway (no filters) → backend
#   gateway+3    wrk → agentgateway with 3 no-op filters (1 C, 2 Swift) → backend
# For each: requests/s and p99 at CONNECTIONS connections (median of 3 runs), p50/p99 at 1 connection, and the
# gateway's CPU time per request (utime+stime from /proc, divided by requests served).
# The proxies (gateway, reference nginx) run on core 0; the backend nginx and wrk on core 1.
# bench/hook_crossing.c times one hook call into a C and a Swift plugin against a fake host table.
# Usage: bench/run.sh [DURATION_SECONDS] [CONNECTIONS]   (release build; results → bench/results.md)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
DURATION=${1:-10}
CONNECTIONS=${2:-32}
scripts/install-deps --bench
swift build -c release --product agentgateway >/dev/null
swift build -c release --product noop >/dev/null
BIN=$(swift build -c release --show-bin-path)
bench_setup

cc -O2 -std=c99 -shared -fPIC -fvisibility=hidden -I Sources/PluginABI/include bench/noop_filter.c -o "$WORK/libnoop_c.so"
cc -O2 -std=c99 -I Sources/PluginABI/include bench/hook_crossing.c -o "$WORK/hook_crossing" -ldl
HOOK_C=$("$WORK/hook_crossing" "$WORK/libnoop_c.so" 20000000 | awk '{print $2}')
HOOK_SWIFT=$("$WORK/hook_crossing" "$BIN/libnoop.so" 20000000 | awk '{print $2}')
BACKEND=$(bench_port); PROXY=$(bench_port); GW=$(bench_port); GWF=$(bench_port)
BODY='{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hello from the backend"}]}}'

# nginx: the backend (fixed JSON) on the load core, and the reference proxy as its own process on
# the gateway's core, so both proxies pay the same cross-core hops. One worker each.
bench_nginx_conf backend "server { listen 127.0.0.1:$BACKEND; location / { default_type application/json; return 200 '$BODY'; } }"
bench_nginx_conf proxy "server { listen 127.0.0.1:$PROXY; location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }"
$LOAD_CPU nginx -c "$WORK/backend.conf" -g 'daemon off;' & PIDS+=($!)
$GW_CPU nginx -c "$WORK/proxy.conf" -g 'daemon off;' & PIDS+=($!)

# One event loop: the gateway is pinned to one core (like nginx's one worker); NIO would start a
# loop per core of the machine and make the two threads take turns on that core.
cat > "$WORK/gw.toml" <<TOML
[gateway]
event_loops = 1
[[listeners]]
name = "plain"
address = "127.0.0.1:$GW"
[[listeners]]
name = "filtered"
address = "127.0.0.1:$GWF"
[plugins.noop_c]
path = "$WORK/libnoop_c.so"
[plugins.noop]
path = "$BIN/libnoop.so"
[[routes]]
name = "plain"
listeners = ["plain"]
[routes.backend]
urls = ["http://127.0.0.1:$BACKEND"]
[[routes]]
name = "filtered"
listeners = ["filtered"]
[[routes.filters]]
plugin = "noop_c"
[[routes.filters]]
plugin = "noop"
[[routes.filters]]
plugin = "noop"
[routes.backend]
urls = ["http://127.0.0.1:$BACKEND"]
TOML
$GW_CPU "$BIN/agentgateway" --config "$WORK/gw.toml" --log-level warning & GWPID=$!; PIDS+=($GWPID)
for p in $BACKEND $PROXY $GW $GWF; do
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$p/" >/dev/null && break; sleep 0.1; done
done

declare -A RPS P99 LAT50 LAT99 CPU
for target in "direct:$BACKEND" "nginx-proxy:$PROXY" "gateway:$GW" "gateway+3-filters:$GWF"; do
  name=${target%%:*}; p=${target##*:}
  pid=-; if [ "$p" = "$GW" ] || [ "$p" = "$GWF" ]; then pid=$GWPID; fi
  read -r rps p99 cpu errs l50 l99 < <(bench_case "$name" "http://127.0.0.1:$p/" "" "$pid")
  [ "$errs" = 0 ] || { echo "$name: $errs non-2xx responses" >&2; exit 1; }
  RPS[$name]=$rps; P99[$name]=$p99; LAT50[$name]=$l50; LAT99[$name]=$l99; CPU[$name]=$cpu
done

{
  echo "## bench/run.sh — $(date -u +%Y-%m-%d), ${DURATION}s per run, $(nproc) cores (proxies pinned to core 0; backend and wrk to core 1), wrk -t1"
  echo
  echo "| target | req/s @${CONNECTIONS} conns | p99 ms @${CONNECTIONS} | p50 ms @1 conn | p99 ms @1 conn | gateway CPU µs/req @${CONNECTIONS} |"
  echo "|---|---|---|---|---|---|"
  for name in direct nginx-proxy gateway gateway+3-filters; do
    echo "| $name | ${RPS[$name]} | ${P99[$name]} | ${LAT50[$name]} | ${LAT99[$name]} | ${CPU[$name]} |"
  done
  echo
  python3 - "${RPS[direct]}" "${RPS[nginx-proxy]}" "${RPS[gateway]}" "${RPS[gateway+3-filters]}" "${LAT50[direct]}" "${LAT50[nginx-proxy]}" "${LAT50[gateway]}" "${CPU[gateway]}" "${CPU[gateway+3-filters]}" <<'PY'
import sys
d, n, g, gf, l_d, l_n, l_g, c_g, c_gf = map(float, sys.argv[1:])
print(f"- gateway / direct throughput: {g / d:.2f}; gateway / nginx-proxy: {g / n:.2f}; 3 no-op filters cost {100 * (1 - gf / g):.1f}% of the gateway's throughput")
print(f"- added latency at 1 connection (p50): gateway {1000 * (l_g - l_d):.0f} µs, nginx-proxy {1000 * (l_n - l_d):.0f} µs")
print(f"- 3 no-op filters (1 C, 2 Swift; request + response hooks, stream contexts) add {c_gf - c_g:.1f} µs of gateway CPU per request")
PY
  echo "- one hook crossing (bench/hook_crossing.c, fake host table): C ${HOOK_C} ns, Swift (PluginKit) ${HOOK_SWIFT} ns"
} | tee bench/results.md
