"""Drawing for the synthetic world: a textured background and anti-aliased shapes, in numpy.

Shapes are evaluated as signed distances on a small patch around each object (not the whole
frame), so a frame with a few objects costs a few small array operations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_SQRT3 = np.sqrt(3.0)
# Outward edge normals of an upward-pointing equilateral triangle (image y grows downwards).
_TRIANGLE_NORMALS = np.array([[0.0, 1.0], [_SQRT3 / 2, -0.5], [-_SQRT3 / 2, -0.5]])


@dataclass(frozen=True)
class Sprite:
    """One object drawn in one frame."""

    shape: str  # "circle", "square", "triangle", "bar" or "diamond"
    colour_rgb: tuple[float, float, float]  # 0..255
    x_px: float  # centre, image coordinates
    y_px: float
    radius_px: float  # half-size before scaling
    angle_rad: float = 0.0
    scale_x: float = 1.0  # squash and stretch (bounce) or growth (pulse)
    scale_y: float = 1.0
    flash: float = 0.0  # 0..1: blend of the colour towards white (contact flash)


def _signed_distance(shape: str, x: np.ndarray, y: np.ndarray, r: float) -> np.ndarray:
    """Positive inside, in pixels (approximately, for the polygonal shapes)."""
    if shape == "circle":
        return r - np.hypot(x, y)
    if shape == "square":
        return r - np.maximum(np.abs(x), np.abs(y))
    if shape == "diamond":
        return (r * 1.3 - (np.abs(x) + np.abs(y))) / np.sqrt(2.0)
    if shape == "bar":
        return np.minimum(r * 1.3 - np.abs(x), r * 0.4 - np.abs(y))
    if shape == "triangle":
        inradius = r * 0.6
        y_centroid = y - r * 0.15  # centre the triangle's visual mass on the object position
        nx, ny = _TRIANGLE_NORMALS[:, 0], _TRIANGLE_NORMALS[:, 1]
        dots = x[..., None] * nx + y_centroid[..., None] * ny  # (..., 3) edge projections
        return inradius - dots.max(axis=-1)
    raise ValueError(f"unknown shape {shape!r}")


def draw_sprite(frame: np.ndarray, sprite: Sprite) -> None:
    """Alpha-blend ``sprite`` into ``frame`` (H, W, 3) float32, in place."""
    height, width = frame.shape[:2]
    reach = sprite.radius_px * 1.6 * max(sprite.scale_x, sprite.scale_y) + 2
    y0, y1 = max(0, int(sprite.y_px - reach)), min(height, int(sprite.y_px + reach) + 1)
    x0, x1 = max(0, int(sprite.x_px - reach)), min(width, int(sprite.x_px + reach) + 1)
    if y0 >= y1 or x0 >= x1:
        return
    ys = np.arange(y0, y1, dtype=np.float32)[:, None] - sprite.y_px
    xs = np.arange(x0, x1, dtype=np.float32)[None, :] - sprite.x_px
    cos, sin = np.cos(sprite.angle_rad), np.sin(sprite.angle_rad)
    # Rotate the sampling grid by -angle, then undo the squash, to evaluate the canonical shape.
    u = (cos * xs + sin * ys) / sprite.scale_x
    v = (-sin * xs + cos * ys) / sprite.scale_y
    scale = min(sprite.scale_x, sprite.scale_y)
    alpha = np.clip(0.5 + scale * _signed_distance(sprite.shape, u, v, sprite.radius_px), 0, 1)
    colour = np.asarray(sprite.colour_rgb, dtype=np.float32)
    colour = colour + sprite.flash * (255.0 - colour)
    patch = frame[y0:y1, x0:x1]
    patch += alpha[..., None] * (colour - patch)


def background(rng: np.random.Generator, height: int, width: int, floor_px: int,
               wall_px: int) -> np.ndarray:
    """Static textured backdrop (smooth colour blobs + grain) with a floor and two walls."""
    base = rng.uniform(70, 130, size=3)
    # Smooth texture: random noise low-passed in the Fourier domain.
    noise = rng.standard_normal((height, width, 3))
    spectrum = np.fft.rfft2(noise, axes=(0, 1))
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    spectrum *= np.exp(-(fy**2 + fx**2) / (2 * 0.05**2))[..., None]
    smooth = np.fft.irfft2(spectrum, s=(height, width), axes=(0, 1))
    smooth *= 18.0 / (smooth.std() + 1e-9)
    grain = rng.normal(0.0, 5.0, size=(height, width, 3))
    img = base + smooth + grain
    img[height - floor_px :] = img[height - floor_px :] * 0.45 + 20  # dark floor
    img[:, :wall_px] = img[:, :wall_px] * 0.45 + 20  # dark walls
    img[:, width - wall_px :] = img[:, width - wall_px :] * 0.45 + 20
    return np.clip(img, 0, 255).astype(np.float32)
