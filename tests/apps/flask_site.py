"""A Flask site with stgo mounted at /live/ (as docs/deployment.md shows)."""

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

import stgo

live = stgo.App(title="Live")
count = live.text("Clicks: 0", key="count")
button = live.button("Click", key="click")
clicks = [0]


@button.on_click
def clicked(session, event, value):
    clicks[0] += 1
    count.set_text(f"Clicks: {clicks[0]}")


site = Flask(__name__)


@site.route("/")
def home():
    return "the Flask home page"


@site.route("/about")
def about():
    return "about this site"


site.wsgi_app = DispatcherMiddleware(site.wsgi_app, {"/live": live})
live.start()
app = site
