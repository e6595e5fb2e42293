"""``live`` in Streamlit: a value pushed to every user twice a second (a fragment
that reruns itself; the counter is shared, like stgo's and NiceGUI's)."""

import itertools

import streamlit as st


@st.cache_resource
def ticks():
    return itertools.count(1)


st.title("Live")


@st.fragment(run_every=0.5)
def live():
    st.write(f"Tick {next(ticks())}")


live()
