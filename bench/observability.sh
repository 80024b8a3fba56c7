#!/usr/bin/env bash
# What observability costs on MCP tools/call, in one run against the same upstream
# (bench/mcp_backend.py): the gateway with metrics only (always on), then with tracing sampled at
# 100% and at 1% (spans exported over OTLP/HTTP to bench/otlp_sink.py) plus the access log (to a
# file). For each: requests/s (median of 3 runs) and p99 at CONNECTIONS connections, and the
# gateway's CPU per request; then instructions per request from bench/callgrind.sh (call,
# traced, traced1). The gateway runs on core 0; upstream, sink and wrk on core 1.
#
# "Off" is the gateway before observability (BASELINE_REV, default 884dc9b: no metrics, no
# tracing, no access log), built in a git worktree and counted with this callgrind.sh; metrics
# cannot be turned off in later ones. Span export works in batches on its own threads, and under
# callgrind (~50x slower than in service) a batch holds ~50x fewer spans, so its fixed cost per
# request is ~50x too high there: the "in service" column counts the event loop and the log
# writer as measured, and export at the per-span cost measured with every request traced (where
# batches are full, as they are in service under load).
# Usage: [BASELINE_REV=rev|none] [BASELINE_DIR=built checkout] bench/observability.sh [DURATION_SECONDS] [CONNECTIONS] [CALLGRIND_REQUESTS]
#        (release build; results → bench/observability-results.md)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
DURATION=${1:-10}
CONNECTIONS=${2:-32}
REQUESTS=${3:-1000}
scripts/install-deps --bench
for product in agentgateway mcp; do swift build -c release --product "$product" >/dev/null; done
BIN=$(swift build -c release --show-bin-path)
bench_setup
UP=$(bench_port); SINK=$(bench_port)
$LOAD_CPU python3 bench/mcp_backend.py "$UP" 20 > "$WORK/upstream.log" 2>&1 & PIDS+=($!)
$LOAD_CPU python3 bench/otlp_sink.py "$SINK" > "$WORK/sink.log" 2>&1 & PIDS+=($!)
cat > "$WORK/call.lua" <<'LUA'
wrk.method = "POST"
wrk.body = [[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"size":16}}}]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
LUA
bench_jsonrpc_failures_lua >> "$WORK/call.lua"
HZ=$(getconf CLK_TCK)

declare -A RPS P99 CPU
MODES=(metrics traced-100 traced-1)
for mode in "${MODES[@]}"; do
  GW=$(bench_port)
  observed=""
  case $mode in
    traced-100) observed="[tracing]
endpoint = \"http://127.0.0.1:$SINK/v1/traces\"
sample_ratio = 1.0
[access_log]
path = \"$WORK/access-$mode.log\"" ;;
    traced-1) observed="[tracing]
endpoint = \"http://127.0.0.1:$SINK/v1/traces\"
sample_ratio = 0.01
[access_log]
path = \"$WORK/access-$mode.log\"" ;;
  esac
  cat > "$WORK/$mode.toml" <<TOML
