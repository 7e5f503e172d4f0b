#!/usr/bin/env python3
"""Summarises a `make fuzz` run from target/fuzz/<target>.log: runs, exec/s,
coverage, corpus size, and whether it crashed. Usage: fuzz_report.py SECONDS TARGET..."""
import os, re, sys

seconds, targets = sys.argv[1], sys.argv[2:]
print(f"| target | seconds | runs | exec/s | coverage (edges) | corpus | result |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for t in targets:
    log = open(os.path.join('target', 'fuzz', f'{t}.log'), errors='replace').read()
    stat = lambda k: (re.findall(rf'stat::{k}:\s+(\d+)', log) or ['?'])[-1]
    cov = (re.findall(r'cov: (\d+)', log) or ['?'])[-1]
    corpus = len(os.listdir(os.path.join('fuzz', 'corpus', t)))
    crashed = 'CRASH' if re.search(r'==\d+==|panicked at|deadly signal', log) else 'no crash'
    print(f"| {t} | {seconds} | {stat('number_of_executed_units')} | {stat('average_exec_per_sec')} | {cov} | {corpus} | {crashed} |")
