"""Start localstripe (a stateful Stripe stand-in) bound to 127.0.0.1 only.

Its own CLI binds every interface; this runs the same aiohttp app on loopback.
Usage: python scripts/localstripe_serve.py PORT
"""
import os
import pickle
import sys

from aiohttp import web
from localstripe.server import app, store

PICKLE = "/tmp/localstripe.pickle"


def dump_atomically():
    # localstripe writes its state in place; a stop mid-write leaves a
    # truncated file that the next start cannot read. Write, then rename.
    tmp = f"{PICKLE}.{os.getpid()}"
    with open(tmp, "wb") as f:
        pickle.dump(store, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, PICKLE)


store.dump_to_disk = dump_atomically

port = int(sys.argv[1]) if len(sys.argv) > 1 else 8420
store.try_load_from_disk()
web.run_app(app, host="127.0.0.1", port=port, print=None)
