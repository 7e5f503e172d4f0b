"""Finds import cycles between the modules of a Rust crate.

Run: python3 scripts/module_cycles.py crates/pricing/src crates/edge/src

Module A depends on module B when A's code names an item *defined* in B: a
`use` of it, or a path (`crate::…`, `super::…`, `self::…`) in the code.
Re-exports are transparent (`pub use x::Item` in a parent is not where
`Item` lives), `mod` declarations are not dependencies, and `#[cfg(test)]`
modules are left out. Prints each cycle (a strongly connected set of two or
more modules); exits 1 if there is one.
"""
import os
import re
import sys


def module_files(src):
    mods = {}
    for root, _, files in os.walk(src):
        for f in files:
            if not f.endswith('.rs'):
                continue
            rel = os.path.relpath(os.path.join(root, f), src)[:-3].split(os.sep)
            if rel[-1] in ('mod', 'lib', 'main'):
                rel = rel[:-1]
            mods[tuple(rel)] = os.path.join(root, f)
    return mods


def strip(text):
    text = re.sub(r'#\[cfg\(test\)\]\s*mod \w+ \{.*', '', text, flags=re.S)
    text = re.sub(r'//[^\n]*', '', text)
    return re.sub(r'"(?:\\.|[^"\\])*"', '""', text)


def expand(tree):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e] (renames dropped)."""
    tree = re.sub(r'\s+', '', tree)
    i = tree.find('{')
    if i < 0:
        return [tree.split(' as ')[0].replace('as', '', 0)]
    prefix, inner = tree[:i], tree[i + 1:tree.rfind('}')]
    parts, depth, cur = [], 0, ''
    for ch in inner:
        if ch == ',' and depth == 0:
            parts.append(cur)
            cur = ''
            continue
        depth += ch == '{'
        depth -= ch == '}'
        cur += ch
    parts.append(cur)
    out = []
    for p in filter(None, parts):
        for e in expand(p):
            out.append(prefix + e)
    return out


def uses(text):
    """(is_pub, [paths]) for each `use` statement."""
    for m in re.finditer(r'(^|\n)\s*(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);', text):
        yield bool(m.group(2)), expand(m.group(3))


def absolute(path, here):
    segs = [s for s in path.split('::') if s]
    if segs and segs[0] == 'crate':
        return segs[1:]
    cur = list(here)
    if segs and segs[0] == 'self':
        return cur + segs[1:]
    while segs and segs[0] == 'super':
        cur = cur[:-1]
        segs = segs[1:]
        if not segs:
            break
    if path.startswith('super'):
        return cur + segs
    return None  # an external crate or a name in scope


def main(src):
    mods = module_files(src)
    reexports = {}
    code = {}
    for m, f in mods.items():
        text = strip(open(f).read())
        code[m] = text
        for is_pub, paths in uses(text):
            if not is_pub:
                continue
            for p in paths:
                name = p.split('::')[-1]
                alias = re.search(r'as(\w+)$', name)
                target = absolute(re.sub(r'as\w+$', '', p), m)
                if target is None:
                    # `pub use child::Item` names a child module relative to this one
                    target = list(m) + re.sub(r'as\w+$', '', p).split('::')
                reexports[(m, alias.group(1) if alias else re.sub(r'as\w+$', '', name))] = target

    def resolve(segs, depth=0):
        for k in range(len(segs), -1, -1):
            mod = tuple(segs[:k])
            if mod in mods:
                rest = segs[k:]
                if rest and (mod, rest[0]) in reexports and depth < 10:
                    return resolve(reexports[(mod, rest[0])] + rest[1:], depth + 1)
                return mod
        return None

    edges = {m: set() for m in mods}
    for m, text in code.items():
        paths = []
        for is_pub, ps in uses(text):
            if not is_pub:
                paths += ps
        body = re.sub(r'(^|\n)\s*(pub(?:\([^)]*\))?\s+)?use\s+[^;]+;', '\n', text)
        paths += re.findall(r'\b(?:crate|super|self)(?:::\w+)+', body)
        # a child module named in the code (`apply::now(…)`)
        paths += [p for p in re.findall(r'(?<![:\w])\w+(?:::\w+)+', body) if tuple(list(m) + [p.split('::')[0]]) in mods]
        for p in paths:
            p = re.sub(r'as\w+$', '', p)
            segs = absolute(p, m)
            if segs is None:
                # `use child::x` inside a module: a child relative path
                first = p.split('::')[0]
                if tuple(list(m) + [first]) in mods:
                    segs = list(m) + p.split('::')
                else:
                    continue
            target = resolve([s for s in segs if s != 'self'])
            if target is not None and target != m:
                edges[m].add(target)

    # Tarjan's strongly connected components.
    index, low, stack, on, sccs, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            sccs.append(comp)

    sys.setrecursionlimit(10000)
    for v in edges:
        if v not in index:
            visit(v)
    cycles = [c for c in sccs if len(c) > 1]
    name = lambda m: '::'.join(m) or 'crate'
    for c in cycles:
        print(f'{src}: cycle: ' + ' <-> '.join(sorted(name(m) for m in c)))
        for m in sorted(c):
            print(f'    {name(m)} -> ' + ', '.join(sorted(name(t) for t in edges[m] if t in c)))
    print(f'{src}: {len(mods)} modules, {sum(len(e) for e in edges.values())} dependencies, {len(cycles)} cycles')
    return 1 if cycles else 0


if __name__ == '__main__':
    sys.exit(max(main(s) for s in sys.argv[1:]))
