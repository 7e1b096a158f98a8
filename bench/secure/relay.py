#!/usr/bin/env python3
"""A TCP relay that delays and counts: the "20 ms" of the simulated link.

usage: relay.py LISTEN_PORT TARGET_HOST TARGET_PORT DELAY_MS COUNT_FILE

Listens on 127.0.0.1:LISTEN_PORT and forwards every connection to TARGET. Each chunk read
from the client is forwarded DELAY_MS later (order kept; the daemon's answers are not
delayed), so every request/answer exchange costs DELAY_MS more, as on a link with that
round-trip time. The kernel this runs on has no netem; the rate limit is tc tbf on the veth
between the namespaces (bench/secure/run.py). Bytes forwarded in each direction are written
to COUNT_FILE as "up down" when the relay gets SIGTERM.
"""
import asyncio
import os
import signal
import sys

up = 0
down = 0


async def pipe(reader, writer, delay, direction):
    global up, down
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def sender():
        while True:
            due, data = await queue.get()
            if data is None:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        try:
            writer.close()
        except Exception:
            pass

    task = asyncio.create_task(sender())
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            if direction == "up":
                up += len(data)
            else:
                down += len(data)
            await queue.put((loop.time() + delay, data))
    except Exception:
        pass
    await queue.put((0, None))
    try:
        await task
    except Exception:
        pass


async def main():
    port, host, tport, delay_ms, count_file = sys.argv[1:6]
    delay = float(delay_ms) / 1000.0

    async def handle(cr, cw):
        try:
            sr, sw = await asyncio.open_connection(host, int(tport))
        except OSError:
            cw.close()
            return
        await asyncio.gather(pipe(cr, sw, delay, "up"), pipe(sr, cw, 0.0, "down"))

    def stop():
        with open(count_file, "w") as f:
            f.write(f"{up} {down}\n")
        os._exit(0)

    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop)
    server = await asyncio.start_server(handle, "127.0.0.1", int(port), backlog=256)
    async with server:
        await server.serve_forever()


asyncio.run(main())
