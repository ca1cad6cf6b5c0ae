"""The emulator's listening sockets, made with the standard library alone.

:func:`bind` opens a listening TCP socket, :func:`bound_address` says where it listens and
:func:`split_address` reads a ``HOST:PORT`` option. They live apart from :mod:`.http` (which
imports uvicorn) so that ``serve`` can listen on its invoke endpoint the moment its arguments
are read, before the engine, the server and the event loop are imported: the kernel queues a
caller's connection from then on, and it is answered once the rest has started.
"""

from __future__ import annotations

import socket


def bind(address: str, port: int) -> socket.socket:
    """A listening TCP socket on ``address:port`` (port 0: an ephemeral port).

    Raises :class:`OSError` with a message naming the address when it is taken.
    """
    try:
        infos = socket.getaddrinfo(address, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OSError(f"cannot resolve the address {address!r}: {exc.strerror}") from exc
    family, _, _, _, sockaddr = infos[0]
    # IPPROTO_TCP explicitly: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on sockets
    # whose protocol says TCP, and with Nagle on, a response written as headers then body waits
    # for the peer's delayed ACK: 40 ms per request.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(sockaddr)
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        error = OSError(f"cannot listen on {address}:{port}: {reason}")
        error.errno = exc.errno
        raise error from exc
    sock.setblocking(False)
    return sock


def bound_address(sock: socket.socket) -> tuple[str, int]:
    """The host and port a bound socket listens on."""
    host, port = sock.getsockname()[:2]
    return str(host), int(port)


def split_address(text: str, default_port: int) -> tuple[str, int]:
    """``host:port`` (or ``host``, or ``:port``, or ``[v6]:port``) as a pair."""
    host, sep, port = text.rpartition(":")
    if not sep or "]" in port:
        host, port = text, ""
    host = host.strip("[]") or "127.0.0.1"
    if not port:
        return host, default_port
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{text!r} is not an address of the form HOST:PORT")
    return host, int(port)
