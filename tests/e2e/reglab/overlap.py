#!/usr/bin/env python3
"""overlap.py LOG [FROM-LINE]: the largest number of blob GETs that were in flight at once,
from faults.py's log ("METHOD PATH STATUS FAULT START END"), counting lines after FROM-LINE."""
import re, sys

events = []
with open(sys.argv[1]) as log:
    for line in log.readlines()[int(sys.argv[2]) if len(sys.argv) > 2 else 0:]:
        f = line.split()
        if len(f) == 6 and f[0] == "GET" and re.search(r"/blobs/sha256:", f[1]):
            events += [(float(f[4]), 1), (float(f[5]), -1)]
most = now = 0
for _, step in sorted(events, key=lambda e: (e[0], e[1])):  # an end before a start at a tie
    now += step
    most = max(most, now)
print(most)
