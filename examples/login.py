"""Sign-in with OpenID Connect: stgo.OIDC, a page for signed-in users, and
notes that follow the person (``session.user_state``) to every device.

Try it with a local test provider (its form takes any user name)::

    pip install 'stgo[auth]' oidc-provider-mock
    python -m oidc_provider_mock &          # on http://127.0.0.1:9400
    python -m stgo run examples/login.py

With a real provider set ``OIDC_ISSUER``, ``OIDC_CLIENT_ID`` and
``STGO_OIDC_CLIENT_SECRET``, and register ``<this app's URL>auth/callback``
as its redirect URI (docs/auth.md).

Signing in and out gives the session a new ID (an ID seen before is
worthless after), and ``session_page`` draws the session anew for who it is.
The provider's tokens never reach the browser: the session knows the user,
the browser only its cookie.
"""

import os

import stgo

app = stgo.App(
    title="Login",
    auth=stgo.OIDC(
        issuer=os.environ.get("OIDC_ISSUER", "http://127.0.0.1:9400"),
        client_id=os.environ.get("OIDC_CLIENT_ID", "stgo-demo"),
        # The demo provider takes any secret; a real one's comes from the environment.
        client_secret=os.environ.get("STGO_OIDC_CLIENT_SECRET", "demo-secret"),
    ),
    login_max_age=8 * 3600,  # sign in again after a working day
)
app.title("Sign in")
app.login_button("Sign in")
app.logout_button("Sign out")
app.logout_button("Sign out everywhere", everywhere=True)
signed_in = app.metric("Signed in now", 0, key="signed_in")

account = app.page("/account", title="Your account", access=stgo.signed_in)
account.text("Only signed-in people see this page.")
app.page_link("/account", "Your account")


@app.on_login
def came(session, user):
    signed_in.increment()  # atomic, on every process


@app.on_logout
def left(session, user, reason):
    """Runs once per sign-in however it ends: sign-out, everywhere, expired, ended."""
    signed_in.increment(-1)


@app.session_page
def draw(session):
    """This session's private page, from who is signed in and their state."""
    user = session.user
    if user is None:
        session.text("You are not signed in.", key="greeting")
        return
    session.subheader(f"Welcome, {user.name or user.id}!", key="greeting")
    notes = session.user_state.get("notes", "")
    session.text(f"Your notes (on every device): {notes or '(none)'}", key="saved")
    session.text_input("Notes", key="draft", max_chars=500)
    session.button("Save to my account", key="save", on_click=save)


def save(session, event, value):
    # The person's state: their other sessions are drawn anew, live.
    session.user_state.set("notes", session.get("draft", ""))
    session.widget("saved").set_text(
        f"Your notes (on every device): {session.user_state.get('notes') or '(none)'}")
