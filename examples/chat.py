"""A multi-user chat room: one global message list, a name per session.

The inputs and the button are global widgets, yet each browser types its own
name and message: an input's value lives in the session's state under the
input's key (``session.get("name")``).  A sent message is a new global widget,
pushed to every open tab.
"""

import secrets
import threading
import time

import stgo

HISTORY = 50  # messages kept on the page

app = stgo.App(title="Chat")
app.title("Chat room")
people = app.sidebar.metric("People here", 0, key="people")
app.sidebar.caption("Open this page in another browser to chat with yourself.")
messages = app.container(border=True, key="messages")
messages.caption("No messages yet. Say hello!", key="empty")
name = app.text_input("Your name", key="name", max_chars=40)
message = app.text_input("Message", key="message", max_chars=500,
                         placeholder="Type, then click Send")
send = app.button("Send", key="send", type="primary")
# Appending and trimming the history must not interleave between senders.
_history_lock = threading.Lock()


@app.on_session_start
def arrive(session):
    session.set("name", f"guest-{secrets.randbelow(10_000):04d}")
    people.increment()


@app.on_session_end
def leave(session, reason):
    people.increment(-1)


@send.on_click
def post(session, event, value):
    text = session.get("message", "").strip()
    if not text:
        return
    author = session.get("name", "").strip() or "anonymous"
    with _history_lock, app.batch():
        app.remove_widget("empty")  # the placeholder, if still there
        messages.text(f"[{time.strftime('%H:%M')}] {author}: {text}")
        for old in messages.children[:-HISTORY]:
            messages.remove_child(old)
    session.set("message", "")  # clears this user's field, nobody else's
