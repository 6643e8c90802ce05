"""Decode page images safely: a pixel limit per page, decompression bombs and corrupt files refused.

Pillow opens an image lazily (the header only), so every frame's size is checked against
``Config.max_image_pixels`` before a pixel is decoded; a small file that claims a huge
canvas (a decompression bomb) is refused at no cost. A multi-page TIFF gives one image per
frame. Images come back as 8-bit greyscale or RGB, the modes the OCR engine reads.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageSequence, UnidentifiedImageError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff"}


class ImageError(Exception):
    """An image that cannot be read; the message gives the reason (not the file name)."""


def image_frames(data: bytes, max_pixels: int, max_frames: int | None = None) -> list[Image.Image]:
    """Every frame of the image in ``data``, decoded; raises ``ImageError`` for corrupt, truncated, unknown or
    oversized images, and for one of more than ``max_frames`` frames (before decoding any)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
            count = getattr(image, "n_frames", 1)
            if max_frames is not None and count > max_frames:
                raise ImageError(f"{count:,} frames, over the {max_frames:,} pages a file may have "
                                 "(Config.max_pages_per_file); split it")
            frames = []
            for frame in ImageSequence.Iterator(image):
                check_pixels(*frame.size, max_pixels)
                frames.append(_plain(frame))
        except Image.DecompressionBombError as err:
            raise ImageError(f"refused as a decompression bomb ({err})") from err
        except UnidentifiedImageError as err:
            raise ImageError("not an image Pillow can read (corrupt, or another format under an image name)") \
                from err
        except (OSError, SyntaxError, ValueError, EOFError) as err:
            raise ImageError(f"corrupt or truncated image ({err})") from err
    if not frames:
        raise ImageError("the image has no frames")
    return frames


def check_pixels(width: int, height: int, max_pixels: int) -> None:
    """Refuse a page of more than ``max_pixels`` pixels (``Config.max_image_pixels``) before it is decoded."""
    if width * height > max_pixels:
        raise ImageError(f"{width}×{height} pixels is over the {max_pixels:,}-pixel limit per page "
                         "(Config.max_image_pixels); a decompression bomb, or scan it at a lower resolution")


def _plain(frame: Image.Image) -> Image.Image:
    """The decoded frame as greyscale or RGB (palette, 1-bit, CMYK; alpha flattened on white)."""
    frame.load()
    if frame.mode in ("L", "RGB"):
        return frame.copy()
    if frame.mode in ("RGBA", "LA", "P", "PA"):
        rgba = frame.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return frame.convert("L" if frame.mode == "1" else "RGB")
