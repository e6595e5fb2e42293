"""``simple`` in Streamlit: a title, a button and the user's own counter."""

import streamlit as st

st.title("Simple")
if "n" not in st.session_state:
    st.session_state.n = 0
if st.button("Increment"):
    st.session_state.n += 1
st.write(f"Count: {st.session_state.n}")
