"""A loopback TCP proxy that can slow a connection down or stall it (for pull timeouts)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Proxy:
    """Forwards ``127.0.0.1:port`` to ``target``; ``rate`` bytes/s towards the client."""

    target: tuple[str, int]
    rate: float | None = None
    stalled: bool = False
    port: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _sockets: list[socket.socket] = field(default_factory=list)

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT``."""
        return f"127.0.0.1:{self.port}"

    def _pipe(self, source: socket.socket, sink: socket.socket, *, throttle: bool) -> None:
        with contextlib.suppress(OSError):
            while not self._stop.is_set():
                data = source.recv(16 * 1024)
                if not data:
                    break
                while self.stalled and not self._stop.is_set():
                    time.sleep(0.05)
                if throttle and self.rate:
                    time.sleep(len(data) / self.rate)
                sink.sendall(data)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _serve(self, listener: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._sockets += [client, upstream]
            for source, sink, throttle in ((client, upstream, False), (upstream, client, True)):
                threading.Thread(
                    target=self._pipe,
                    args=(source, sink),
                    kwargs={"throttle": throttle},
                    daemon=True,
                ).start()

    def close(self) -> None:
        """Stop forwarding and close every connection."""
        self._stop.set()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()


@contextmanager
def proxy(target: tuple[str, int], *, rate: float | None = None) -> Iterator[Proxy]:
    """A running :class:`Proxy` on a free loopback port."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    running = Proxy(target=target, rate=rate, port=int(listener.getsockname()[1]))
    thread = threading.Thread(target=running._serve, args=(listener,), daemon=True)
    thread.start()
    try:
        yield running
    finally:
        running.close()
        listener.close()
        thread.join(timeout=5)
