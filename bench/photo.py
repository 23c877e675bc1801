"""What one citizen's photo costs the server: time and peak memory to make a 12-megapixel phone photo safe
(decode, turn upright, re-encode at 1600 px and a 400 px thumbnail, no metadata: data_sources.comments.photos).

Each run is a fresh Python process, so that its peak resident memory is the photo's and not an earlier run's:
``peak_mb`` is the whole process at its highest (interpreter and imports included), ``added_mb`` what the photo
added to it.

Usage: python bench/photo.py [--runs 5] [--megapixels 12] [--format JPEG|PNG|HEIF] [--quality 90] [--tile 0]

The default input is a worst case: quality 90 over fine noise makes a 12-MP HEIC of 12.4 MB, where a phone's is
2-4 MB. ``--quality 60 --tile 512`` writes a HEIC shaped like an iPhone's (a grid of 512-px tiles, which the
decoder decodes on several threads).
Goal (issue #19): under 1 s and under 200 MB on the project's 2-core machine.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Peak memory from /proc: VmHWM is this process's own high-water mark (ru_maxrss can carry the parent's over a
# fork), reset to the current size by writing 5 to clear_refs just before the photo.
CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from data_sources.comments.photos import PhotoRejected, process_photo

def kb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])

data = open(sys.argv[2], "rb").read()
open("/proc/self/clear_refs", "w").write("5")
base = kb("VmHWM")
t0, c0 = time.perf_counter(), time.process_time()
try:
    p = process_photo(data)
except PhotoRejected as e:
    print(json.dumps({"refused": str(e)}))
    raise SystemExit(0)
seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
peak = kb("VmHWM")
print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "peak_mb": peak / 1024, "added_mb": (peak - base) / 1024,
                  "out_kb": len(p.full) / 1024, "thumb_kb": len(p.thumb) / 1024, "size": [p.width, p.height]}))
"""


def phone_photo(megapixels: float, fmt: str, quality: int = 90, tile: int = 0) -> bytes:
    """A photo-like image (smooth gradients with fine noise, so it compresses like a real one) with the EXIF a
    phone writes: camera, orientation and a GPS position."""
    import numpy as np
    from PIL import Image

    w = int((megapixels * 1e6 * 4 / 3) ** 0.5)
    h = int(w * 3 / 4)
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([128 + 100 * np.sin(x / 300), 128 + 100 * np.cos(y / 250), 128 + 60 * np.sin((x + y) / 400)], -1)
    pixels = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    im = Image.fromarray(pixels, "RGB")
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "PhoneMaker", "Phone 15", 6
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (51.0, 30.0, 26.0), "W", (0.0, 7.0, 39.0)
    out = io.BytesIO()
    if fmt == "HEIF" and tile:
        from pillow_heif import options

        options.GRID_TILE_SIZE = tile
    im.save(out, fmt, exif=exif, quality=quality)
    return out.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--megapixels", type=float, default=12)
    ap.add_argument("--format", default="JPEG", choices=["JPEG", "PNG", "HEIF", "WEBP"])
    ap.add_argument("--quality", type=int, default=90, help="the input's encoder quality")
    ap.add_argument("--tile", type=int, default=0, help="HEIF only: encode as a grid of tiles of this size")
    args = ap.parse_args()
    if args.format == "HEIF":
        from pillow_heif import register_heif_opener

        register_heif_opener()
    src = ROOT / "bench" / "out" / f"photo-{args.megapixels:g}mp-q{args.quality}-t{args.tile}.{args.format.lower()}"
    if src.exists():  # the same arguments make the same photo (a fixed seed): encoding a 12-MP HEIC takes a while
        data = src.read_bytes()
    else:
        data = phone_photo(args.megapixels, args.format, args.quality, args.tile)
        src.parent.mkdir(parents=True, exist_ok=True)
        src.write_bytes(data)
    runs = []
    for _ in range(args.runs):
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(ROOT), str(src)], capture_output=True, text=True, check=True
        )
        run = json.loads(out.stdout)
        if "refused" in run:
            raise SystemExit(f"bench/photo.py: the photo is refused: {run['refused']}")
        runs.append(run)
    print(
        json.dumps(
            {
                "input": {
                    "format": args.format,
                    "megapixels": args.megapixels,
                    "quality": args.quality,
                    "tile": args.tile,
                    "mb": round(len(data) / 1e6, 2),
                },
                "seconds_median": round(statistics.median(r["seconds"] for r in runs), 3),
                "seconds_max": round(max(r["seconds"] for r in runs), 3),
                # CPU time is the photo's own work; wall time adds whatever else the machine's two cores were doing.
                "cpu_seconds_median": round(statistics.median(r["cpu_seconds"] for r in runs), 3),
                "peak_mb_max": round(max(r["peak_mb"] for r in runs), 1),
                "added_mb_max": round(max(r["added_mb"] for r in runs), 1),
                "output": {
                    "size": runs[0]["size"],
                    "kb": round(runs[0]["out_kb"]),
                    "thumb_kb": round(runs[0]["thumb_kb"]),
                },
                "runs": args.runs,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
