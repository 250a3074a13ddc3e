import numpy as np
import pytest

from avts.synth.sound import TIMBRES, add_at, background_noise, class_sound, spectral_centroid_hz


def test_class_timbres_are_ordered_by_spectral_centroid() -> None:
    rng = np.random.default_rng(0)
    order = ["thud", "tone", "chirp", "bell", "clicks"]
    assert set(order) == set(TIMBRES)
    centroids = [np.median([spectral_centroid_hz(class_sound(name, rng, 16000), 16000)
                            for _ in range(8)]) for name in order]
    assert centroids == sorted(centroids)
    assert np.all(np.diff(centroids) > 300)


def test_add_at_mixes_in_place_and_cuts_at_the_buffer_end() -> None:
    buffer = np.ones(10)
    add_at(buffer, np.arange(1.0, 5.0), 8)
    np.testing.assert_array_equal(buffer, [1, 1, 1, 1, 1, 1, 1, 1, 2, 3])
    add_at(buffer, np.ones(3), 10)  # past the end: nothing
    assert buffer.sum() == 13


def test_background_noise_has_unit_rms_and_more_low_than_high_energy() -> None:
    noise = background_noise(np.random.default_rng(0), 16000)
    assert noise.std() == pytest.approx(1.0, rel=1e-6)
    assert spectral_centroid_hz(noise, 16000) < 4000  # white noise would sit at 4 kHz
