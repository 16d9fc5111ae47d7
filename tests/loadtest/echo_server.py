"""The load test's echo server: websockets on 127.0.0.1, in a process of its own.

Run by tests/loadtest/driver.py as ``python echo_server.py``: it listens on a
free port, prints the port on a line of its own once it listens, and sends
every message back as it came (text as text, binary as binary) until SIGTERM
or SIGINT. permessage-deflate is accepted (websockets' default), as a client
offering it (pyws_shim's default) would find on most servers; keepalive pings
are off (see below).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

# All the load test's connections open at once: keep every SYN in the queue.
BACKLOG = 4096


async def echo(connection: ServerConnection) -> None:
    with contextlib.suppress(ConnectionClosed):
        async for message in connection:
            await connection.send(message)


async def main() -> None:
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set_result, None)
    # No keepalive pings: with every connection's messages queued at once, the
    # client's pong waits behind them (for tens of seconds), and websockets would
    # close the connection with 1011 after ping_timeout (20 s): the server's choice,
    # which would hide what the client does.
    async with serve(
        echo, "127.0.0.1", 0, backlog=BACKLOG, max_size=None, ping_interval=None
    ) as server:
        port = server.sockets[0].getsockname()[1]
        sys.stdout.write(f"{port}\n")
        sys.stdout.flush()
        await stop


if __name__ == "__main__":
    asyncio.run(main())
