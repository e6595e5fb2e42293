"""The core: sessions and their tabs, pages and the router, the batch of an
event's changes and the hub that pushes them, and the dispatcher that runs a
client's events.

Modules here import only downward (widgets, store, transport, ground) and
never the App: what they need of it, the App hands them.
"""
