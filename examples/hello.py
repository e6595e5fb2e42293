"""A first stgo app: a private counter per browser and a live total for everybody."""

import stgo

app = stgo.App(title="Hello, stgo")
app.title("Hello, stgo")
app.text("Every browser gets its own session. Click, then open a second browser.")
total = app.text("Clicks by everyone: 0")
button = app.button("Increment", key="increment")
clicks = {"total": 0}


@app.on_session_start
def setup(session):
    session.set("mine", 0)
    session.text("You clicked 0 times", key="mine_text")
    session.text_input("Your name", key="name")


@button.on_click
def clicked(session, event, value):
    mine = session.increment("mine")
    session.widget("mine_text").set_text(f"You clicked {mine} times")
    with app.batch():
        clicks["total"] += 1
        total.set_text(f"Clicks by everyone: {clicks['total']}")
