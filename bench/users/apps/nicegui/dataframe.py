"""``dataframe`` in NiceGUI: 10,000 rows in ``ui.table``, sorted by a header click and
paged by its pager (Quasar's own, in the browser: NiceGUI sends every row)."""

import os
import sys
from pathlib import Path

from nicegui import ui

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from data import PAGE, rows  # noqa: E402

ROWS = rows()
COLUMNS = [{"name": "id", "label": "id", "field": "id"},
           {"name": "value", "label": "value", "field": "value", "sortable": True}]


@ui.page("/")
def index():
    ui.label("Dataframe").classes("text-h4")
    ui.table(columns=COLUMNS, rows=ROWS, row_key="id", pagination=PAGE)


ui.run(port=int(os.environ["PORT"]), host="127.0.0.1", reload=False, show=False)
