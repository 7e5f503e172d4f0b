#!/usr/bin/env python3
"""Seeds the fuzz corpora from the golden vectors (../shared/vectors and
tests/vectors) and the seed docs' printed requests: one file per input, named
by its content's hash. `make fuzz` grows the corpora from these and
`make fuzz-cmin` minimises them; the committed corpora are what `make test`
replays. Usage: python3 scripts/fuzz_seeds.py"""
import glob, hashlib, json, os, re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, '..', 'shared')
vectors = [json.load(open(f)) for f in sorted(glob.glob(os.path.join(SHARED, 'vectors', '*.json')) + glob.glob(os.path.join(ROOT, 'tests', 'vectors', '*.json')))]

def put(target, value):
    data = value if isinstance(value, bytes) else json.dumps(value, separators=(',', ':')).encode()
    d = os.path.join(ROOT, 'fuzz', 'corpus', target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), 'wb') as f:
        f.write(data)

for v in vectors:
    put('catalog', v['catalog'])
    if 'contract' in v:
        put('preview_change', {'catalog': v['catalog'], 'contract': v['contract'], 'operation': v['operation'], 'today': v['today'], 'through': v['today']})
        put('api_request', dict(v['operation'], contractId='ctrct_1'))
    else:
        put('estimate', {'catalog': v['catalog'], 'request': v['request'], 'today': v['today']})
        put('api_request', v['request'])

# The JSON blocks the API docs print (stray commas and all): real request bodies.
for seed in ('signup-api.txt', 'contract-api.txt'):
    text = open(os.path.join(SHARED, 'seeds', seed), encoding='utf8').read()
    for block in re.findall(r'^\{\n.*?^\}', text, flags=re.S | re.M):
        put('api_request', block.encode())
for raw in [b'', b'{', b'[]', b'null', b'{"action":"ESTIMATE","quote":{"offerings":[]},}', b'\xff\xfe', b'{"a":' * 40]:
    put('api_request', raw)
# POST /api/usage bodies: good events, and each rejection's shape.
put('api_request', {'events': [
    {'id': 'evt_1', 'contractId': 'ctr_1', 'productId': 'prod_api_calls', 'quantity': 12000, 'timestamp': '2026-12-01T09:00:00Z'},
    {'id': 'evt_2', 'contractId': 'ctr_1', 'productId': 'prod_api_calls', 'quantity': '3000.5', 'timestamp': '2026-12-01T23:30:00-05:00'},
    {'id': 'evt_3', 'contractId': 'ctr_1', 'productId': 'prod_api_calls', 'quantity': -1, 'timestamp': '2026-12-01'},
    {'contractId': 'ctr_1', 'quantity': 1},
    'not an event',
    {'id': 'x' * 256, 'contractId': 7, 'productId': None, 'quantity': '1e400', 'timestamp': '2026-13-01T00:00:00Z'}]})
put('api_request', {'events': {}})
