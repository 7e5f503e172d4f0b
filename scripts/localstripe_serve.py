"""Start localstripe (a stateful Stripe stand-in) bound to 127.0.0.1 only.

Its own CLI binds every interface; this runs the same aiohttp app on loopback.
Usage: python scripts/localstripe_serve.py PORT
"""
import sys

from aiohttp import web
from localstripe.server import app, store

port = int(sys.argv[1]) if len(sys.argv) > 1 else 8420
store.try_load_from_disk()
web.run_app(app, host="127.0.0.1", port=port, print=None)
