"""Turn an evaluation video (--capture-video) into the README's animation: every Nth frame, downscaled,
as a looping GIF small enough to commit.

    python docs/make_gif.py runs/RUN/videos/eval-episode-0.mp4 docs/hopper.gif [--every 5] [--size 200] [--frames 250]
"""

import argparse
import sys

import imageio_ffmpeg
import numpy as np
from PIL import Image

MAX_BYTES = 2 * 1024 * 1024


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("video")
    p.add_argument("gif")
    p.add_argument("--every", type=int, default=5, help="keep every Nth frame (default: %(default)s)")
    p.add_argument("--size", type=int, default=200, help="width and height in pixels (default: %(default)s)")
    p.add_argument("--frames", type=int, default=250, help="at most this many frames (default: %(default)s)")
    args = p.parse_args()
    reader = imageio_ffmpeg.read_frames(args.video)
    meta = next(reader)
    width, height = meta["size"]
    frames = []
    for i, raw in enumerate(reader):
        if i % args.every == 0 and len(frames) < args.frames:
            image = Image.fromarray(np.frombuffer(raw, np.uint8).reshape(height, width, 3))
            frames.append(image.resize((args.size, args.size), Image.LANCZOS).quantize(colors=64))
    if not frames:
        sys.exit(f"make_gif.py: error: no frames in {args.video}")
    duration_ms = round(1000 * args.every / meta["fps"])
    frames[0].save(args.gif, save_all=True, append_images=frames[1:], duration=duration_ms, loop=0, optimize=True)
    size = len(open(args.gif, "rb").read())
    print(f"{args.gif}: {len(frames)} frames, {args.size}x{args.size}, {duration_ms} ms each, {size / 1e6:.2f} MB")
    if size > MAX_BYTES:
        sys.exit(f"make_gif.py: error: {args.gif} is {size / 1e6:.2f} MB, over 2 MB: raise --every or lower --size")


if __name__ == "__main__":
    main()
