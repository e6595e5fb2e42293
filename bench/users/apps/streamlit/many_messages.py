"""``many_messages`` in Streamlit: a click writes 200 lines of text."""

import streamlit as st

st.title("Many messages")
if st.button("Go"):
    for i in range(1, 201):
        st.write(f"Message {i}")
