#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A TCP echo server (asyncio) for many-connection tests: every byte a
client sends comes back; when the client shuts down its write side the
server finishes echoing and closes. Prints one line per connection that
ends with an error, and "listening HOST PORT" per address once bound.

Usage: tcp_echo_server.py PORT HOST [HOST ...]
"""

import asyncio
import socket
import sys


async def handle(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except OSError as e:
        print("echo: connection error: %s" % e, flush=True)
    finally:
        try:
            writer.close()
            await writer.wait_closed()
        except OSError:
            pass


async def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    port = int(sys.argv[1])
    servers = []
    for host in sys.argv[2:]:
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        srv = await asyncio.start_server(handle, host, port, family=fam, backlog=4096,
                                         reuse_address=True)
        servers.append(srv)
        print("listening %s %d" % (host, port), flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
