"""Loss values against hand computations, margin and gradient behaviour, build_loss."""

from __future__ import annotations

import math

import pytest
import torch

from avts.losses import ContrastiveLoss, CrossEntropySyncLoss, InfoNCELoss, build_loss

# Four pairs of unit vectors in 2-D with known distances:
#   row 0: (1,0) vs (1,0)       d = 0
#   row 1: (1,0) vs (0.6,0.8)   d^2 = 0.4^2 + 0.8^2 = 0.8, d = 0.894427...
#   row 2: same as row 1        d = 0.894427...
#   row 3: (1,0) vs (0,1)       d = sqrt(2) = 1.414... > 0.99
FV = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
FA = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.6, 0.8], [0.0, 1.0]])
Y = torch.tensor([1.0, 1.0, 0.0, 0.0])


def test_contrastive_matches_hand_computation() -> None:
    # positives: 0^2 + 0.8 ; negatives: (0.99 - 0.894427191)^2 = 0.0955728^2 = 0.00913416, and
    # row 3 is beyond the margin -> 0. Mean over 4 rows: (0.8 + 0.00913416) / 4 = 0.20228354.
    loss = ContrastiveLoss(margin=0.99)(FV, FA, Y)
    assert loss.item() == pytest.approx(0.20228354, abs=1e-6)
    assert (0.8 + (0.99 - math.sqrt(0.8)) ** 2) / 4 == pytest.approx(0.20228354, abs=1e-8)


def test_in_batch_negatives_add_cross_pairs_of_different_videos() -> None:
    # Positives are rows 0 and 1 (videos 7 and 8). Cross pairs: fv0 vs fa1 = (1,0) vs (0.6,0.8),
    # d = 0.894427 -> (0.99 - d)^2 = 0.00913416; fv1 vs fa0 = (1,0) vs (1,0), d = 0 -> 0.99^2.
    # Their mean, 0.49459208, is added to the paper's term 0.20228354.
    loss = ContrastiveLoss(0.99, in_batch_negatives=True)
    groups = torch.tensor([7, 8, 7, 8])
    expected = 0.20228354 + (0.00913416 + 0.99**2) / 2
    assert loss(FV, FA, Y, groups=groups).item() == pytest.approx(expected, abs=1e-6)
    # Rows from the same video are never each other's negatives; without groups: paper loss.
    same = torch.tensor([7, 7, 7, 7])
    assert loss(FV, FA, Y, groups=same).item() == pytest.approx(0.20228354, abs=1e-6)
    assert loss(FV, FA, Y).item() == pytest.approx(0.20228354, abs=1e-6)


def test_contrastive_pair_score_is_minus_distance() -> None:
    score = ContrastiveLoss().pair_score(FV, FA)
    expected = torch.tensor([0.0, -math.sqrt(0.8), -math.sqrt(0.8), -math.sqrt(2.0)])
    torch.testing.assert_close(score, expected, atol=1e-5, rtol=0)


def test_negatives_beyond_margin_contribute_nothing() -> None:
    fa = FA[3:].clone().requires_grad_(True)  # d = 1.414 > 0.99
    loss = ContrastiveLoss(margin=0.99)(FV[3:], fa, torch.tensor([0.0]))
    loss.backward()
    assert loss.item() == 0.0
    assert fa.grad is not None and torch.all(fa.grad == 0)
    # With a larger margin (eta = 1.5) the same pair is inside it: (1.5 - sqrt 2)^2 = 0.0073593.
    assert ContrastiveLoss(margin=1.5)(FV[3:], FA[3:], torch.tensor([0.0])).item() == (
        pytest.approx((1.5 - math.sqrt(2.0)) ** 2, abs=1e-6)
    )


def test_contrastive_gradient_pulls_positives_and_pushes_negatives() -> None:
    fv = FV[1:2].clone().requires_grad_(True)
    fa = FA[1:2].clone().requires_grad_(True)
    for label, sign in [(1.0, -1.0), (0.0, 1.0)]:
        fv.grad = None
        fa.grad = None
        ContrastiveLoss()(fv, fa, torch.tensor([label])).backward()
        assert fv.grad is not None and fa.grad is not None
        step_v = -fv.grad  # gradient-descent direction
        gap = (fa - fv).detach()
        # positive: fv moves towards fa (sign -1 means distance shrinks); negative: away.
        assert sign * (step_v * gap).sum().item() < 0
        # positive: d(d^2)/dfv = 2 (fv - fa) = 2 * (0.4, -0.8)
        if label == 1.0:
            torch.testing.assert_close(fv.grad, torch.tensor([[0.8, -1.6]]))


def test_contrastive_gradient_finite_when_embeddings_coincide() -> None:
    fv = FV[:1].clone().requires_grad_(True)
    ContrastiveLoss()(fv, FA[:1], torch.tensor([0.0])).backward()  # d = 0, loss = 0.99^2
    assert fv.grad is not None and torch.isfinite(fv.grad).all()


