"""Sales by region, one view per browser tab: open it in two tabs, pick
another region in each, reload either: each tab keeps its own.

- ``Region`` is kept in the tab's URL (``bind="query"``): ``/?region=north``
  opens on the north, and a link to it shares the view.
- ``Unit`` is kept per tab (``scope="tab"``): not in the URL, but a reload of
  the tab keeps it, and another tab has its own.
- ``layout="wide"`` uses the window's width; the ``/details`` page has a
  sidebar of its own beside the App's; ``@app.on_open`` works out each
  tab's figure when it opens ``/``.

Run it with ``python -m stgo run examples/regions.py``.
"""

from typing import Any

import stgo

SALES = {"north": 120, "south": 80, "east": 95, "west": 60}
REGIONS = ["all", *SALES]

app = stgo.App(title="Regions", layout="wide")
app.navigation()
app.sidebar.caption("Each tab keeps its own region and unit.")

app.title("Sales by region")
region = app.selectbox("Region", REGIONS, key="region", bind="query")
unit = app.radio("Unit", ["units", "dozens"], key="unit", scope="tab")
# Read-only, and per tab too: what this tab's region and unit make of the sales.
answer = app.text_input("Sold", key="sold", scope="tab", disabled=True)


def sold(session: stgo.Session) -> str:
    """The sales of this tab's region, in this tab's unit."""
    chosen = session.get("region") or "all"
    n = sum(SALES.values()) if chosen == "all" else SALES[chosen]
    amount = f"{n / 12:.1f} dozen" if session.get("unit") == "dozens" else f"{n} units"
    return f"{chosen}: {amount}"


@region.on_change
@unit.on_change
def chosen(session: stgo.Session, event: str, value: Any) -> None:
    # Inside the event: this tab's values, whatever the other tabs chose.
    session.set("sold", sold(session))


@app.on_open
def opened(session: stgo.Session, tab: Any) -> None:
    """Each time a tab opens "/" (a load, a link, the back button): its URL
    may name a region."""
    session.set("sold", sold(session))


details = app.page("/details", title="Details")
details.title("Details")
details.table([{"region": r, "sold": n} for r, n in SALES.items()])
details.sidebar.selectbox("Sort by", ["region", "sold"], key="sort_by", scope="tab")
