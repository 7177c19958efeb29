#!/usr/bin/env python3
# cg-diff.py A_DIR NA B_DIR NB [SERVICE...]: instructions per request by
# function, B minus A, from bench/cg-shop.sh outputs (N=rows, default 70).
import collections
import os
import sys
def load(path):
    d = collections.Counter(); fn = None
    for line in open(path):
        if line.startswith('fn='): fn = line[3:].strip(); continue
        if line[:1].isdigit() and fn:
            p = line.split()
            if len(p) > 1: d[fn] += int(p[1])
    return d
a_dir, na, b_dir, nb = sys.argv[1], float(sys.argv[2]), sys.argv[3], float(sys.argv[4])
svcs = sys.argv[5:] or ['frontend', 'inventory']
A = collections.Counter(); B = collections.Counter()
for s in svcs:
    for k, v in load(f'{a_dir}/{s}.out').items(): A[k] += v / na
    for k, v in load(f'{b_dir}/{s}.out').items(): B[k] += v / nb
print(f"total A {sum(A.values()):.0f} B {sum(B.values()):.0f} diff {sum(B.values())-sum(A.values()):.0f}")
diff = {k: B[k] - A[k] for k in set(A) | set(B)}
for k, v in sorted(diff.items(), key=lambda kv: -abs(kv[1]))[:int(os.environ.get('N', '70'))]:
    print(f"{v:9.0f} {A[k]:9.0f} {B[k]:9.0f}  {k[:110]}")
