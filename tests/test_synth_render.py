import math

import numpy as np
import pytest

from avts.synth.render import Sprite, background, draw_sprite

R_PX = 8.0
# Area of each canonical shape at radius r (see render._signed_distance), in units of r**2.
AREA_PER_R2 = {"circle": math.pi, "square": 4.0, "diamond": 2 * 1.3**2, "bar": 2.6 * 0.8,
               "triangle": 3 * math.sqrt(3) * 0.6**2}


def _coverage(sprite: Sprite, size: int = 48) -> np.ndarray:
    """Per-pixel alpha of ``sprite``: a white sprite drawn on black, scaled to 0..1."""
    frame = np.zeros((size, size, 3), np.float32)
    draw_sprite(frame, sprite)
    return frame[..., 0] / 255.0


@pytest.mark.parametrize("shape", sorted(AREA_PER_R2))
def test_each_shape_covers_its_area_around_its_centre(shape: str) -> None:
    alpha = _coverage(Sprite(shape, (255, 255, 255), 24.0, 24.0, R_PX))
    assert alpha.sum() == pytest.approx(AREA_PER_R2[shape] * R_PX**2, rel=0.03)
    assert alpha[24, 24] == 1.0 and alpha[0, 0] == 0.0 and alpha[47, 47] == 0.0


def test_rotation_and_squash_keep_a_circle_a_circle_and_an_ellipse_its_area() -> None:
    base = _coverage(Sprite("circle", (255, 255, 255), 24.0, 24.0, R_PX))
    turned = _coverage(Sprite("circle", (255, 255, 255), 24.0, 24.0, R_PX, angle_rad=0.7))
    np.testing.assert_allclose(turned, base, atol=1e-5)
    squashed = _coverage(Sprite("circle", (255, 255, 255), 24.0, 24.0, R_PX, scale_x=1.25,
                                scale_y=0.8))
    assert squashed.sum() == pytest.approx(base.sum(), rel=0.03)
    assert squashed[24, 24 + 9] > 0.5 and squashed[24 + 9, 24] < 0.5  # wider than tall


def test_flash_blends_the_colour_towards_white() -> None:
    frame = np.zeros((32, 32, 3), np.float32)
    draw_sprite(frame, Sprite("square", (200, 0, 100), 16.0, 16.0, R_PX, flash=0.5))
    np.testing.assert_allclose(frame[16, 16], [227.5, 127.5, 177.5])


def test_sprites_at_or_beyond_the_border_are_clipped() -> None:
    frame = np.zeros((32, 32, 3), np.float32)
    draw_sprite(frame, Sprite("circle", (255, 255, 255), -40.0, 16.0, R_PX))
    assert not frame.any()
    # Pixel centres are at integers: a centre at x = -0.5 leaves exactly half the disc inside.
    draw_sprite(frame, Sprite("circle", (255, 255, 255), -0.5, 16.0, R_PX))
    half = frame[..., 0].sum() / 255.0
    assert half == pytest.approx(math.pi * R_PX**2 / 2, rel=0.03)


def test_unknown_shape_is_rejected() -> None:
    with pytest.raises(ValueError, match="hexagon"):
        _coverage(Sprite("hexagon", (255, 255, 255), 24.0, 24.0, R_PX))


def test_background_is_deterministic_with_dark_floor_and_walls() -> None:
    img = background(np.random.default_rng(3), 64, 80, floor_px=8, wall_px=4)
    again = background(np.random.default_rng(3), 64, 80, floor_px=8, wall_px=4)
    np.testing.assert_array_equal(img, again)
    assert img.shape == (64, 80, 3) and img.dtype == np.float32
    assert 0 <= img.min() and img.max() <= 255
    # Each band is darker than the strip of backdrop next to it (the texture varies slowly).
    assert img[56:].mean() < img[48:56].mean() - 15
    assert img[:56, :4].mean() < img[:56, 4:8].mean() - 15
    assert img[:56, 76:].mean() < img[:56, 72:76].mean() - 15
