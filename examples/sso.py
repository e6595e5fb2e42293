"""Behind an authenticating proxy (oauth2-proxy, an identity-aware load
balancer): the proxy signs people in and names them in a header; stgo trusts
it only with ``trust_proxy=True``, and only the proxy may reach the app.

Try it without a proxy (pretend to be one)::

    python -m stgo run examples/sso.py
    curl -H 'X-Forwarded-User: alice' -H 'X-Forwarded-Email: alice@example.com' \\
        http://127.0.0.1:8501/

docs/auth.md shows an oauth2-proxy set-up.
"""

import stgo

app = stgo.App(
    title="Team board",
    auth=stgo.ProxyAuth(user_header="X-Forwarded-User", email_header="X-Forwarded-Email"),
    trust_proxy=True,  # the proxy is the only way in, and sets these headers itself
)
app.title("Team board")
visits = app.metric("Visits by signed-in people", 0, key="visits")


@app.on_login
def counted(session, user):
    visits.increment()
    # The person's own count, kept across their devices (never written from
    # session_page: a write there would redraw their other sessions, which
    # would write again).
    session.user_state.increment("visits")


@app.session_page
def draw(session):
    user = session.user
    if user is None:
        session.text("You are not signed in: open this app through the company's proxy.",
                     key="who")
        return
    session.text(f"Hello {user.id} ({user.email or 'no e-mail'})", key="who")
    session.text(f"Your sign-ins, on any device: {session.user_state.get('visits', 0)}",
                 key="mine")
