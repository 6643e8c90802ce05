"""Render text pages as newspaper-like scans: test data for OCR and reading order (deterministic, fixed seeds).

    .venv/bin/python scripts/make_scans.py [PAGES...] [--out embeddings/scans] [--dpi 300 200]

Each page (default: the five sample pages, cleaned) is set on an A3 sheet in Noto Serif CJK (Debian's
``fonts-noto-cjk``): a headline (and a subtitle) over the first three of five narrow columns with rules
between them, the body flowing down column 1 to column 5, and the page's last paragraphs as a boxed side story
under a headline across columns 4–5. Every sheet is written per set ``{clean,degraded}-{dpi}``: the clean set
as PNG and as an image-only PDF, the degraded one (skew up to ±1.5°, blur, speckle, uneven background) as JPEG
at quality 60 and as an image-only PDF. ``truth.json`` in each set holds, per page, the text as set (in reading
order) and every line's box in pixels with its block (headline, column, box) in reading order.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.clean import clean  # noqa: E402
from rag.config import PACKAGE, ROOT  # noqa: E402

SERIF = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"
SERIF_BOLD = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc"
SC = 2
"""The Simplified Chinese face in Noto's collections."""
MARGIN, GUTTER = 36.0, 14.0
HEADLINE, SUBTITLE, BOX_TITLE = 26.0, 13.0, 12.0
LEADING = 1.45
BOX_SHARE = 0.12
"""About this share of a page's text goes into the boxed side story."""


@dataclass(frozen=True)
class Format:
    """A sheet's size in points and its columns: the headline spans all but the last ``box`` columns, the boxed
    story sits at the foot of those."""

    width: float = 842.0
    height: float = 1191.0
    columns: int = 5
    box: int = 2


A3 = Format()


@dataclass
class Line:
    """A line as set: its box in points (y down), text, size, bold, and its block's place in reading order."""

    x0: float
    y0: float
    x1: float
    y1: float
    text: str
    size: float
    block: int
    bold: bool = False


@dataclass
class Sheet:
    """A composed page: lines, frames and column rules in points, and its text in reading order."""

    format: Format = A3
    lines: list[Line] = field(default_factory=list)
    frames: list[tuple[float, float, float, float]] = field(default_factory=list)
    rules: list[tuple[float, float, float, float]] = field(default_factory=list)

    def text(self) -> str:
        """The page text as set: each block's lines in order, blocks apart by a blank line."""
        out, block = [], None
        for line in self.lines:
            if block is not None:
                out.append("\n\n" if line.block != block else "\n")
            out.append(line.text)
            block = line.block
        return "".join(out)


def _font(size: float, bold: bool = False, scale: float = 1.0) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(SERIF_BOLD if bold else SERIF, max(1, round(size * scale)), index=SC)


def wrap(text: str, width: float, size: float, indent: int = 0, bold: bool = False) -> list[str]:
    """Greedy line breaks of a paragraph at ``width`` points (``indent`` ideographic spaces before the first
    line); a closing punctuation mark never starts a line."""
    font = _font(100, bold)
    unit = size / 100
    lines, current, used = [], "", indent * size
    for char in text:
        step = font.getlength(char) * unit
        if current and used + step > width and char not in "，。、；：？！）」』”’》…":
            lines.append(current)
            current, used = "", 0.0
        current += char
        used += step
    if current:
        lines.append(current)
    return lines


def paragraphs(raw: str) -> list[str]:
    """A page's paragraphs, cleaned as at ingest, Markdown heading marks dropped."""
    return [re.sub(r"^#+\s*", "", p).strip() for p in clean(raw).text.split("\n") if p.strip()]


def compose(text: str, sheet: Format = A3) -> Sheet | None:
    """The page set on a sheet of ``sheet``'s format at the largest body size (8.5 to 6 points) at which it
    fits; ``None`` if none."""
    paras = paragraphs(text)
    heads = 1 + (len(paras) > 1 and len(paras[1]) <= 40 and "。" not in paras[1])
    total = sum(len(p) for p in paras[heads:])
    split, share = len(paras), 0
    while split > heads + 2 and share < BOX_SHARE * total:
        split -= 1
        share += len(paras[split])
    for tenth in range(85, 59, -5):
        composed = _try(sheet, paras[:heads], paras[heads:split], paras[split:], tenth / 10)
        if composed is not None:
            return composed
    return None


