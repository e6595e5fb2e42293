"""stgo.config: the App's options in one Settings object."""

from __future__ import annotations

import pytest

import stgo
from stgo.config import DEFAULT_CONTENT_SECURITY_POLICY, Settings


def test_app_keywords_land_in_its_settings_and_attributes_write_through() -> None:
    app = stgo.App("Shop", max_sessions=7, event_rate=None, metrics=True,
                   allowed_origins=["https://a.example/"])
    assert app.settings.title == app.page_title == "Shop"
    assert app.settings.max_sessions == app.max_sessions == 7
    assert app.event_rate is None and app.metrics_enabled is True
    assert app.allowed_origins == frozenset({"https://a.example"})
    assert app.content_security_policy == DEFAULT_CONTENT_SECURITY_POLICY
    app.show_error_details = True  # as `run --reload` does
    assert app.settings.show_error_details is True


@pytest.mark.parametrize("options, message", [
    ({"max_message_size": 1023}, "max_message_size"),
    ({"ping_interval": 0}, "ping_interval"),
    ({"max_queued_bytes": 10}, "max_queued_bytes"),
    ({"event_threads": 0}, "event_threads"),
])
def test_settings_refuse_options_out_of_range(options: dict[str, float], message: str) -> None:
    with pytest.raises(stgo.ConfigurationError, match=message):
        Settings(**options)  # type: ignore[arg-type]
    with pytest.raises(stgo.ConfigurationError, match=message):
        stgo.App(**options)  # type: ignore[arg-type]
