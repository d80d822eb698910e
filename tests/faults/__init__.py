"""Fault injection (issue 6): a seeded, bounded chaos run on loopback.

`python -m tests.faults.chaos --events 20000 --kills 12 --seed 7` is the full run;
tests/faults/test_chaos.py runs a CI-sized one and the negative control.
"""
