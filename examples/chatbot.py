"""A chat bot whose (fake) model streams its answer token by token.

``write_stream`` pushes each token at once to every tab that shows the
message, while the callback still runs; the chat input is disabled meanwhile.
The conversation is private to each session.
"""

import os
import time

import stgo

#: Seconds between two tokens of the fake model (CHATBOT_TOKEN_DELAY overrides it).
TOKEN_DELAY = float(os.environ.get("CHATBOT_TOKEN_DELAY", "0.04"))

app = stgo.App(title="Chat bot")
app.title("Chat bot")
app.caption("A pretend language model: it streams its answer word by word.")


def fake_model(prompt):
    """Yield the answer's tokens with a pause, like a language model's API."""
    words = prompt.split()
    answer = (f"You said {len(words)} word{'s' if len(words) != 1 else ''}. "
              f"Backwards, that is: {' '.join(reversed(words))}. "
              "I am only a fake model, but I stream like a real one.")
    for token in answer.split(" "):
        time.sleep(TOKEN_DELAY)
        yield token + " "


@app.on_session_start
def setup(session):
    session.container(key="history")
    chat = session.chat_input("Ask me anything", key="ask")
    chat.on_submit(answer)


def answer(session, event, text):
    history = session.widget("history")
    chat = event.widget
    history.chat_message("user").markdown(text)
    chat.set_disabled(True)
    try:
        reply = history.chat_message("assistant").write_stream(fake_model(text))
    finally:
        chat.set_disabled(False)
    session.set("last_answer", reply.strip())
