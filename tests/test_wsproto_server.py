"""One WebSocket's protocol state (:mod:`stgo.transport.wsproto_server`), without sockets:
a wsproto client on the other side, bytes handed across by the test."""

from __future__ import annotations

import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Ping,
    Pong,
    Request,
    TextMessage,
)

from stgo.transport.wsproto_server import ServerProtocol


def _connected(limit: int = 1024) -> tuple[ServerProtocol, WSConnection]:
    client = WSConnection(ConnectionType.CLIENT)
    head = client.send(Request(host="example.test", target="/")).decode()
    # The request's headers as a WSGI server puts them in the environ.
    environ = {"HTTP_" + name.upper().replace("-", "_"): value
               for name, value in (line.split(": ", 1) for line in head.split("\r\n")[1:] if line)}
    server = ServerProtocol(limit)
    client.receive_data(server.handshake(environ))
    assert [type(e) for e in client.events()] == [AcceptConnection]
    assert server.connected
    return server, client


def test_messages_in_one_or_many_frames_are_collected() -> None:
    server, client = _connected()
    data = client.send(TextMessage("hello"))
    data += client.send(TextMessage("wor", message_finished=False))
    data += client.send(TextMessage("ld"))
    assert server.receive(data) == b""
    assert server.messages == ["hello", "world"]


def test_a_ping_is_answered_and_a_pong_noted() -> None:
    server, client = _connected()
    client.receive_data(server.receive(client.send(Ping(b"x"))))
    assert [type(e) for e in client.events()] == [Pong]
    client.receive_data(server.ping())
    assert not server.pong_received
    for event in client.events():
        assert isinstance(event, Ping)
        server.receive(client.send(event.response()))
    assert server.pong_received


def test_a_message_over_the_limit_is_closed_1009() -> None:
    server, client = _connected(limit=10)
    client.receive_data(server.receive(client.send(TextMessage("x" * 11))))
    (event,) = client.events()
    assert isinstance(event, CloseConnection) and event.code == 1009
    assert server.too_big and not server.connected and server.messages == []


def test_the_clients_close_is_answered_and_its_code_kept() -> None:
    server, client = _connected()
    client.receive_data(server.receive(client.send(CloseConnection(1001))))
    (event,) = client.events()
    assert isinstance(event, CloseConnection) and event.code == 1001
    assert server.close_code == 1001 and not server.connected
    assert server.close(1000) == b""  # closed already: nothing more to send


def test_our_close_waits_for_the_clients_answer() -> None:
    server, client = _connected()
    client.receive_data(server.close(1008, "bye"))
    (event,) = client.events()
    assert isinstance(event, CloseConnection) and event.code == 1008
    assert server.closing
    assert server.receive(client.send(event.response())) == b""  # taken while lingering
    assert not server.closing


def test_a_request_that_is_no_handshake_is_refused() -> None:
    with pytest.raises(Exception):  # noqa: B017 - wsproto's own error, or ours
        ServerProtocol(1024).handshake({"HTTP_HOST": "example.test"})
