import numpy as np

from avts.synth.sound import TIMBRES, class_sound, spectral_centroid_hz


def test_class_timbres_are_ordered_by_spectral_centroid() -> None:
    rng = np.random.default_rng(0)
    order = ["thud", "tone", "chirp", "bell", "clicks"]
    assert set(order) == set(TIMBRES)
    centroids = [np.median([spectral_centroid_hz(class_sound(name, rng, 16000), 16000)
                            for _ in range(8)]) for name in order]
    assert centroids == sorted(centroids)
    assert np.all(np.diff(centroids) > 300)
