"""A small page with a button, for counting what open tabs cost."""

import stgo

# Rate limit on new sessions off: the test opens 200 from one address.
app = stgo.App(title="Small page", new_session_rate=None)
count = app.text("Clicks: 0", key="count")
button = app.button("Click", key="click")
clicks = [0]


@button.on_click
def clicked(session, event, value):
    clicks[0] += 1
    count.set_text(f"Clicks: {clicks[0]}")
