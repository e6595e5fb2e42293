"""A private to-do list: one handler for every row, a form to add, a date per task.

Each row's buttons share one handler that learns its row from ``args=``
(or from ``event.widget``), instead of a closure per row.
"""

import itertools

import stgo

app = stgo.App(title="To-do")
app.title("To-do")
app.caption("Your list is yours alone; it lives in your session.")
numbers = itertools.count(1)


@app.on_session_start
def setup(session):
    add = session.form("add", clear_on_submit=True)
    add.text_input("Task", key="task", max_chars=100, placeholder="Buy milk")
    add.date_input("Due", key="due")
    add.multiselect("Tags", ["home", "work", "errand"], key="tags")
    add.submit_button("Add")
    add.on_submit(added)
    session.toggle("Hide done tasks", key="hide_done", on_change=refilter)
    session.container(key="rows")
    session.caption("Nothing to do yet.", key="empty")


def added(session, values):
    task = values["task"].strip()
    if not task:
        session.toast("Type a task first")
        return
    n = next(numbers)
    row = session.widget("rows").container(border=True, key=f"row-{n}")
    tags = " ".join(f"#{t}" for t in values["tags"])
    row.markdown(f"**{task}** \u2014 due {values['due']:%a %d %b} {tags}", key=f"text-{n}")
    row.checkbox("Done", key=f"done-{n}", on_change=finished, args=(n,))
    row.button("Delete", key=f"delete-{n}", on_click=delete)
    session.widget("empty").hide()


def finished(session, event, value, n):
    row = session.widget(f"row-{n}")
    row.visible = not (value and session.get("hide_done", False))
    session.toast(f"Task {n} " + ("done \u2714" if value else "reopened"))


def delete(session, event, value):
    n = event.widget.key.removeprefix("delete-")   # the row whose button was pressed
    session.remove_widget(f"row-{n}")
    if not session.widget("rows").children:
        session.widget("empty").show()


def refilter(session, event, value):
    for row in session.widget("rows").children:
        n = row.key.removeprefix("row-")
        row.visible = not (value and session.get(f"done-{n}", False))
