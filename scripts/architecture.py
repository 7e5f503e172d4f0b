"""The Worker's layering, checked (crates/edge/ARCHITECTURE.md):

- SQL text lives only in crates/edge/src/store/;
- no file in crates/edge/src is over 500 lines;
- no use case (crates/edge/src/usecases/) imports another use case;
- the storage layer imports no other layer of the service, the steps no use case;
- no import cycle between the modules of the engine or of the Worker
  (scripts/module_cycles.py);
- `unsafe` is allowed in one module of the workspace, the npm package's
  allocator (crates/pricing-wasm/src/alloc.rs): the workspace denies it.

Run: python3 scripts/architecture.py   (exit 1 and a list of what is wrong)
"""
import os
import re
import subprocess
import sys

EDGE = 'crates/edge/src'
SQL = re.compile(r'stmt!|SELECT |INSERT |UPDATE |DELETE ')
problems = []


def files(root):
    for d, _, fs in os.walk(root):
        for f in sorted(fs):
            if f.endswith('.rs'):
                yield os.path.join(d, f)


for path in files(EDGE):
    text = open(path).read()
    rel = os.path.relpath(path, EDGE)
    lines = text.count('\n')
    if SQL.search(text) and not rel.startswith('store' + os.sep):
        problems.append(f'{path}: SQL outside store/')
    if lines > 500:
        problems.append(f'{path}: {lines} lines (at most 500)')
    imports = set(re.findall(r'crate::(\w+)(?:::(\w+))?', text))
    layer = rel.split(os.sep)[0]
    if layer == 'usecases':
        own = os.path.splitext(os.path.basename(path))[0]
        for top, sub in imports:
            if top == 'usecases' and sub != own:
                problems.append(f'{path}: a use case imports the use case {sub}')
    if layer == 'store':
        for top, _ in imports:
            if top in ('http', 'usecases', 'steps', 'stripe'):
                problems.append(f'{path}: storage imports {top}')
    if layer == 'steps':
        for top, _ in imports:
            if top == 'usecases':
                problems.append(f'{path}: a step imports a use case')

UNSAFE_ALLOWED = 'crates/pricing-wasm/src/alloc.rs'
for path in files('crates'):
    if re.search(r'allow\(\s*unsafe_code|unsafe_code\s*=\s*"(allow|warn)"', open(path).read()) and path != UNSAFE_ALLOWED:
        problems.append(f'{path}: allows unsafe code (only {UNSAFE_ALLOWED} may)')
if 'unsafe_code = "deny"' not in open('Cargo.toml').read():
    problems.append('Cargo.toml: the workspace must deny unsafe_code')

cycles = subprocess.run(
    [sys.executable, os.path.join(os.path.dirname(__file__), 'module_cycles.py'), 'crates/pricing/src', EDGE],
    capture_output=True, text=True)
print(cycles.stdout, end='')
if cycles.returncode:
    problems.append('import cycles (above)')
for p in problems:
    print(p)
print(f'architecture: {len(problems)} problems')
sys.exit(1 if problems else 0)
