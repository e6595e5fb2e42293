"""The listening socket every server of stgo binds through."""

from __future__ import annotations

import socket

from werkzeug.serving import LISTEN_QUEUE, get_sockaddr, select_address_family

__all__ = ["listen", "reloader_port"]


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on *host*:*port*, bound as Werkzeug binds its own.

    Every server binds through this (a lone one, ``--workers``' supervisor,
    the reloader's port check): a port that is taken raises :class:`OSError`
    for the caller to report, where Werkzeug would print its own message and
    exit the process.
    """
    family = select_address_family(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(get_sockaddr(host, port, family))
        sock.listen(LISTEN_QUEUE)
    except BaseException:
        sock.close()
        raise
    return sock


def reloader_port(host: str, port: int) -> int:
    """*port* (for ``0``, one the system picks) once it could be bound: the
    check before Werkzeug's reloader binds it itself.

    :raises OSError: it cannot be bound (taken, say).
    """
    with listen(host, port) as probe:
        return int(probe.getsockname()[1])