[gateway]
event_loops = 1
$observed
[[listeners]]
name = "main"
address = "127.0.0.1:$GW"
[plugins.mcp]
path = "$BIN/libmcp.so"
[[routes]]
name = "one"
[routes.match]
path = "/one"
[routes.handler]
plugin = "mcp"
[routes.handler.config]
sessions = false
[[routes.handler.config.targets]]
name = "a"
type = "http"
url = "http://127.0.0.1:$UP/mcp"
TOML
  $GW_CPU "$BIN/agentgateway" --config "$WORK/$mode.toml" --log-level warning > "$WORK/$mode.log" 2>&1 & GWPID=$!; PIDS+=($GWPID)
  for _ in $(seq 100); do
    curl -fs -X POST -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' \
      -d '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' "http://127.0.0.1:$GW/one" | grep -q '"tools"' && break
    sleep 0.1
  done
  $LOAD_CPU wrk -t1 -c"$CONNECTIONS" -d2s -s "$WORK/call.lua" "http://127.0.0.1:$GW/one" >/dev/null
  results=()
  for _ in 1 2 3; do
    before=$(awk '{print $14+$15}' /proc/$GWPID/stat)
    out=$($LOAD_CPU wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WORK/call.lua" "http://127.0.0.1:$GW/one")
    after=$(awk '{print $14+$15}' /proc/$GWPID/stat)
    results+=("$(python3 bench/wrk_summary.py --jsonrpc --cpu "$before" "$after" "$HZ" <<< "$out")")
  done
  read -r rps _ p99 _ cpu errs < <(printf '%s\n' "${results[@]}" | sort -k1 -n | sed -n 2p)
  [ "$errs" = 0 ] || { echo "$mode: $errs responses were not a JSON-RPC result" >&2; exit 1; }
  RPS[$mode]=$rps; P99[$mode]=$p99; CPU[$mode]=$cpu
  kill "$GWPID"; wait "$GWPID" 2>/dev/null || true
done

declare -A INSTR LOOP WRITER OTHER PERSPAN
measure() { # measure KEY CASE [DIR]: instructions from DIR's build (its copy of this callgrind.sh)
  local out
  # (callgrind.sh's top-functions listing ends in `head`, so its exit status is not its verdict.)
  out=$( (bash "${3:-.}/bench/callgrind.sh" "$2" "$REQUESTS" || true) )
  INSTR[$1]=$(awk '/instructions per tools\/call/ {print $4}' <<< "$out")
  [ -n "${INSTR[$1]}" ] || { echo "bench/callgrind.sh $2 printed no count" >&2; exit 1; }
  LOOP[$1]=$(sed -n 's/.*: \([0-9]*\) on the event loop.*/\1/p' <<< "$out")
  WRITER[$1]=$(sed -n 's/.*, \([0-9]*\) on the access-log writer.*/\1/p' <<< "$out")
  OTHER[$1]=$(sed -n 's/.*, \([0-9]*\) on other threads.*/\1/p' <<< "$out")
  PERSPAN[$1]=$(sed -n 's/.*: \([0-9]*\) instructions per exported span.*/\1/p' <<< "$out")
  SPANS[$1]=$(sed -n 's/^ *\([0-9]*\) spans exported meanwhile.*/\1/p' <<< "$out")
}
declare -A SPANS
for c in call traced traced1; do measure "$c" "$c"; done
BASELINE_REV=${BASELINE_REV:-884dc9b}
if [ -n "${BASELINE_DIR:-}" ]; then # a checkout of the baseline already built (saves its build)
  cp bench/callgrind.sh bench/lib.sh bench/otlp_sink.py bench/valgrind_sigsuspend_shim.c "$BASELINE_DIR/bench/"
  ln -sfn "$PWD/.build-valgrind" "$BASELINE_DIR/.build-valgrind"
  measure off call "$BASELINE_DIR"
elif [ "$BASELINE_REV" != none ]; then
  BASE="$WORK/baseline" # a worktree of the old revision, with today's callgrind.sh (it builds there)
  git worktree prune
  git worktree add -f --detach "$BASE" "$BASELINE_REV" >/dev/null
  cp bench/callgrind.sh bench/lib.sh bench/otlp_sink.py bench/valgrind_sigsuspend_shim.c "$BASE/bench/"
  ln -s "$PWD/.build-valgrind" "$BASE/.build-valgrind"
  measure off call "$BASE"
  git worktree remove --force "$BASE"
fi

{
  echo "## bench/observability.sh — $(date -u +%Y-%m-%d), ${DURATION}s per run, $(nproc) cores (gateway on core 0), wrk -t1 -c$CONNECTIONS"
  echo
  echo "| gateway | req/s | p99 ms | gateway CPU µs/req | instructions/req (callgrind, $REQUESTS calls): all threads | event loop | log writer | span export | in service |"
  echo "|---|---|---|---|---|---|---|---|---|"
  python3 - "$REQUESTS" "${INSTR[off]:-}" "${RPS[metrics]} ${P99[metrics]} ${CPU[metrics]} ${INSTR[call]} ${LOOP[call]} ${WRITER[call]} ${OTHER[call]}" \
    "${RPS[traced-100]} ${P99[traced-100]} ${CPU[traced-100]} ${INSTR[traced]} ${LOOP[traced]} ${WRITER[traced]} ${OTHER[traced]} ${SPANS[traced]} ${PERSPAN[traced]}" \
    "${RPS[traced-1]} ${P99[traced-1]} ${CPU[traced-1]} ${INSTR[traced1]} ${LOOP[traced1]} ${WRITER[traced1]} ${OTHER[traced1]} ${SPANS[traced1]}" <<'PY'
import sys
requests, off = int(sys.argv[1]), sys.argv[2]
metrics, full, sampled = (sys.argv[3].split(), sys.argv[4].split(), sys.argv[5].split())
per_span = int(full[8])                      # export cost per span, batches full
spans_per_traced = int(full[7]) / requests   # spans a traced request makes (server + upstream)
def in_service(row, ratio):
    return int(row[4]) + int(row[5]) + ratio * spans_per_traced * per_span
rows = [("metrics only (always on)", metrics, in_service(metrics, 0)),
        ("+ tracing 100% + access log", full, in_service(full, 1)),
        ("+ tracing 1% + access log", sampled, in_service(sampled, 0.01))]
if off:
    print(f"| off: before observability (callgrind only) | | | | {off} | | | | {off} |")
for name, row, service in rows:
    print(f"| {name} | {row[0]} | {row[1]} | {row[2]} | {row[3]} | {row[4]} | {row[5]} | {row[6]} | {service:.0f} |")
print()
base = float(off) if off else float(metrics[3])
what = "off (before observability)" if off else "metrics only"
print(f"- span export: {per_span} instructions per span with every request traced ({spans_per_traced:.1f} spans per request)")
for name, row, service in rows[1:] if not off else rows:
    print(f"- {name}: {service / base - 1:+.1%} instructions in service vs {what} "
          f"({int(row[3]) / base - 1:+.1%} as callgrind counts every thread), throughput {float(row[0]) / float(metrics[0]):.2f}x metrics only")
PY
} | tee bench/observability-results.md
