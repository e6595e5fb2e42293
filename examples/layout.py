"""Layout and data: sidebar, columns, containers, expander, tabs, tables, dataframes.

Everything above "Your view" is global; the sidebar's inputs are global too,
but each browser picks its own values, and the text under "Your view" (a
session widget) follows them.
"""

import stgo

CITIES = {
    "city": ["Lisbon", "Oslo", "Nairobi", "Lima", "Hanoi", "Perth"],
    "country": ["Portugal", "Norway", "Kenya", "Peru", "Vietnam", "Australia"],
    "population_k": [545, 709, 4397, 10092, 8054, 2192],
    "sunny_days": [260, 130, 220, 150, 180, 265],
}

app = stgo.App(title="Layout")

# -- sidebar ---------------------------------------------------------------------------
app.sidebar.header("Options")
city = app.sidebar.selectbox("City", CITIES["city"], key="city")
unit = app.sidebar.radio("Temperature unit", ["Celsius", "Fahrenheit"], key="unit")
rows = app.sidebar.slider("Rows in the dataframe", 1, len(CITIES["city"]), 3, key="rows")

# -- main area ---------------------------------------------------------------------------
app.title("Layout and data")
wide, narrow = app.columns([2, 1], gap="medium")
wide.header("Columns")
wide.text("Columns take a count, or relative widths: this one is twice as wide.")
narrow.metric("Cities", len(CITIES["city"]), key="cities")
a, b, c = app.columns(3, border=True)
a.metric("Largest", "Lima", key="largest")
b.metric("Sunniest", "Perth", delta="265 days", key="sunniest")
c.metric("Coldest", "Oslo", delta="-4 °C", delta_color="off", key="coldest")

with app.container(border=True) as box:
    box.subheader("A bordered container")
    box.info("Containers group widgets; the factory methods work on them too.")

with app.expander("How this page is built") as more:
    more.code('wide, narrow = app.columns([2, 1])\nwide.text("...")', language="python")
    more.markdown("Opening and closing an expander happens in the browser.")

table_tab, frame_tab, json_tab = app.tabs(["Table", "Dataframe", "JSON"])
table_tab.table(CITIES, key="table")
frame_tab.dataframe(CITIES, height=240, key="frame")
frame_tab.caption("A dataframe scrolls under a fixed header; it also takes pandas objects.")
json_tab.json({"columns": list(CITIES), "rows": len(CITIES["city"])}, key="json")

app.header("Your view", divider=True)


@app.on_session_start
def setup(session):
    session.text("", key="choice")
    session.dataframe(None, key="my_rows", height=240)
    describe(session)


def describe(session):
    name = session.get("city", city.default)
    i = CITIES["city"].index(name)
    pop = CITIES["population_k"][i]
    session.widget("choice").set_text(
        f"{name}, {CITIES['country'][i]}: {pop:,} thousand people; you read temperatures in "
        f"{session.get('unit', unit.default)}."
    )
    count = session.get("rows", rows.default)
    session.widget("my_rows").set_data({k: v[:count] for k, v in CITIES.items()})


@city.on_change
@unit.on_change
@rows.on_change
def changed(session, event, value):
    describe(session)
