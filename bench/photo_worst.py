"""Worst allowed uploads: time and peak memory of photos.process() for the biggest images that pass its checks.

    .venv/bin/python bench/photo_worst.py                    # the current volunteers/photos.py
    .venv/bin/python bench/photo_worst.py --module OLD.py    # another copy, e.g. git show <rev>:volunteers/photos.py

Each case runs in a fresh child process (so its peak resident memory is its own), 3 times; medians are printed.
"""
from __future__ import annotations

import argparse
import importlib.util
import tempfile
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = {
    "png-rgba-7000x7000 (49 MP, one colour: 0.2 MB on the wire)": ("PNG", "RGBA", (7000, 7000)),
    "png-rgba-5000x5000 (25 MP)": ("PNG", "RGBA", (5000, 5000)),
    "jpeg-5712x4284 (iPhone 24 MP)": ("JPEG", "RGB", (5712, 4284)),
}


def make(case: str, folder: Path) -> Path:
    """Write the case's upload to a file (made here, so its bitmap never counts in the child's memory)."""
    from PIL import Image

    fmt, mode, size = CASES[case]
    path = folder / f"{abs(hash(case))}.{fmt.lower()}"
    if not path.exists():
        Image.new(mode, size, (200, 40, 40, 128) if mode == "RGBA" else (200, 40, 40)).save(path, fmt)
    return path


def child(module: str, upload: str) -> None:
    """Process the upload once; print seconds, peak RSS growth (MB) and the outcome as JSON."""
    import resource

    sys.path.insert(0, str(ROOT))
    spec = importlib.util.spec_from_file_location("photos_under_test", module)
    photos = importlib.util.module_from_spec(spec)
    sys.modules["photos_under_test"] = photos  # dataclasses look their module up by name
    spec.loader.exec_module(photos)
    data = Path(upload).read_bytes()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    try:
        photos.process(data)
        outcome = "accepted"
    except Exception as e:  # a refusal is the outcome we measure
        outcome = f"refused ({getattr(e, 'code', type(e).__name__)})"
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"s": seconds, "mb": (peak - before) / 1024, "outcome": outcome, "kb": len(data) / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--module", default=str(ROOT / "volunteers" / "photos.py"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.module, args.child)
    folder = Path(tempfile.mkdtemp(prefix="photo-worst-"))
    print(f"{'case':58} {'on the wire':>12} {'median s':>9} {'peak MB':>8}  outcome")
    for case in CASES:
        runs = [json.loads(subprocess.run([sys.executable, __file__, "--module", args.module, "--child", str(make(case, folder))],
                                          check=True, capture_output=True, text=True, cwd=ROOT).stdout)
                for _ in range(args.runs)]
        print(f"{case:58} {runs[0]['kb']:>9.0f} KB {statistics.median(r['s'] for r in runs):>9.2f} "
              f"{statistics.median(r['mb'] for r in runs):>8.0f}  {runs[0]['outcome']}")


if __name__ == "__main__":
    main()
