"""How long new memory takes to provision: the cost a run's first recordings pay.

    python benchmarks/first_touch.py --mb 160 --processes 8          # huge and 4 KiB pages
    python benchmarks/first_touch.py --mb 160 --after-free 2048      # after another process freed 2 GB

Each measurement is a fresh process that maps ``--mb`` MiB of anonymous memory (advised
to use transparent huge pages, as runtime/buffers.py does, or not) and writes one byte
per 4 KiB page; the time of those writes is the kernel's (and, in a VM, the host's)
provisioning of the pages. ``--after-free N`` first runs a process that allocates and
frees N MiB, then waits ``--wait`` seconds (a VM with free page reporting hands such
freed memory back to its host in that time).
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

CHILD = """
import mmap, sys, time
import numpy as np
size, huge = int(sys.argv[1]) << 20, sys.argv[2] == "huge"
region = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
if huge:
    region.madvise(mmap.MADV_HUGEPAGE)
pages = np.frombuffer(region, dtype=np.uint8)
start = time.perf_counter()
pages[::4096] = 1
print(time.perf_counter() - start)
"""
FREE = "import numpy as np, sys; a = np.ones(int(sys.argv[1]) << 20, np.uint8); del a"


def touch(mb: int, kind: str) -> float:
    done = subprocess.run([sys.executable, "-c", CHILD, str(mb), kind], capture_output=True, text=True, check=True)
    return float(done.stdout) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=160)
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--after-free", type=int, default=0, help="MiB freed by another process first")
    parser.add_argument("--wait", type=float, default=3.0)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"huge": [], "small": []}
    for _ in range(args.processes):
        for kind in times:                      # alternating
            if args.after_free:
                subprocess.run([sys.executable, "-c", FREE, str(args.after_free)], check=True)
                time.sleep(args.wait)
            times[kind].append(touch(args.mb, kind))
    for kind, label in (("huge", "transparent huge pages"), ("small", "4 KiB pages")):
        values = times[kind]
        print(f"{label:>24}: median {statistics.median(values):8.2f} ms  "
              f"({', '.join(f'{v:.1f}' for v in values)})")


if __name__ == "__main__":
    main()
