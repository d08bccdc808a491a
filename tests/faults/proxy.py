"""A small TCP proxy on 127.0.0.1 that a test can cut, freeze and restore: a database outage
without stopping the shared PostgreSQL server the rest of the suite uses.

- `stop()`: the listener closes and every live connection is dropped, so the app sees its
  connections fail and new ones refused (PostgreSQL stopped, or the network gone).
- `freeze()`: connections stay open but no byte is passed either way, and new connections are
  accepted and never answered (a hung server or a black-holed network: only timeouts help).
- `start()` again, on the same port: the database is back.
"""

import asyncio
import contextlib
import socket


class FaultyProxy:
    def __init__(self, upstream_host: str, upstream_port: int, port: int = 0) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = port or _free_port()
        self.server: asyncio.Server | None = None
        self.frozen = asyncio.Event()
        self.stopped = asyncio.Event()
        self.writers: set[asyncio.StreamWriter] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.accepted = 0

    async def start(self) -> None:
        self.frozen.clear()
        self.stopped = asyncio.Event()
        self.server = await asyncio.start_server(
            self._serve, "127.0.0.1", self.port, reuse_address=True
        )

    async def stop(self) -> None:
        """Close the listener and drop every connection, as a stopped server would."""
        if self.server is not None:
            self.server.close()
            self.server = None
        self.stopped.set()  # frozen handlers give up
        self._drop_all()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks.clear()

    def freeze(self) -> None:
        """Stop passing bytes and stop answering new connections, connections left open."""
        self.frozen.set()

    def drop_connections(self) -> None:
        """Cut every live connection (the listener stays as it is)."""
        self._drop_all()

    def _drop_all(self) -> None:
        for writer in list(self.writers):
            transport = writer.transport
            with contextlib.suppress(OSError):
                sock = transport.get_extra_info("socket")
                if sock is not None:  # a reset, not a polite close: the peer sees it at once
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
            transport.abort()
        self.writers.clear()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.writers.add(client_w)
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        try:
            if self.frozen.is_set():
                await self.stopped.wait()  # accepted, never answered
                return
            upstream_r, upstream_w = await asyncio.open_connection(*self.upstream)
            self.writers.add(upstream_w)
            await asyncio.gather(self._pipe(client_r, upstream_w), self._pipe(upstream_r, client_w))
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self.tasks.discard(task)
            for writer in (client_w, *([upstream_w] if "upstream_w" in locals() else [])):
                self.writers.discard(writer)
                writer.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            if self.frozen.is_set():
                await self.stopped.wait()  # bytes held: the peer waits for an answer
                return
            writer.write(data)
            await writer.drain()
        writer.transport.abort()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