def _try(form: Format, heads: list[str], body: list[str], box: list[str], size: float) -> Sheet | None:
    width, height, columns, under = form.width, form.height, form.columns, form.columns - form.box
    column = (width - 2 * MARGIN - (columns - 1) * GUTTER) / columns
    left = [MARGIN + i * (column + GUTTER) for i in range(columns)]
    span = lambda n: n * column + (n - 1) * GUTTER  # noqa: E731
    sheet = Sheet(form)
    y = MARGIN
    for n, (head, head_size) in enumerate(zip(heads, (HEADLINE, SUBTITLE))):
        for line in wrap(head, span(under), head_size, bold=n == 0):
            sheet.lines.append(Line(left[0], y, left[0] + span(under), y + head_size, line, head_size, n,
                                    bold=n == 0))
            y += head_size * 1.3
        y += head_size * 0.4
    body_top = [y + 6] * under + [MARGIN] * form.box
    step = size * LEADING
    box_width = span(form.box) - 16
    box_lines = [(line, BOX_TITLE, True) for line in wrap(box[0], box_width, BOX_TITLE, bold=True)] + \
        [(line, size, False) for p in box[1:] for line in wrap(p, box_width, size, indent=2)] if box else []
    box_height = sum(s * LEADING for _, s, _ in box_lines) + 16 if box else -10
    box_top = height - MARGIN - box_height
    bottom = [height - MARGIN] * under + [box_top - 10] * form.box
    block, col, y = len(heads), 0, body_top[0]
    for para in body:
        for i, line in enumerate(wrap(para, column, size, indent=2)):
            if y + size > bottom[col]:
                col += 1
                block += 1
                if col == columns:
                    return None
                y = body_top[col]
            x = left[col] + (2 * size if i == 0 else 0)
            sheet.lines.append(Line(x, y, x + column, y + size, line, size, block))
            y += step
    block += 1
    y = box_top + 8
    for line, line_size, bold in box_lines:
        sheet.lines.append(Line(left[under] + 8, y, left[under] + 8 + box_width, y + line_size, line, line_size,
                                block if bold else block + 1, bold))
        y += line_size * LEADING
    if box:
        sheet.frames.append((left[under] - 4, box_top, left[-1] + column + 4, height - MARGIN + 4))
    for i in range(1, columns):
        x = left[i] - GUTTER / 2
        top = body_top[i] if i < under else MARGIN
        end = box_top - 8 if i > under else height - MARGIN
        sheet.rules.append((x, top, x, end))
    return sheet


def draw(sheet: Sheet, dpi: int) -> Image.Image:
    """The sheet as a greyscale image at ``dpi``."""
    scale = dpi / 72
    image = Image.new("L", (round(sheet.format.width * scale), round(sheet.format.height * scale)), 255)
    pen = ImageDraw.Draw(image)
    for line in sheet.lines:
        font = _font(line.size, line.bold, scale)
        x = line.x0 * scale
        for char in line.text:  # set char by char, as the composition measured it
            pen.text((x, line.y0 * scale), char, font=font, fill=0)
            x += font.getlength(char)
    for x0, y0, x1, y1 in sheet.frames:
        pen.rectangle([x0 * scale, y0 * scale, x1 * scale, y1 * scale], outline=0, width=max(1, round(scale)))
    for x0, y0, x1, y1 in sheet.rules:
        pen.line([x0 * scale, y0 * scale, x1 * scale, y1 * scale], fill=90, width=max(1, round(scale / 2)))
    return image


def degrade(image: Image.Image, seed: int) -> Image.Image:
    """A worn scan of ``image``: skew within ±1.5°, blur, speckle noise and an uneven background (seeded)."""
    rng = random.Random(seed)
    out = image.rotate(rng.uniform(-1.5, 1.5), resample=Image.BICUBIC, fillcolor=255)
    out = out.filter(ImageFilter.GaussianBlur(0.6))
    width, height = out.size
    shade = Image.linear_gradient("L").resize((width, height)).point(lambda v: 255 - v // 6)
    shade = shade.rotate(rng.choice((0, 90, 180, 270)), expand=False).resize((width, height))
    out = Image.composite(out, shade, out.point(lambda v: 255 - v))
    pixels = out.load()
    for _ in range(width * height // 400):
        pixels[rng.randrange(width), rng.randrange(height)] = rng.choice((0, 60, 200))
    return out


def pixel_lines(sheet: Sheet, dpi: int) -> list[dict]:
    scale = dpi / 72
    return [{**asdict(line), "x0": line.x0 * scale, "y0": line.y0 * scale, "x1": line.x1 * scale,
             "y1": line.y1 * scale} for line in sheet.lines]


def write_sets(pages: list[Path], out: Path, dpis: list[int]) -> dict[str, Path]:
    """Every page in every set under ``out``; returns the set folders by name."""
    sheets = {}
    for path in pages:
        sheet = compose(path.read_text(encoding="utf-8"))
        if sheet is None:
            raise SystemExit(f"{path}: does not fit one sheet even at 6 points")
        sheets[path.stem] = sheet
    folders = {}
    for dpi in dpis:
        for kind in ("clean", "degraded"):
            folder = out / f"{kind}-{dpi}"
            folder.mkdir(parents=True, exist_ok=True)
            truth = {}
            for n, (stem, sheet) in enumerate(sheets.items()):
                image = draw(sheet, dpi)
                if kind == "clean":
                    image.save(folder / f"{stem}.png", optimize=True)
                else:
                    image = degrade(image, seed=1000 * dpi + n)
                    buffer = io.BytesIO()
                    image.save(buffer, "JPEG", quality=60)
                    (folder / f"{stem}.jpg").write_bytes(buffer.getvalue())
                    image = Image.open(buffer)
                (folder / "pdf").mkdir(exist_ok=True)
                image.save(folder / "pdf" / f"{stem}.pdf", "PDF", resolution=dpi)
                truth[stem] = {"dpi": dpi, "size": image.size, "text": sheet.text(),
                               "lines": pixel_lines(sheet, dpi)}
            (folder / "truth.json").write_text(json.dumps(truth, ensure_ascii=False), encoding="utf-8")
            folders[folder.name] = folder
    return folders


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="*", type=Path, help="text pages (default: the five sample pages)")
    parser.add_argument("--out", type=Path, default=ROOT / "embeddings" / "scans")
    parser.add_argument("--dpi", type=int, nargs="+", default=[300, 200])
    args = parser.parse_args()
    pages = args.pages or sorted((PACKAGE / "sample").glob("*.txt"))
    for name, folder in write_sets(pages, args.out, args.dpi).items():
        print(f"{name}: {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
