"""Time and peak memory of `pesiar generate` (target at 1,000,000 residents: < 2 min, < 4 GiB).

Usage: python bench/generate.py [--population N] [--seed S] [--out DIR]
"""

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 120
TARGET_GIB = 4.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--population", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, help="Keep the scenario here (default: temporary).")
    args = parser.parse_args()

    out = args.out or Path(tempfile.mkdtemp(prefix="pesiar-bench-"))
    command = [
        sys.executable,
        "-m",
        "pesiar",
        "generate",
        "--population",
        str(args.population),
        "--seed",
        str(args.seed),
        "--out",
        str(out),
    ]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    peak_gib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
    size_mib = sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) / 1024**2
    ok = seconds < TARGET_SECONDS and peak_gib < TARGET_GIB
    print(f"generate population={args.population:,} seed={args.seed}")
    print(f"  time        {seconds:8.1f} s    (target < {TARGET_SECONDS} s)")
    print(f"  peak memory {peak_gib:8.2f} GiB  (target < {TARGET_GIB} GiB)")
    print(f"  output      {size_mib:8.1f} MiB in {out}")
    print("  result      " + ("within target" if ok else "OUTSIDE TARGET"))
    if args.out is None:
        shutil.rmtree(out)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
