"""The head-to-head apps: one per framework and scenario, doing the same visible work.

Each scenario's visible contract (the texts the driver waits for and the
targets it clicks) is in :mod:`bench.users.scenarios`; the apps must keep it.
"""
