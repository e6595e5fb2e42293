"""What ``--reload`` must keep: a private page drawn from session state, a
keyed global metric and ``app.state`` (tests copy this file and edit EDIT)."""

import stgo

EDIT = "first"
app = stgo.App(title=f"Signin {EDIT}")
total = app.metric("Sign-ins", 0, key="total")


def sign_in(session, event, value):
    total.increment()
    app.state.set("sign_ins", app.state.get("sign_ins", 0) + 1)
    session.set("x", 42)
    session.remove_widget("shown")
    draw(session)


app.button("Sign in", key="sign_in", on_click=sign_in)


@app.session_page
def draw(session):
    session.text(f"{EDIT}: x={session.get('x')}, sign-ins {app.state.get('sign_ins', 0)}",
                 key="shown")
