"""``widget_heavy`` in stgo: 100 widgets of six kinds; a click names the button."""

import stgo

app = stgo.App(title="Widget heavy", max_connections_per_address=None, new_session_rate=None)
app.title("Widget heavy")
buttons = [app.button(f"Button {i}", key=f"b{i}") for i in range(20)]
for i in range(20):
    app.checkbox(f"Check {i}", key=f"c{i}")
for i in range(20):
    app.slider(f"Slider {i}", 0, 100, 50, key=f"s{i}")
for i in range(20):
    app.number_input(f"Number {i}", value=i, key=f"n{i}")
for i in range(10):
    app.selectbox(f"Select {i}", ["a", "b", "c"], key=f"sel{i}")
for i in range(10):
    app.text_input(f"Text {i}", "x", key=f"t{i}")


@app.session_page  # drawn from state by whichever process serves the tab
def page(session):
    session.text(f"Clicked: {session.get('last', 'none')}", key="last")


def _on(i):
    def clicked(session, event, value):
        session.set("last", i)
        session.widget("last").set_text(f"Clicked: {i}")
    return clicked


for i, b in enumerate(buttons):
    b.on_click(_on(i))
