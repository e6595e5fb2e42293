"""A password login form, a per-session identity, and ID rotation on login and
logout: the login example before stgo.OIDC (examples/login.py now), kept for
the rotation tests (tests/browser/test_rotation.py, tests/test_examples.py).

Demo accounts: ``alice`` / ``wonderland`` and ``bob`` / ``builder``.

Who is signed in is session state (``session.get("user")``), so it lives on
the server, survives a page refresh, and is invisible to other browsers.
Logging in and logging out each give the session a new ID
(``app.rotate_session``): an ID someone planted or saw before the change is
worthless after it, while the tab, its state and its widgets carry on.  Logging
out clears the identity and the private notes and shows the form again.

Wrong passwords are counted per client address, not per session: a new
session costs nothing, so a per-session limit would stop nobody.
"""

import hashlib
import hmac
import os
import threading
import time

import stgo

MAX_ATTEMPTS = 5
#: Seconds over which an address's failed logins are counted.
ATTEMPT_WINDOW = 15 * 60
_ITERATIONS = 50_000


def _hash(password, salt):
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _ITERATIONS)


# Demo only: real credentials belong in a database, hashed like this.
_SALT = os.urandom(16)
USERS = {name: _hash(pw, _SALT) for name, pw in {"alice": "wonderland", "bob": "builder"}.items()}

app = stgo.App(title="Login")
app.title("Sign in")
app.caption("Demo accounts: alice / wonderland, bob / builder")
signed_in = app.metric("Signed in now", 0, key="signed_in")


class Attempts:
    """Failed logins per client address, within a sliding window (thread-safe)."""

    def __init__(self, limit, window, clock=time.monotonic):
        self.limit, self.window, self.clock = limit, window, clock
        self._lock = threading.Lock()
        self._failures = {}  # address -> times of its recent failures

    def _recent(self, address, now):
        # Called with the lock held.
        times = [t for t in self._failures.get(address, ()) if now - t < self.window]
        if times:
            self._failures[address] = times
        else:
            self._failures.pop(address, None)
        return times

    def blocked(self, address):
        with self._lock:
            return len(self._recent(address, self.clock())) >= self.limit

    def fail(self, address):
        """Count a failure; return how many *address* has in the window."""
        with self._lock:
            now = self.clock()
            for other in list(self._failures):  # forget the stale ones
                self._recent(other, now)
            times = self._failures.setdefault(address, [])
            times.append(now)
            return len(times)


attempts = Attempts(MAX_ATTEMPTS, ATTEMPT_WINDOW)


def check(username, password):
    """Whether *password* is *username*'s (in constant time)."""
    expected = USERS.get(username)
    given = _hash(password, _SALT)
    return expected is not None and hmac.compare_digest(expected, given)


@app.session_page
def draw(session):
    """This session's private page, from its state alone: the form when
    signed out, the account when signed in.  stgo calls it for a new session
    and whenever a process must draw a session it does not hold (after a
    restart with ``--store redis://...``)."""
    if session.get("user") is None:
        show_login_form(session)
    else:
        show_account(session)


def show_login_form(session):
    """The signed-out page: a new session, or one that just logged out."""
    form = session.container(border=True, key="login_form")
    form.text_input("Username", key="username", max_chars=64)
    form.text_input("Password", key="password", password=True, max_chars=256)
    form.button("Log in", key="login", type="primary", on_click=log_in)
    form.error("", key="login_error", visible=False)


def lock_form(session):
    button = session.widget("login")
    button.disabled = True
    button.changed()  # push the redraw
    error = session.widget("login_error")
    error.set_text("Too many tries from your network: try again in a while.")
    error.show()


def log_in(session, event, value):
    address = app.client_address(session) or "unknown"
    if attempts.blocked(address):
        # Checked before the password: a disabled button can still be
        # "clicked" by a hand-made message, and a new session changes nothing.
        session.set("password", "")
        lock_form(session)
        return
    username = session.get("username", "").strip()
    ok = check(username, session.get("password", ""))
    session.set("password", "")  # never keep a password in session state
    if not ok:
        failures = attempts.fail(address)
        error = session.widget("login_error")
        error.set_text(f"Wrong username or password ({failures} of {MAX_ATTEMPTS} tries).")
        error.show()
        if failures >= MAX_ATTEMPTS:
            lock_form(session)
        return
    session.set("user", username)
    # A new ID with the new privilege: one planted before login (session
    # fixation) is now worthless.  The browser gets its new cookie by itself.
    app.rotate_session(session)
    signed_in.increment()  # atomic
    session.remove_widget("login_form")
    show_account(session)


def show_account(session):
    account = session.container(border=True, key="account")
    account.subheader(f"Welcome, {session.get('user')}!", key="welcome")
    account.text("Only this browser is signed in as you.")
    account.text_area("Private notes (kept in your session)", key="notes")
    account.button("Log out", key="logout", on_click=log_out)


def log_out(session, event, value):
    # Forget who it was (and their notes), show the form again, and rotate:
    # the signed-in ID is dead even if someone copied it.
    for key in ("user", "username", "notes"):
        session.delete(key)
    session.remove_widget("account")
    show_login_form(session)
    app.rotate_session(session)
    signed_in.increment(-1)


@app.on_session_end
def forget(session, reason):
    """Runs once however the session ends (timeout, shutdown); logout does not end it."""
    if session.get("user") is not None:
        signed_in.increment(-1)
