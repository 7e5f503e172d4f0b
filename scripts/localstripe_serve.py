"""Start localstripe (a stateful Stripe stand-in) bound to 127.0.0.1 only.

Its own CLI binds every interface; this runs the same aiohttp app on loopback.
Usage: python scripts/localstripe_serve.py PORT
"""
import os
import pickle
import sys

from aiohttp import web
from localstripe import resources

# Real Stripe takes `off_session` when confirming a PaymentIntent (a charge
# without the cardholder present); localstripe refuses any parameter there.
# Accept and ignore it (the stand-in has no off-session rules to apply). Its
# routes are bound when localstripe.server is imported: patch before that.
_confirm = resources.PaymentIntent._api_confirm


def _confirm_off_session(id, off_session=None, **kwargs):
    return _confirm(id, **kwargs)


resources.extra_apis[:] = [
    (m, path, _confirm_off_session if path == "/v1/payment_intents/{id}/confirm" else f)
    for (m, path, f) in resources.extra_apis
]

from localstripe.server import app, store  # noqa: E402

# LOCALSTRIPE_STATE: where the state is kept across restarts (make dev: in
# .wrangler/state; each test stack: its own temporary folder). Empty: memory
# only, for load tests (localstripe pickles its whole store on every write,
# which under load costs more than the requests themselves).
PICKLE = os.environ.get("LOCALSTRIPE_STATE", "/tmp/localstripe.pickle")


def dump_atomically():
    # localstripe writes its state in place; a stop mid-write leaves a
    # truncated file that the next start cannot read. Write, then rename.
    tmp = f"{PICKLE}.{os.getpid()}"
    with open(tmp, "wb") as f:
        pickle.dump(dict(store), f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, PICKLE)


store.dump_to_disk = dump_atomically if PICKLE else (lambda: None)

port = int(sys.argv[1]) if len(sys.argv) > 1 else 8420
if PICKLE and os.path.exists(PICKLE):
    try:
        with open(PICKLE, "rb") as f:
            dict.update(store, pickle.load(f))
    except (pickle.UnpicklingError, EOFError, AttributeError, ValueError) as e:
        # A state file from another localstripe version, or one cut short:
        # start empty rather than not at all (local Stripe state is disposable).
        print(f"localstripe: ignoring unreadable {PICKLE}: {e}", file=sys.stderr)
web.run_app(app, host="127.0.0.1", port=port, print=None)
