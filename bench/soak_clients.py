"""The side load of bench/soak.sh, beside wrk's: SSE streams read whole and checked event by
event, slow clients (a head sent a few bytes at a time, well within the head timeout), and
requests to a faulty upstream whose every outcome must be one of the clean ones (the exact body,
a 502, or a response cut off — never a wrong body). Runs for SECONDS; prints one JSON line of
counts. Usage: soak_clients.py GATEWAY_PORT SECONDS"""
import asyncio
import json
import random
import sys
import time

PORT, SECONDS = int(sys.argv[1]), float(sys.argv[2])
counts = {"sse_streams": 0, "sse_events": 0, "slow_clients": 0, "fault_ok": 0, "fault_502": 0, "fault_cut": 0, "wrong": 0}
wrong = []


def fail(what):
    counts["wrong"] += 1
    if len(wrong) < 10:
        wrong.append(what)


async def exchange(data, read_until_close=True, timeout=15):
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", PORT), timeout)
    writer.write(data)
    await writer.drain()
    try:
        answer = await asyncio.wait_for(reader.read(-1), timeout)
    finally:
        writer.close()
    return answer


def body_of(answer):
    head, _, body = answer.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        decoded, rest = b"", body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0] or b"0", 16)
            if size == 0:
                break
            decoded, rest = decoded + rest[:size], rest[size + 2:]
        return head, decoded
    return head, body


async def sse_client(deadline):
    while time.monotonic() < deadline:
        count = random.randint(10, 40)
        answer = await exchange(b"GET /faulty/sse/%d HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n" % count)
        head, body = body_of(answer)
        events = [line[6:] for line in body.split(b"\n") if line.startswith(b"data: ")]
        if not head.startswith(b"HTTP/1.1 200") or events != [b"%d" % i for i in range(count)]:
            fail(f"sse {count}: {answer[:200]!r}")
            continue
        counts["sse_streams"] += 1
        counts["sse_events"] += len(events)


async def slow_client(deadline):
    while time.monotonic() < deadline:
        size = random.randint(1, 2000)
        request = b"GET /api/items/%d?size=%d HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n" % (size, size)
        reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
        for index in range(0, len(request), 7):
            writer.write(request[index:index + 7])
            await writer.drain()
            await asyncio.sleep(0.02)
        answer = await asyncio.wait_for(reader.read(-1), 15)
        writer.close()
        head, body = body_of(answer)
        if not head.startswith(b"HTTP/1.1 200") or json.loads(body) != {"id": size, "name": "x" * size}:
            fail(f"slow {size}: {answer[:200]!r}")
            continue
        counts["slow_clients"] += 1


async def fault_client(deadline):
    while time.monotonic() < deadline:
        kind = random.choice(["ok", "slow", "reset"])
        size = random.randint(1, 100_000)
        try:
            answer = await exchange(b"GET /faulty/%s/%d HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n" % (kind.encode(), size))
        except (ConnectionError, asyncio.IncompleteReadError):
            answer = b""
        head, body = body_of(answer)
        if head.startswith(b"HTTP/1.1 200") and body == b"x" * size and kind != "reset":
            counts["fault_ok"] += 1
        elif head.startswith(b"HTTP/1.1 502"):
            counts["fault_502"] += 1
        elif kind == "reset" and (not head or (head.startswith(b"HTTP/1.1 200") and len(body) < size and set(body) <= {ord("x")})):
            counts["fault_cut"] += 1  # cut off mid-body: the client can tell, nothing wrong was delivered
        else:
            fail(f"fault {kind} {size}: {answer[:200]!r}")


async def main():
    deadline = time.monotonic() + SECONDS
    tasks = [sse_client(deadline) for _ in range(20)] + [slow_client(deadline) for _ in range(10)] + [fault_client(deadline) for _ in range(4)]
    await asyncio.gather(*tasks)
    print(json.dumps({**counts, "wrong_examples": wrong}))


asyncio.run(main())
