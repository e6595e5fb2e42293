"""A 50-widget page for the page-load benchmark: the common widgets, mixed."""

import stgo

app = stgo.App(title="Fifty widgets")
app.title("Fifty widgets")                                      # 1
app.header("Text", divider=True)                                # 2
for i in range(8):                                              # 10
    app.text(f"Paragraph {i}: some plain text, escaped <on the way> & out.")
app.markdown("**Markdown** with a [link](https://example.com) and `code`.")   # 11
app.caption("A caption")                                        # 12
app.code("def f(x):\n    return x * 2\n", "python")              # 13
app.header("Inputs", divider=True)                              # 14
for i in range(6):                                              # 20
    app.text_input(f"Name {i}", key=f"name{i}")
for i in range(4):                                              # 24
    app.number_input(f"Amount {i}", 1, min_value=0, max_value=100, key=f"amount{i}")
for i in range(4):                                              # 28
    app.slider(f"Level {i}", 0, 10, 5, key=f"level{i}")
for i in range(4):                                              # 32
    app.checkbox(f"Option {i}", key=f"option{i}")
app.selectbox("Colour", ["red", "green", "blue"], key="colour")  # 33
app.radio("Size", ["S", "M", "L"], key="size")                  # 34
for i in range(4):                                              # 38
    app.button(f"Action {i}", key=f"action{i}")
app.header("Data", divider=True)                                # 39
app.table([{"name": f"row {i}", "value": i} for i in range(5)])  # 40
for i in range(4):                                              # 44
    app.metric(f"Metric {i}", i * 10, delta=i - 1, key=f"metric{i}")
app.progress(40, "Working")                                     # 45
app.info("Information")                                         # 46
app.success("Done")                                             # 47
app.warning("Careful")                                          # 48
app.error("Failed")                                             # 49
app.json({"a": 1, "b": [1, 2, 3]})                              # 50
