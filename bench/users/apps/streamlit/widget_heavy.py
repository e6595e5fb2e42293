"""``widget_heavy`` in Streamlit: 100 widgets of six kinds; a click names the button."""

import streamlit as st

st.title("Widget heavy")
last = st.session_state.get("last", "none")
for i in range(20):
    if st.button(f"Button {i}", key=f"b{i}"):
        last = st.session_state.last = str(i)
for i in range(20):
    st.checkbox(f"Check {i}", key=f"c{i}")
for i in range(20):
    st.slider(f"Slider {i}", 0, 100, 50, key=f"s{i}")
for i in range(20):
    st.number_input(f"Number {i}", value=i, key=f"n{i}")
for i in range(10):
    st.selectbox(f"Select {i}", ["a", "b", "c"], key=f"sel{i}")
for i in range(10):
    st.text_input(f"Text {i}", "x", key=f"t{i}")
st.write(f"Clicked: {last}")
