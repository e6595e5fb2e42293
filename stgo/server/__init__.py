"""stgo's own server: Werkzeug's threaded WSGI server, made fit to run for long.

Public: :class:`Server` and :func:`serve`; the submodules are internal.

- :mod:`~stgo.server.serving`: :class:`Server` and :func:`serve` (graceful stop);
- :mod:`~stgo.server.handler`: the :class:`RequestHandler` (timeouts, scrubbed logs);
- :mod:`~stgo.server.headgate`: request heads read on one thread, with a deadline;
- :mod:`~stgo.server.binding`: :func:`listen`, which every server binds through;
- :mod:`~stgo.server.reload` and :mod:`~stgo.server.devstore`: ``--reload``,
  sessions kept across restarts.

Nothing here imports the App; :meth:`App.run <stgo.App.run>` imports this
package inside the method, as Flask's ``run`` does.
"""

from .serving import Server, serve

__all__ = ["serve", "Server"]
