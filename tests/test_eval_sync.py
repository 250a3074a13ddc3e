import numpy as np

from avts.data.pairs import kind_code
from avts.eval.sync import accuracy_by_kind, balanced_accuracy, choose_threshold


def _kinds(*names):
    return np.array([kind_code(n) for n in names])


def test_threshold_separates_positives_from_easy_and_hard():
    kind = _kinds("positive", "positive", "easy", "easy", "hard", "hard")
    score = np.array([-0.1, -0.2, -1.5, -1.4, -0.6, -0.5])
    t = choose_threshold(score, kind)
    assert -0.5 < t < -0.2
    acc = accuracy_by_kind(score, kind, t)
    assert acc.easy == 1.0 and acc.hard == 1.0 and acc.positive == 1.0
    assert acc.n_pairs["positive"] == 2


def test_accuracy_by_kind_hand_values():
    # threshold 0: positives 3/4 above; easy 2/2 below; hard 1/2 below.
    kind = _kinds("positive", "positive", "positive", "positive", "easy", "easy", "hard", "hard")
    score = np.array([1.0, 2.0, 3.0, -1.0, -1.0, -2.0, -1.0, 1.0])
    acc = accuracy_by_kind(score, kind, 0.0)
    assert acc.positive == 0.75
    assert acc.easy == (0.75 + 1.0) / 2
    assert acc.hard == (0.75 + 0.5) / 2
    assert np.isnan(acc.superhard)


def test_balanced_accuracy_weights_classes_equally():
    kind = _kinds("positive", "easy", "easy", "easy", "easy")
    score = np.array([1.0, -1.0, -1.0, -1.0, 2.0])
    assert balanced_accuracy(score, kind, 0.0, ["easy"]) == (1.0 + 0.75) / 2
