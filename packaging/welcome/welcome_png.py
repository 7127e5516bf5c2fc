#!/usr/bin/env python3
"""Draws ductor's welcome picture (defaults/welcome.png), the picture `/start` sends.

Standard library only (zlib + struct): shapes are drawn at 3x size and averaged down
for smooth edges; the text is a small pixel font. Run from the repository root:

    python3 packaging/welcome/welcome_png.py defaults/welcome.png

The picture: an orchestrator hub wired to three agent nodes (the claude, codex and
gemini CLIs), the name "ductor" and a one-line tagline, on a dark blue gradient.
"""

import math
import struct
import sys
import zlib

W, H = 640, 320
S = 3  # supersampling factor
SW, SH = W * S, H * S

# 5x7 pixel font for the letters used.
FONT = {
    "d": ["....#", "....#", ".####", "#...#", "#...#", "#...#", ".####"],
    "u": [".....", ".....", "#...#", "#...#", "#...#", "#..##", ".##.#"],
    "c": [".....", ".....", ".####", "#....", "#....", "#....", ".####"],
    "t": [".#...", ".#...", "####.", ".#...", ".#...", ".#..#", "..##."],
    "o": [".....", ".....", ".###.", "#...#", "#...#", "#...#", ".###."],
    "r": [".....", ".....", "#.##.", "##..#", "#....", "#....", "#...."],
    "y": [".....", ".....", "#...#", "#...#", ".####", "....#", ".###."],
    "a": [".....", ".....", ".###.", "....#", ".####", "#...#", ".####"],
    "g": [".....", ".....", ".####", "#...#", ".####", "....#", ".###."],
    "e": [".....", ".....", ".###.", "#...#", "#####", "#....", ".###."],
    "n": [".....", ".....", "#.##.", "##..#", "#...#", "#...#", "#...#"],
    "s": [".....", ".....", ".####", "#....", ".###.", "....#", "####."],
    "h": ["#....", "#....", "#.##.", "##..#", "#...#", "#...#", "#...#"],
    "i": ["..#..", ".....", ".##..", "..#..", "..#..", "..#..", ".###."],
    "m": [".....", ".....", "##.#.", "#.#.#", "#.#.#", "#.#.#", "#.#.#"],
    "l": [".##..", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."],
    ",": [".....", ".....", ".....", ".....", ".....", "..#..", ".#..."],
    " ": [".....", ".....", ".....", ".....", ".....", ".....", "....."],
}


def background():
    """The gradient, at full size (RGB rows)."""
    top, bottom = (16, 22, 46), (10, 62, 78)
    rows = []
    for y in range(H):
        row = bytearray()
        for x in range(W):
            t = min(1.0, max(0.0, 0.65 * y / H + 0.35 * x / W))
            # Quantised a little: smooth to the eye, kind to the compressor.
            row += bytes(
                int(round((a + (b - a) * t) / 2.0)) * 2 for a, b in zip(top, bottom)
            )
        rows.append(row)
    return rows


class Layer:
    """Shapes at S times the size: colour per covered subpixel, `None` elsewhere."""

    def __init__(self):
        self.px = [None] * (SW * SH)

    def disc(self, cx, cy, r, colour, inner=0.0):
        cx, cy, r, inner = cx * S, cy * S, r * S, inner * S
        for y in range(max(0, int(cy - r)), min(SH, int(cy + r) + 2)):
            for x in range(max(0, int(cx - r)), min(SW, int(cx + r) + 2)):
                d = math.hypot(x + 0.5 - cx, y + 0.5 - cy)
                if inner <= d <= r:
                    self.px[y * SW + x] = colour

    def line(self, x0, y0, x1, y1, width, colour):
        x0, y0, x1, y1, hw = x0 * S, y0 * S, x1 * S, y1 * S, width * S / 2
        dx, dy = x1 - x0, y1 - y0
        length2 = dx * dx + dy * dy
        for y in range(max(0, int(min(y0, y1) - hw)), min(SH, int(max(y0, y1) + hw) + 2)):
            for x in range(max(0, int(min(x0, x1) - hw)), min(SW, int(max(x0, x1) + hw) + 2)):
                px, py = x + 0.5 - x0, y + 0.5 - y0
                t = max(0.0, min(1.0, (px * dx + py * dy) / length2))
                if math.hypot(px - t * dx, py - t * dy) <= hw:
                    self.px[y * SW + x] = colour

    def arc(self, cx, cy, r, width, start, end, colour):
        cx, cy, r, hw = cx * S, cy * S, r * S, width * S / 2
        for y in range(max(0, int(cy - r - hw)), min(SH, int(cy + r + hw) + 2)):
            for x in range(max(0, int(cx - r - hw)), min(SW, int(cx + r + hw) + 2)):
                ax, ay = x + 0.5 - cx, y + 0.5 - cy
                if abs(math.hypot(ax, ay) - r) <= hw:
                    angle = math.degrees(math.atan2(ay, ax))
                    if start <= angle <= end:
                        self.px[y * SW + x] = colour

    def text(self, x, y, scale, words, colour):
        assert x + 6 * scale * len(words) <= W + scale, f"{words!r} does not fit"
        for ch in words:
            glyph = FONT[ch]
            for gy, row in enumerate(glyph):
                for gx, cell in enumerate(row):
                    if cell == "#":
                        x0, y0 = (x + gx * scale) * S, (y + gy * scale) * S
                        for yy in range(y0, y0 + scale * S):
                            for xx in range(x0, x0 + scale * S):
                                self.px[yy * SW + xx] = colour
            x += 6 * scale

    def onto(self, rows):
        """Averages each SxS block and lays it over the background rows."""
        n = S * S
        for y in range(H):
            row = rows[y]
            for x in range(W):
                cover, acc = 0, [0, 0, 0]
                for yy in range(y * S, y * S + S):
                    base = yy * SW + x * S
                    for c in self.px[base : base + S]:
                        if c is not None:
                            cover += 1
                            acc[0] += c[0]
                            acc[1] += c[1]
                            acc[2] += c[2]
                if cover:
                    for i in range(3):
                        under = row[x * 3 + i]
                        row[x * 3 + i] = (acc[i] + under * (n - cover)) // n


def png(rows):
    """PNG bytes of RGB rows; each row filtered by the smaller of Sub and Up."""
    raw = bytearray()
    prev = bytearray(W * 3)
    for row in rows:
        sub = bytearray(
            (row[i] - (row[i - 3] if i >= 3 else 0)) & 0xFF for i in range(len(row))
        )
        up = bytearray((row[i] - prev[i]) & 0xFF for i in range(len(row)))
        cost = lambda f: sum(b if b < 128 else 256 - b for b in f)
        if cost(up) <= cost(sub):
            raw += b"\x02" + up
        else:
            raw += b"\x01" + sub
        prev = row

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(bytes(raw), 9))
        + chunk(b"IEND", b"")
    )


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "defaults/welcome.png"
    rows = background()
    layer = Layer()
    hub = (150, 160)
    nodes = [
        ((hub[0] + 95 * math.cos(math.radians(a)), hub[1] + 95 * math.sin(math.radians(a))), c)
        for a, c in [(-120, (240, 128, 96)), (0, (110, 210, 140)), (120, (110, 160, 250))]
    ]
    wire = (120, 190, 200)
    # Waves around the hub: the orchestration reaching out.
    for r, w in [(128, 2.0), (142, 1.5)]:
        layer.arc(hub[0], hub[1], r, w, -75, 75, (60, 110, 130))
        layer.arc(hub[0], hub[1], r, w, 105, 180, (60, 110, 130))
        layer.arc(hub[0], hub[1], r, w, -180, -105, (60, 110, 130))
    for (x, y), _ in nodes:
        layer.line(hub[0], hub[1], x, y, 4, wire)
    layer.disc(hub[0], hub[1], 44, (245, 184, 70))
    layer.disc(hub[0], hub[1], 56, (245, 184, 70), inner=52)
    layer.disc(hub[0], hub[1], 18, (16, 30, 56))
    for (x, y), colour in nodes:
        layer.disc(x, y, 20, colour)
        layer.disc(x, y, 8, (16, 30, 56))
    layer.text(318, 112, 8, "ductor", (240, 244, 250))
    layer.text(322, 198, 2, "coding agents, one chat", (150, 200, 210))
    layer.onto(rows)
    data = png(rows)
    with open(out, "wb") as f:
        f.write(data)
    print(f"{out}: {W}x{H}, {len(data)} bytes")


if __name__ == "__main__":
    main()
