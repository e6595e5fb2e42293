"""Upload a CSV, see a summary of it, download the summary: files in and out.

Each user's upload is their own: it lives in their session (``session.get("csv")``)
and in a temporary directory of their session, removed when they replace or
remove the file or when the session ends.  The download is made when the
button is clicked, from that user's own upload.
"""

import csv
import io

import stgo

app = stgo.App(title="Files")
app.title("Files")
app.caption("Upload a CSV file: each numeric column is summed; download the summary.")
upload = app.file_uploader("Upload a CSV", type=["csv"], max_size=5_000_000, key="csv")


def summarise(data):
    """Rows and column sums of CSV *data* (bytes), as a list of dicts."""
    reader = csv.DictReader(io.StringIO(data.decode("utf-8", "replace")))
    sums, count = {}, 0
    for row in reader:
        count += 1
        for name, text in row.items():
            try:
                sums[name] = sums.get(name, 0) + float(text)
            except (TypeError, ValueError):
                sums.setdefault(name, None)
    return count, [{"column": name, "sum": total} for name, total in sums.items()]


def summary_csv(session):
    """The summary of this user's upload, as CSV text (made at click time)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, ["column", "sum"])
    writer.writeheader()
    writer.writerows(session.get("summary", []))
    return out.getvalue()


@app.on_session_start
def setup(session):
    session.text("No file yet.", key="status")
    session.dataframe([], key="summary_table")
    session.download_button("Download the summary", data=summary_csv,
                            file_name="summary.csv", mime="text/csv", key="download",
                            disabled=True)


@upload.on_change
def uploaded(session, event, value):
    if value is None:
        session.set("summary", [])
        session.widget("status").set_text("No file yet.")
        session.widget("summary_table").set_data([])
        session.widget("download").set_disabled(True)
        return
    rows, summary = summarise(value.getvalue())
    session.set("summary", summary)
    session.widget("status").set_text(f"{value.name}: {rows} rows, {value.size} bytes")
    session.widget("summary_table").set_data(summary)
    session.widget("download").set_disabled(False)
