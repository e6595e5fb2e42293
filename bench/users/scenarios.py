"""The scenarios' visible contract: what a user waits for and what it clicks.

Every app of a scenario keeps it (the same texts in every framework), so one
driver measures them all. A target is a CSS selector and a text the element
contains; an expected text is matched against an element's own text (trimmed),
exactly, or as a prefix when it ends with ``*``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Step", "Scenario", "SCENARIOS", "FRAMEWORKS", "CONNECTED", "PASS_BAR"]

#: The frameworks, in the order of a round (the floor only where a scenario has one).
FRAMEWORKS = ("floor", "stgo", "streamlit", "nicegui")

#: In-page test for "the page can take a click" (its socket is open). Streamlit
#: draws the user's content only from its socket, so content visible is enough.
CONNECTED = {
    "floor": "window.floor && window.floor.connected",
    "stgo": "window.stgo && window.stgo.connected",
    "stgo-w2": "window.stgo && window.stgo.connected",
    "streamlit": "true",
    "nicegui": "window.socket && window.socket.connected",
}


@dataclass(frozen=True)
class Step:
    """One click and the text it makes visible."""

    target: str  # CSS selector of the element to click
    text: str  # ... the first visible one whose text contains this
    expect: str  # the text that shows the result


@dataclass(frozen=True)
class Scenario:
    """A scenario: the text of the user's own content, and its clicks per framework."""

    name: str
    ready: str
    steps: dict[str, tuple[Step, ...]] = field(default_factory=dict)
    live: bool = False  # no click: wait for pushed updates, time the gaps between them
    floor: bool = False  # has a floor server

    def steps_for(self, framework: str) -> tuple[Step, ...]:
        """The clicks of *framework* (``stgo-w2`` clicks like ``stgo``)."""
        base = "stgo" if framework == "stgo-w2" else framework
        return self.steps.get(base, self.steps.get("*", ()))


_inc = (Step("button", "Increment", "Count: 1"),)
SCENARIOS = {
    "simple": Scenario("simple", "Count: 0", {"*": _inc}, floor=True),
    "widget_heavy": Scenario("widget_heavy", "Clicked: none",
                             {"*": (Step("button", "Button 7", "Clicked: 7"),)}),
    "dataframe": Scenario("dataframe", "v01234", {
        "stgo": (Step("th", "value", "v00000"), Step("button", "Next", "v00100")),
        "nicegui": (Step("th", "value", "v00000"),
                    Step(".q-table__bottom button:not([disabled])", "chevron_right",
                         "v00100")),
        "streamlit": (Step("button", "Sort by value", "v00000"),
                      Step("button", "Next page", "v00100")),
    }),
    "many_messages": Scenario("many_messages", "Many messages",
                              {"*": (Step("button", "Go", "Message 200"),)}),
    "live": Scenario("live", "Tick *", live=True),
}

#: Streamlit's own load-test bar (e2e_playwright/load_testing): success rate,
#: P95 initial load (s), memory growth per 50 users (MB).
PASS_BAR = {
    "simple": (1.0, 5.0, 100.0),
    "*": (0.9, 10.0, 100.0),
}
