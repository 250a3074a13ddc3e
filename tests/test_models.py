"""Shapes, MC3/R3D kernel layout, pooling, normalisation, sizes and a tiny overfit run."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest
import torch
from torch import nn

from avts.config import Config, ModelConfig, tiny
from avts.losses import ContrastiveLoss
from avts.models import AudioNet, TwoStream, VideoNet, build_model, count_parameters

PAPER = Config().model
TINY = tiny()


def _conv_kernels(module: nn.Module) -> list[tuple[int, ...]]:
    """Kernel sizes of the 3x3-type convs (the 1x1x1 shortcut projections are left out)."""
    return [
        tuple(m.kernel_size)
        for m in module.modules()
        if isinstance(m, nn.Conv3d) and m.kernel_size != (1, 1, 1)
    ]


def test_paper_model_shapes_on_small_input() -> None:
    torch.manual_seed(0)
    model = build_model(PAPER).eval()
    video = torch.randn(2, 3, 8, 64, 64)  # (B, 3, T, H, W), smaller than the paper's 25x112x112
    audio = torch.randn(2, 1, 40, 101)  # (B, 1, n_mels, n_frames): 1 s at a 10 ms hop
    with torch.no_grad():
        fv, fa = model(video, audio)
        assert fv.shape == fa.shape == (2, PAPER.embed_dim)
        assert model.video.features(video).shape == (2, 512, 8, 4, 4)  # MC3 keeps T; H, W /16
        assert model.audio.features(audio).shape == (2, 512, 3, 7)  # "conv5"
    assert model.video.out_dim == model.audio.out_dim == 512


def test_tiny_model_shapes() -> None:
    model = build_model(TINY.model, TINY.data.clip, TINY.data.mel).eval()
    video, audio = model.example_inputs(3)
    assert video.shape == (3, 3, TINY.data.clip.n_frames, 40, 40)
    assert audio.shape == (3, 1, 32, 51)  # 1 s at a 20 ms hop
    with torch.no_grad():
        fv, fa = model(video, audio)
    assert fv.shape == fa.shape == (3, 64)
    assert model.video.out_dim == model.audio.out_dim == 64 * 4  # pool="time", 4 steps


def test_mc3_has_3d_kernels_only_in_stem_and_first_stage() -> None:
    net = VideoNet(PAPER)
    assert net.stem[0].kernel_size == (3, 7, 7)
    assert set(_conv_kernels(net.stages[0])) == {(3, 3, 3)}
    for stage in net.stages[1:]:
        assert set(_conv_kernels(stage)) == {(1, 3, 3)}
        assert all(m.stride[0] == 1 for m in stage.modules() if isinstance(m, nn.Conv3d))


def test_r3d_is_3d_everywhere() -> None:
    net = VideoNet(dataclasses.replace(PAPER, video_arch="r3d"))
    assert net.stem[0].kernel_size == (3, 7, 7)
    assert set(_conv_kernels(net.stages)) == {(3, 3, 3)}
    with torch.no_grad():
        fmap = net.eval().features(torch.randn(1, 3, 8, 32, 32))
    assert fmap.shape == (1, 512, 1, 2, 2)  # T: 8 -> 4 -> 2 -> 1; H, W: 32 -> 2


@pytest.mark.parametrize("arch", ["mc3", "r3d"])
@pytest.mark.parametrize("pool", ["global", "time"])
def test_pool_modes(arch: str, pool: str) -> None:
    cfg = dataclasses.replace(TINY.model, video_arch=arch, pool=pool, pool_time_steps=3)
    video_net, audio_net = VideoNet(cfg).eval(), AudioNet(cfg).eval()
    expected = 64 if pool == "global" else 64 * 3
    assert video_net.out_dim == audio_net.out_dim == expected
    with torch.no_grad():
        # A single frame and a very short spectrogram must still work (T, F never reach 0).
        for t, n_frames in [(8, 101), (1, 3)]:
            assert video_net(torch.randn(2, 3, t, 48, 48)).shape == (2, expected)
            assert audio_net(torch.randn(2, 1, 32, n_frames)).shape == (2, expected)


def test_time_pool_keeps_temporal_order() -> None:
    """With pool="time", reversing the spectrogram in time changes the feature."""
    torch.manual_seed(0)
    net = AudioNet(dataclasses.replace(TINY.model, pool="time")).eval()
    m = torch.randn(1, 1, 32, 64)
    with torch.no_grad():
        assert not torch.allclose(net(m), net(m.flip(-1)), atol=1e-4)


def test_space_max_pool_is_the_largest_response_over_space() -> None:
    """video_space_pool="max" reduces the last map by its maximum: a response confined to a few
    pixels survives it, where the paper's mean divides it by the map's area."""
    torch.manual_seed(0)
    cfg = dataclasses.replace(TINY.model, pool="time", video_space_pool="max")
    net = VideoNet(cfg).eval()
    x = torch.randn(2, 3, 8, 40, 40)
    with torch.no_grad():
        fmap = net.features(x)  # (B, C, T', H', W')
        torch.testing.assert_close(net(x), net.pool(fmap.amax(dim=(3, 4))))
        mean_net = VideoNet(dataclasses.replace(cfg, video_space_pool="mean")).eval()
        mean_net.load_state_dict(net.state_dict())
        torch.testing.assert_close(mean_net(x), net.pool(fmap.mean(dim=(3, 4))))


def test_embeddings_are_unit_norm() -> None:
    torch.manual_seed(0)
    model = build_model(TINY.model, TINY.data.clip, TINY.data.mel)
    video, audio = model.example_inputs(4)
    fv = model.embed_video(torch.randn_like(video) * 5)
    fa = model.embed_audio(torch.randn_like(audio) * 5)
    ones = torch.ones(4)
    torch.testing.assert_close(fv.norm(dim=1), ones)
    torch.testing.assert_close(fa.norm(dim=1), ones)


def test_parameter_counts() -> None:
    paper = count_parameters(build_model(PAPER))
    # The MC3-18 backbone without a classifier has the size of torchvision's mc3_18 minus its fc.
    assert paper == {"video": 11_490_240, "audio": 4_686_144, "heads": 656_640, "total": 16_833_024}
    small = count_parameters(build_model(TINY.model))
    assert small["total"] == small["video"] + small["audio"] + small["heads"] == 329_728
    r3d = count_parameters(build_model(dataclasses.replace(PAPER, video_arch="r3d")))
    assert 33_000_000 < r3d["video"] < 33_300_000  # R3D-18: ~33.2M backbone


def test_bad_config_is_rejected() -> None:
    with pytest.raises(ValueError, match="video_arch"):
        VideoNet(ModelConfig(video_arch="i3d"))
    with pytest.raises(ValueError, match="pool"):
        AudioNet(ModelConfig(pool="max"))
    with pytest.raises(ValueError, match="video_space_pool"):
        VideoNet(ModelConfig(video_space_pool="median"))


def test_tiny_model_overfits_a_batch() -> None:
    torch.manual_seed(0)
    model: TwoStream = build_model(TINY.model, TINY.data.clip, TINY.data.mel)
    loss_fn = ContrastiveLoss(margin=0.99)
    video, audio = model.example_inputs(8)
    video, audio = torch.randn_like(video), torch.randn_like(audio)
    y = torch.tensor([1.0, 0.0] * 4)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(40):
        fv, fa = model(video, audio)
        loss = loss_fn(fv, fa, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 5, losses


def test_models_and_losses_import_only_torch_and_config() -> None:
    src = Path(__file__).resolve().parents[1] / "src" / "avts"
    # models/build.py is where networks meet losses and checkpoint files (tested below).
    files = [*sorted(p for p in (src / "models").glob("*.py") if p.name != "build.py"),
             src / "losses.py"]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                ok = top in ("torch", "__future__") or name.startswith(
                    ("avts.models", "avts.config")
                )
                assert ok, f"{path.name} imports {name}"


def test_the_builder_imports_networks_losses_and_checkpoint_files_only() -> None:
    path = Path(__file__).resolve().parents[1] / "src" / "avts" / "models" / "build.py"
    allowed = ("__future__", "dataclasses", "pathlib", "torch", "avts.models", "avts.config",
               "avts.losses", "avts.checkpoint", "avts.errors")
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            assert node.module.startswith(allowed), f"build.py imports {node.module}"
        elif isinstance(node, ast.Import):
            assert all(a.name.startswith(allowed) for a in node.names)


def test_channels_last_on_cpu_gives_the_same_embeddings() -> None:
    """The CPU path converts inputs to channels-last for speed; the embeddings must not change."""
    torch.manual_seed(0)
    model = build_model(TINY.model).eval()
    video = torch.randn(2, 3, 8, 40, 40)
    audio = torch.randn(2, 1, 32, 51)
    with torch.no_grad():
        fv, fa = model(video, audio)
        ref_v = model.video.stages(model.video.stem(video))  # the default layout, by hand
        ref_a = model.audio.stages(audio)
    assert torch.allclose(model.video.features(video), ref_v, atol=1e-5)
    assert torch.allclose(model.audio.features(audio), ref_a, atol=1e-5)
    ref_fv = nn.functional.normalize(model.video_head(model.video.pool(ref_v.amax(dim=(3, 4)))))
    assert torch.allclose(fv, ref_fv, atol=1e-5)
    assert fa.shape == (2, 64)


def test_framesync_ensemble_cosine_is_the_mean_of_its_members():
    import torch

    from avts.models.framesync import FrameSync, FrameSyncEnsemble, video_input

    torch.manual_seed(0)
    ens = FrameSyncEnsemble(3, (4, 4, 4, 4), embed_dim=8, n_mels=16).eval()
    video = video_input(torch.randint(0, 256, (2, 12, 16, 16), dtype=torch.uint8))
    mel = torch.randn(2, 1, 16, 48)
    with torch.no_grad():
        v, a = ens.video_steps(video), ens.audio_steps(mel)[:, :12]
        members = [(m.video_steps(video), m.audio_steps(mel)[:, :12]) for m in ens.members]
    assert v.shape == (2, 12, 24) and ens.embed_dim == 24
    assert torch.allclose(v.norm(dim=-1), torch.ones(2, 12), atol=1e-5)
    mean_cos = torch.stack([(mv * ma).sum(-1) for mv, ma in members]).mean(0)
    assert torch.allclose((v * a).sum(-1), mean_cos, atol=1e-5)
    one = FrameSync((4, 4, 4, 4), 8, 16)
    assert FrameSyncEnsemble.window_embedding(v).shape == one.window_embedding(v).shape


def _changed_steps(before, after) -> list[int]:
    import torch

    return torch.nonzero((before - after).abs().amax(dim=(0, 2)) > 1e-6).flatten().tolist()


def test_framesync_dilations_set_the_temporal_reach():
    import torch

    from avts.models.framesync import FrameSync, video_input

    torch.manual_seed(0)
    video = video_input(torch.randint(0, 256, (1, 40, 16, 16), dtype=torch.uint8))
    poked = video.clone()
    poked[:, :, 20] += 1.0  # one frame's input changed: which output steps see it?
    mel = torch.randn(1, 1, 16, 160)
    mel_poked = mel.clone()
    mel_poked[..., 80:82] += 5.0  # one 25 Hz step of audio (4 mel frames), its mean kept
    mel_poked[..., 82:84] -= 5.0
    reach = {}
    for dil in ((1, 1), (1, 2, 4)):
        model = FrameSync((4, 4, 4, 4), 8, 16, video_dilations=dil, audio_dilations=dil).eval()
        with torch.no_grad():
            v = _changed_steps(model.video_steps(video), model.video_steps(poked))
            a = _changed_steps(model.audio_steps(mel), model.audio_steps(mel_poked))
        reach[dil] = (v, a)
    # Each kernel-5 conv adds 2 * dilation steps a side: at most 4 and 14 steps either way (a
    # step may not change where ReLUs are off).
    (v_short, a_short), (v_long, a_long) = reach[(1, 1)], reach[(1, 2, 4)]
    assert 20 in v_short and set(v_short) <= set(range(16, 25))
    assert set(v_long) <= set(range(6, 35)) and max(abs(t - 20) for t in v_long) > 8
    assert max(a_long) - min(a_long) > max(a_short) - min(a_short) + 16  # audio: +28 steps


def test_framesync_default_layout_is_unchanged():
    """Checkpoints saved before the dilation options load: same keys, no audio stack."""
    from avts.models.framesync import FrameSync

    keys = set(FrameSync((4, 4, 4, 4), 8, 16).state_dict())
    assert not any(k.startswith("audio_time") for k in keys)
    assert {"video_time.0.weight", "video_time.3.weight"} <= keys
