"""The web layer: what stgo answers over HTTP, below the App.

- :mod:`~stgo.web.endpoints`: the routes (a :class:`werkzeug.routing.Map`) and their views;
- :mod:`~stgo.web.hosts`: host, scheme, prefix and address, through a trusted proxy;
- :mod:`~stgo.web.cookies`: the session cookie;
- :mod:`~stgo.web.refusals`: refused requests, counted and logged once;
- :mod:`~stgo.web.assets`: static files and the plotly bundle;
- :mod:`~stgo.web.health`: ``/health``;
- :mod:`~stgo.web.upgrade`: the ``/ws`` upgrade and the connection it starts;
- :mod:`~stgo.web.page`: the HTML shell of a page;
- :mod:`~stgo.web.transfers`: uploads and downloads.

Nothing here imports the App: it hands the endpoints what they need (small
protocols it satisfies, and its parts), as the composition root.
"""
