"""Long jobs, the stgo way: Streamlit's plotting and animation demos done with tasks.

Each page starts its job as a task (``session.run_task``) when a tab opens
it: the job runs on a thread of its own, its changes reach the page as they
happen, and the page stays usable meanwhile.  Both jobs use the key ``"job"``,
so starting one cancels the other; moving a slider restarts the animation the
same way; a job also stops when its tab leaves the page.

Run it with ``python -m stgo run examples/jobs.py``.
"""

import cmath
import os
import random
import time

import stgo

STEP_DELAY = float(os.environ.get("JOBS_STEP_DELAY", "0.05"))  # seconds per plotting step
FRAME_DELAY = float(os.environ.get("JOBS_FRAME_DELAY", "0"))  # seconds between frames

app = stgo.App(title="Jobs")
app.navigation()
app.title("Jobs")
app.markdown("Two demos of long work done by **tasks**: open one.")
app.page_link("/plotting", label="Plotting demo", icon="📈")
app.page_link("/animation", label="Animation demo", icon="🌀")


# -- "/plotting": a progress bar over a growing line chart ------------------------------
plotting = app.page("/plotting", title="Plotting demo", icon="📈")
plotting.title("Plotting demo")
plotting.caption("A random walk drawn 5 points at a time, with its progress.")


@plotting.on_open
def start_plotting(session, tab):
    box = plotting.private(session)
    box.clear()
    status = box.text("0% complete")
    bar = box.progress(0)
    chart = box.line_chart([{"step": 0, "value": 0.0}], x="step", y="value", height=300)
    box.button("Re-run", on_click=lambda s, event, value: start_plotting(s, tab))
    session.run_task(plot, bar, status, chart, tab, key="job")


def plot(task, bar, status, chart, tab):
    step, value = 0, 0.0
    for percent in range(1, 101):
        if task.cancelled or tab.path != "/plotting":
            return  # restarted, or the tab left the page
        rows = []
        for _ in range(5):
            step, value = step + 1, value + random.gauss(0, 1)
            rows.append({"step": step, "value": value})
        chart.add_rows(rows)
        status.set_text(f"{percent}% complete")
        bar.set_progress(percent)
        time.sleep(STEP_DELAY)  # the work of one step
    status.set_text("Done")


# -- "/animation": frames of a Julia set, restarted when a slider moves -----------------
animation = app.page("/animation", title="Animation demo", icon="🌀")
animation.title("Animation demo")
iterations = animation.slider("Number of iterations", 2, 20, 10, key="iterations")
separation = animation.slider("Separation", 0.7, 2.0, 0.79, step=0.01, key="separation")
SHADES = " .:-=+*#%@"


@animation.on_open
def start_animation(session, tab):
    box = animation.private(session)
    box.clear()
    bar = box.progress(0, "Frame 0")
    frame = box.code("")
    session.run_task(animate, bar, frame, tab, session.get("iterations", 10),
                     session.get("separation", 0.79), key="job")


@iterations.on_change
@separation.on_change
def restart(session, event, value):
    start_animation(session, session.tab)  # the same key: the running job is cancelled


def animate(task, bar, frame, tab, max_iter, sep, frames=100):
    for n in range(frames):
        if task.cancelled or tab.path != "/animation":
            return
        c = sep * cmath.exp(2j * cmath.pi * n / frames)
        frame.set_text(julia(c, max_iter))
        bar.set_progress(n + 1, f"Frame {n + 1}")
        time.sleep(FRAME_DELAY)
    bar.set_progress(100, "Done")


def julia(c, max_iter, width=64, height=24):
    """The Julia set of *c* as text, one character per point."""
    lines = []
    for row in range(height):
        line = []
        for col in range(width):
            z = complex(3.0 * col / width - 1.5, 2.0 * row / height - 1.0)
            n = 0
            while abs(z) < 2 and n < max_iter:
                z, n = z * z + c, n + 1
            line.append(SHADES[n * (len(SHADES) - 1) // max_iter])
        lines.append("".join(line))
    return "\n".join(lines)
