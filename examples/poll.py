"""A live lunch poll: vote in a form, see your own vote right under it, results for all.

Shows a form (nothing is sent until "Vote"), a session slot (your vote sits in
the shared layout, under the form, though only you see it), live shared
progress bars, a toast, and an admin popover whose reset asks in a dialog.
"""

import threading

import stgo

OPTIONS = ["Pizza", "Sushi", "Tacos", "Salad"]

app = stgo.App(title="Lunch poll")
app.title("Where shall we eat?")
ballot = app.form("ballot")
ballot.radio("Your choice", OPTIONS, index=None, key="choice")   # nothing chosen at first
ballot.text_input("Comment (optional)", key="comment", max_chars=80)
ballot.submit_button("Vote")
yours = app.session_slot("yours")               # right under the form, per session

app.header("Results")
bars = {option: app.progress(0, f"{option}: 0 votes", key=f"bar-{option}")
        for option in OPTIONS}
total = app.metric("Votes", 0, key="total")

with app.popover("Admin") as admin:
    reset = admin.button("Reset the poll", key="reset")
confirm = app.dialog("Reset every vote?", key="confirm")
confirm.text("Everybody's vote is forgotten.")
yes = confirm.button("Yes, reset", key="yes", type="primary")

lock = threading.Lock()
votes: dict[str, str] = {}                      # session id -> option


def show_results():
    with lock:
        counts = {option: 0 for option in OPTIONS}
        for option in votes.values():
            counts[option] += 1
        n = len(votes)
    with app.batch():                           # every bar moves in one push
        for option, count in counts.items():
            share = count / n if n else 0.0
            plural = "vote" if count == 1 else "votes"
            bars[option].set_progress(share, f"{option}: {count} {plural}")
        total.set_value(n)


@ballot.on_submit
def voted(session, values):
    if values["choice"] is None:
        session.toast("Pick a place first")
        return
    with lock:
        changed = session.id in votes
        votes[session.id] = values["choice"]
    box = yours.for_session(session)
    box.clear()
    box.success(f"You voted {values['choice']}" + (" (changed)" if changed else ""))
    if values["comment"]:
        box.caption(f"Your comment: {values['comment']}")
    session.toast("Thanks for voting!", icon="\U0001f5f3")
    show_results()


@reset.on_click
def ask_reset(session, event, value):
    confirm.open(session)


@yes.on_click
def do_reset(session, event, value):
    with lock:
        voters = set(votes)
        votes.clear()
    confirm.close(session)
    for other in app.sessions.ids():
        if other in voters:
            s = app.sessions.get(other)
            if s is not None:
                yours.clear_for(s)
    show_results()
    app.toast("The poll was reset")


@app.on_session_end
def forget(session, reason):
    with lock:
        had = votes.pop(session.id, None)
    if had is not None:
        show_results()
