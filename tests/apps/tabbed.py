"""An app for the per-tab value tests (issue 26): a region kept per browser
tab (``scope="tab"``), a filter kept in the tab's URL (``bind="query"``),
and a button whose handler shows what ``session.get`` reads in its event.

``STGO_TEST_SHOW_PID=1`` adds a text naming the serving process.
"""

import os

import stgo

REGIONS = ["all", "north", "south", "east", "west"]

app = stgo.App(title="Tabbed", new_session_rate=None, event_rate=None)
app.selectbox("Region", REGIONS, key="region", scope="tab")
app.selectbox("Filter", REGIONS, key="f", bind="query")
button = app.button("Report", key="report")


class ServingPid(stgo.Text):
    """The pid of the process that draws it, at each draw."""

    def render_body(self, state):
        return f"<p>served by pid {os.getpid()}</p>"


if os.environ.get("STGO_TEST_SHOW_PID"):
    app.add_widget(ServingPid())


@app.session_page
def draw(session):
    session.text("", key="said")


@button.on_click
def report(session, event, value):
    said = f"region={session.get('region')} f={session.get('f')}"
    session.widget("said").set_text(said)
