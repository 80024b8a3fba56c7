"""The load bench/callgrind.sh counts: one keep-alive connection, N identical requests after a
warm-up, between callgrind_control's zero (-z) and dump (-d) of the process being measured.
Usage: callgrind_client.py PORT METHOD PATH BODY_FILE HEADERS_JSON EXPECT N PID CONTROL [SINK]
EXPECT is a byte string every answer must contain (and, for tools/call, no "isError":true).
Prints how many spans the OTLP sink received meanwhile (0 without SINK)."""
import http.client
import json
import os
import subprocess
import sys
import time

port, method, path, body_file, headers, expect, n, pid, control = sys.argv[1:10]
sink = sys.argv[10] if len(sys.argv) > 10 else ""
port, n = int(port), int(n)
body = open(body_file, "rb").read() if body_file != "-" else None
headers = json.loads(headers)
expect = expect.encode()


def exported():  # spans the OTLP sink has received so far
    if not sink or not os.path.exists(sink):
        return 0
    return sum(int(line.split()[1]) for line in open(sink) if line.startswith("spans "))


deadline = time.time() + 180
while True:  # the process runs ~50x slower under callgrind; wait until it answers
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request(method, path, body, headers)
        if expect in connection.getresponse().read():
            break
    except OSError:
        pass
    if time.time() > deadline:
        sys.exit("the process never answered under callgrind")
    time.sleep(0.5)


def call():
    connection.request(method, path, body, headers)
    answer = connection.getresponse().read()
    assert expect in answer and b'"isError":true' not in answer, answer


for _ in range(50):
    call()
subprocess.run(["perl", control, "-z", pid], check=True, capture_output=True)  # count only what follows
first = exported()
for _ in range(n):
    call()
subprocess.run(["perl", control, "-d", pid], check=True, capture_output=True)
print(exported() - first)
