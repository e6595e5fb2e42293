"""A tour of stgo: global widgets everybody shares, session widgets only you see.

The tour ships inside the package, so that ``stgo hello`` serves it after a
plain ``pip install``: read it in stgo/hello.py.  This file serves the same
app (a fresh one each time it runs), so ``python -m stgo run examples/hello.py``
and ``make run`` still work.
"""

from stgo.cli import hello_app

app = hello_app()
