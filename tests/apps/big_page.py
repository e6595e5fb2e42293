"""A page whose full render is large (~600 KB): what a resync flood multiplies."""

import stgo

app = stgo.App(title="Big page", send_timeout=3.0, ping_interval=1.0, metrics=True)
for i in range(6):
    app.text(f"block {i}: " + "x" * 100_000, key=f"block{i}")
