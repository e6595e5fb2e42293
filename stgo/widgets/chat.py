"""Chat: an input for messages and a container per message that can stream.

``chat = app.chat_input("Say something")`` sends a ``submit`` event with the
text when the user presses Enter or the send button (the field empties);
``@chat.on_submit`` handlers get ``(session, event, text)``.  A chat input is
drawn last in its container, under messages added after it: a container
holding one is a chat box that scrolls, with the input pinned at its bottom
(at the page's top level, the input stays at the bottom of the window).

``msg = container.chat_message("assistant")`` is a container drawn as one
message, with an avatar.  ``msg.write_stream(chunks)`` shows the chunks as
they come (an LLM's tokens): each one is pushed at once to every tab that
shows the message, even in the middle of a callback.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from ..errors import ProtocolError, WidgetError
from .base import Handler, StateReader, Widget, esc
from .layout import Container
from .text import Markdown

__all__ = ["ChatInput", "ChatMessage"]

_ROLES = ("user", "assistant")


class ChatInput(Widget):
    """A one-line message field with a send button.

    :param placeholder: grey hint shown while empty.
    :param max_chars: longest accepted message (10,000); ``None`` for no limit.
    :param disabled: shown but not usable.
    """

    kind: ClassVar[str] = "chat_input"
    events: ClassVar[tuple[str, ...]] = ("submit",)
    handler_params: ClassVar[dict[str, tuple[str, ...]]] = {
        "submit": ("session", "event", "text"),
    }

    def __init__(
        self, placeholder: str = "Your message", *, max_chars: int | None = 10_000,
        disabled: bool = False, on_submit: Handler | None = None,
        key: str | None = None, visible: bool = True,
    ) -> None:
        super().__init__(key=key, visible=visible)
        self.placeholder = placeholder
        self.label = placeholder
        self.max_chars = max_chars
        self.disabled = disabled
        if on_submit is not None:
            self.on_submit(on_submit)

    def on_submit(
        self, fn: Handler | None = None, *, args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        """Register ``fn(session, event, text)`` for sent messages; usable as a decorator."""
        return self._register("submit", fn, args, kwargs)

    def set_disabled(self, disabled: bool = True) -> None:
        """Make the field unusable (say, while an answer streams) or usable again."""
        self.disabled = bool(disabled)
        self.changed()

    def coerce(self, event: str, value: Any) -> Any:
        super().coerce(event, value)
        if self.disabled:
            raise ProtocolError(f"chat input {self.key!r} is disabled")
        if not isinstance(value, str):
            raise ProtocolError(f"bad value for {self.key!r}: expected text")
        text = value.strip()
        if not text:
            raise ProtocolError(f"bad value for {self.key!r}: the message is empty")
        if self.max_chars is not None and len(text) > self.max_chars:
            raise ProtocolError(f"bad value for {self.key!r}: at most {self.max_chars} characters")
        return text

    def render_body(self, state: StateReader | None) -> str:
        fid = f"{self.id}-in"
        extra = f' maxlength="{self.max_chars}"' if self.max_chars else ""
        disabled = " disabled" if self.disabled else ""
        return (
            f'<div class="stgo-chat-input-row"><input id="{fid}" type="text" data-chat '
            f'placeholder="{esc(self.placeholder)}" aria-label="{esc(self.placeholder)}"'
            f'{extra}{disabled}><button type="button" class="stgo-btn stgo-btn-primary" '
            f'data-chat-send{disabled}>Send</button></div>'
        )


class ChatMessage(Container):
    """One chat message: an avatar and a container for its content.

    :param name: who speaks, shown in full above the message; ``"user"`` and
        ``"assistant"`` get their own colour; the avatar shows the name's
        first letter.
    :param avatar: a short text or emoji instead of the default avatar.
    """

    kind: ClassVar[str] = "chat_message"

    def __init__(
        self, name: str, *, avatar: str | None = None, key: str | None = None,
        visible: bool = True,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise WidgetError("chat_message() needs a name, like 'user' or 'assistant'")
        super().__init__(key=key, visible=visible)
        self.name = name
        self.avatar = avatar

    def __enter__(self) -> ChatMessage:
        return self

    def write_stream(self, stream: Iterable[Any]) -> str:
        """Show *stream*'s chunks as they come, in one markdown block; return the full text.

        Each chunk is pushed at once to every tab that shows this message.
        Chunks that are not strings are shown as their ``str``.
        """
        if isinstance(stream, (str, bytes)):
            stream = [stream.decode() if isinstance(stream, bytes) else stream]
        block = self._make(Markdown(""))
        self.changed("flush")
        parts: list[str] = []
        for chunk in stream:
            parts.append(chunk if isinstance(chunk, str) else str(chunk))
            block.set_text("".join(parts))
            block.changed("flush")
        return "".join(parts)

    def render_body(self, state: StateReader | None) -> str:
        # Letters, not emoji: they show in every font.
        avatar = self.avatar or self.name[:1].upper()
        role = self.name if self.name in _ROLES else "other"
        # The name is shown in full ("Ann" and "assistant" share an initial);
        # the avatar is decoration beside it.
        return (
            f'<div class="stgo-chat-row stgo-chat-{role}">'
            f'<div class="stgo-avatar" aria-hidden="true">{esc(avatar)}</div>'
            f'<div class="stgo-chat-main"><div class="stgo-chat-name">{esc(self.name)}</div>'
            f'<div class="stgo-chat-body" data-children>{self.render_children(state)}</div>'
            "</div></div>"
        )
