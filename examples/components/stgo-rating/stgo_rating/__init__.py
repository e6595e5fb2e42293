"""A star rating widget for stgo (an example of a third-party component)."""

from __future__ import annotations

from typing import Any, ClassVar

import stgo

__all__ = ["Rating"]
__version__ = "1.0.0"


class Rating(stgo.Component):
    """A row of stars; its value is how many are lit (0 to *stars*).

    :param label: the accessible name of the star group.
    :param value: the starting rating.
    :param stars: how many stars (1 to 10).
    """

    module: ClassVar[str] = "rating.js"
    styles: ClassVar[tuple[str, ...]] = ("rating.css",)
    component_name: ClassVar[str] = "stgo-rating"
    value_type: ClassVar[type | tuple[type, ...] | None] = int

    def __init__(self, label: str, value: int = 0, *, stars: int = 5, **kwargs: Any) -> None:
        if isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 10:
            raise stgo.WidgetError(f"stars must be a whole number from 1 to 10, got {stars!r}")
        super().__init__(label, value, stars=stars, **kwargs)

    def validate(self, value: Any) -> Any:
        value = super().validate(value)
        top = self.props["stars"]
        if value is None or not 0 <= value <= top:
            raise ValueError(f"{self.label!r} is rated from 0 to {top} stars, not {value}")
        return value

    def empty_value(self) -> Any:
        return 0
