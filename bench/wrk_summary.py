#!/usr/bin/env python3
"""Reads one `wrk --latency` report on stdin and prints, on one line:
    req/s  p50_ms  p99_ms  requests  cpu_us_per_request  errors
cpu is "-" unless --cpu BEFORE AFTER HZ gives the process's CPU ticks around the run. errors
counts non-2xx answers, plus the Lua script's "JSON-RPC errors: N" line with --jsonrpc (which
requires it), plus socket errors with --socket-errors. Shared by the bench scripts."""
import argparse
import re
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--cpu", nargs=3, type=int, metavar=("BEFORE", "AFTER", "HZ"))
parser.add_argument("--socket-errors", action="store_true")
parser.add_argument("--jsonrpc", action="store_true")
args = parser.parse_args()
out = sys.stdin.read()


def find(pattern, flags=0):
    match = re.search(pattern, out, flags)
    if match is None:
        sys.exit(f"wrk_summary: no {pattern!r} in the wrk output:\n{out}")
    return match.group(1)


def ms(text):
    match = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    if match is None:
        sys.exit(f"wrk_summary: cannot read latency {text!r} in the wrk output:\n{out}")
    value, unit = match.groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


rps = float(find(r"Requests/sec:\s+([\d.]+)"))
requests = int(find(r"(\d+) requests in"))
p50 = ms(find(r"^\s+50%\s+(\S+)", re.M))
p99 = ms(find(r"^\s+99%\s+(\S+)", re.M))
errors = sum(int(m) for m in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
if args.jsonrpc:
    errors += int(find(r"JSON-RPC errors: (\d+)"))
if args.socket_errors:
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors += sum(map(int, socket.groups())) if socket else 0
cpu = "-"
if args.cpu:
    before, after, hz = args.cpu
    cpu = f"{(after - before) / hz * 1e6 / requests:.1f}"
print(f"{rps:.0f} {p50:.3f} {p99:.3f} {requests} {cpu} {errors}")
