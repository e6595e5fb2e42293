"""An app for the sign-in tests across processes: OIDC against the provider
named by ``STGO_TEST_ISSUER``; ``STGO_TEST_MAX_AGE`` sets ``login_max_age``.

Its session page shows who is signed in and their ``user_state`` theme; the
"Dark" button sets that theme in the user's state (all their sessions).
"""

import os

import stgo

_kwargs = {}
if os.environ.get("STGO_TEST_MAX_AGE"):
    _kwargs["login_max_age"] = float(os.environ["STGO_TEST_MAX_AGE"])

app = stgo.App(title="Auth cluster", new_session_rate=None, event_rate=None,
               auth=stgo.OIDC(issuer=os.environ["STGO_TEST_ISSUER"], client_id="stgo-test",
                              client_secret="s3cret"), **_kwargs)
app.login_button("Sign in", key="signin")
app.logout_button("Sign out everywhere", everywhere=True, key="signout")
reports = app.page("/reports", title="Reports", access=stgo.signed_in)
reports.text("the secret reports", key="secret")


def dark(session, event, value):
    session.user_state.set("theme", "dark")


@app.session_page
def draw(session):
    user = session.user
    if user is None:
        session.text("user: anonymous", key="who")
        return
    session.text(f"user: {user.id}", key="who")
    session.text(f"theme: {session.user_state.get('theme', 'light')}", key="theme")
    session.button("Dark", key="dark", on_click=dark)
