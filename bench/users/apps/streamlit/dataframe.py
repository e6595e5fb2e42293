"""``dataframe`` in Streamlit: 10,000 rows, sorted and paged by buttons, one page
shown as a table (``st.dataframe`` draws on a canvas that a DOM check cannot
read, and its sorting is client-side: the buttons make Streamlit do the work)."""

import sys
from pathlib import Path

import pandas as pd
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from data import PAGE, rows  # noqa: E402


@st.cache_data
def frame():
    return pd.DataFrame(rows())


st.title("Dataframe")
df = frame()
state = st.session_state
state.setdefault("sorted", False)
state.setdefault("page", 0)
if st.button("Sort by value"):
    state.sorted, state.page = True, 0
if st.button("Next page"):
    state.page += 1
view = df.sort_values("value") if state.sorted else df
first = state.page * PAGE
st.table(view.iloc[first:first + PAGE])