def test_infonce_matches_manual_log_softmax() -> None:
    # Positives: v = [(1,0), (0,1)], a = [(1,0), (0.6,0.8)], tau = 0.5 -> logits = v a^T / tau
    #   = [[2.0, 1.2], [0.0, 1.6]]. Row (video->audio) terms: log(1 + e^-0.8) = 0.371101,
    #   log(1 + e^-1.6) = 0.183901; column (audio->video) terms: log(1 + e^-2) = 0.126928,
    #   log(1 + e^-0.4) = 0.513015. Loss = 0.5 * (mean rows + mean cols) = 0.298736.
    # A third, negative row (y = 0) must be ignored.
    fv = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    fa = torch.tensor([[1.0, 0.0], [0.6, 0.8], [-1.0, 0.0]])
    y = torch.tensor([1.0, 1.0, 0.0])
    loss = InfoNCELoss(temperature=0.5)(fv, fa, y)
    logits = torch.tensor([[2.0, 1.2], [0.0, 1.6]])
    rows = -torch.log_softmax(logits, dim=1).diag().mean()
    cols = -torch.log_softmax(logits, dim=0).diag().mean()
    assert loss.item() == pytest.approx(0.5 * (rows + cols).item(), abs=1e-6)
    assert loss.item() == pytest.approx(0.298736, abs=1e-5)
    torch.testing.assert_close(
        InfoNCELoss().pair_score(fv, fa), torch.tensor([1.0, 0.8, 0.0]), atol=1e-6, rtol=0
    )


def test_infonce_with_fewer_than_two_positives_is_zero_with_grad() -> None:
    fv = FV.clone().requires_grad_(True)
    loss = InfoNCELoss()(fv, FA, torch.tensor([1.0, 0.0, 0.0, 0.0]))
    assert loss.item() == 0.0 and loss.requires_grad
    loss.backward()
    assert fv.grad is not None and torch.all(fv.grad == 0)


def test_cross_entropy_matches_manual_bce_for_a_fixed_head() -> None:
    # hidden 0 = sum(fv * fa) (the dot product), hidden 1 = sum |fv - fa| (L1 distance);
    # logit = 3 * h0 - 1 * h1 - 0.5.
    #   pair (1,0)/(0.6,0.8): h0 = 0.6, h1 = 1.2 -> logit = 1.8 - 1.2 - 0.5 = 0.1,  y = 1
    #   pair (1,0)/(0,1):     h0 = 0.0, h1 = 2.0 -> logit = -2.5,                  y = 0
    # BCE = mean(log(1 + e^-0.1), log(1 + e^-2.5)) = mean(0.644397, 0.078889) = 0.361643.
    loss_fn = CrossEntropySyncLoss(embed_dim=2, hidden=2)
    first, second = loss_fn.head[0], loss_fn.head[2]
    with torch.no_grad():
        first.weight.zero_()
        first.bias.zero_()
        first.weight[0, 6:8] = 1.0  # input layout: [fv (0:2), fa (2:4), |fv-fa| (4:6), fv*fa (6:8)]
        first.weight[1, 4:6] = 1.0
        second.weight.copy_(torch.tensor([[3.0, -1.0]]))
        second.bias.fill_(-0.5)
    fv, fa = FV[[1, 3]], FA[[1, 3]]
    y = torch.tensor([1.0, 0.0])
    torch.testing.assert_close(loss_fn.pair_score(fv, fa), torch.tensor([0.1, -2.5]))
    manual = 0.5 * (math.log1p(math.exp(-0.1)) + math.log1p(math.exp(-2.5)))
    assert manual == pytest.approx(0.361643, abs=1e-6)
    assert loss_fn(fv, fa, y).item() == pytest.approx(manual, abs=1e-6)


def test_build_loss() -> None:
    assert isinstance(build_loss("contrastive", margin=0.5, embed_dim=8), ContrastiveLoss)
    assert build_loss("contrastive", margin=0.5, embed_dim=8).margin == 0.5
    ce = build_loss("cross_entropy", margin=0.99, embed_dim=8)
    assert isinstance(ce, CrossEntropySyncLoss) and ce.head[0].in_features == 32
    assert isinstance(build_loss("infonce", margin=0.99, embed_dim=8), InfoNCELoss)
    with pytest.raises(ValueError, match="unknown loss"):
        build_loss("triplet", margin=0.99, embed_dim=8)


@pytest.mark.parametrize("name", ["contrastive", "cross_entropy", "infonce"])
def test_losses_are_scalars_with_per_pair_scores(name: str) -> None:
    torch.manual_seed(0)
    fv = torch.nn.functional.normalize(torch.randn(6, 16), dim=1).requires_grad_(True)
    fa = torch.nn.functional.normalize(torch.randn(6, 16), dim=1)
    y = torch.tensor([1.0, 0.0, 1.0, 0.0, 1.0, 0.0])
    loss_fn = build_loss(name, margin=0.99, embed_dim=16)
    loss = loss_fn(fv, fa, y)
    assert loss.dim() == 0 and torch.isfinite(loss)
    loss.backward()
    assert fv.grad is not None and fv.grad.abs().sum() > 0
    assert loss_fn.pair_score(fv, fa).shape == (6,)
