"""Many processes, one app: shared widgets' changes saved to a persistent
store (:mod:`~stgo.cluster.persist`) and told to the other processes
(:mod:`~stgo.cluster.relay`), whose changes to a session are redrawn here
(:mod:`~stgo.cluster.redraw`).

Modules here import the core and below, never the App.
"""
