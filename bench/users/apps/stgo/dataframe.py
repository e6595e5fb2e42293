"""``dataframe`` in stgo: 10,000 rows, sorted by a header click and paged by the pager
(both stgo's own: each session has its own order and page)."""

import sys
from pathlib import Path

import stgo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from data import PAGE, rows  # noqa: E402

app = stgo.App(title="Dataframe", max_connections_per_address=None, new_session_rate=None)
app.title("Dataframe")
app.dataframe(rows(), page_size=PAGE, key="table")
