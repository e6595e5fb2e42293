"""The transport: WebSocket connections and the I/O loop that serves them.

- :mod:`~stgo.transport.wsio`: socket plumbing (the waker, taking a socket
  over, reading a client's common frames, writing text frames);
- :mod:`~stgo.transport.outbox`: one connection's bounded outbox, which
  merges waiting updates per widget (pure: no sockets, no threads);
- :mod:`~stgo.transport.wsproto_server`: one WebSocket's protocol state on
  wsproto's public API (handshake, pongs, closes, the size limit);
- :mod:`~stgo.transport.ws`: :class:`~stgo.transport.ws.Connection`, one
  WebSocket with its outbox;
- :mod:`~stgo.transport.ioloop`: the loop that waits on every connection
  (anything :class:`~stgo.transport.ioloop.Pollable`);
- :mod:`~stgo.transport.pool`: the threads that run events and lead the loop.

Nothing here imports the layers above (widgets, sessions, the hub, the App).
"""
