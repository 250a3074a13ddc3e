import json

import pytest
from sync_media import write_flash_click_offset

from avts.cli import main


@pytest.fixture(scope="module")
def late_clip(tmp_path_factory):
    return write_flash_click_offset(tmp_path_factory.mktemp("cli") / "late.mp4", 200)


def test_sync_json_is_one_object(late_clip, capsys):
    assert main(["sync", str(late_clip), "--method", "baseline", "--json"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out)  # exactly one JSON document
    assert data["method"] == "baseline" and data["verdict"] == "out-of-sync"
    assert abs(data["offset_ms"] - 200) <= 40 and data["fps"] == 25.0


def test_sync_human_output_names_the_late_stream(late_clip, capsys):
    assert main(["sync", str(late_clip), "--method", "baseline"]) == 0
    out = capsys.readouterr().out
    assert "audio late" in out and "verdict: out-of-sync" in out and "confidence" in out


def test_sync_errors_are_one_line(tmp_path, late_clip, capsys, monkeypatch):
    monkeypatch.delenv("AVTS_CHECKPOINT", raising=False)
    assert main(["sync", str(late_clip)]) == 2  # no model for --method avts
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--checkpoint" in err and "Traceback" not in err
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    assert main(["sync", str(empty), "--method", "baseline"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["sync", str(late_clip), "--method", "baseline", "--search-ms", "9000"]) == 2
    capsys.readouterr()
    assert main(["sync", str(late_clip), "--method", "baseline", "--min-confidence", "2"]) == 2
    assert "minimum confidence" in capsys.readouterr().err


def test_min_confidence_turns_a_weak_answer_inconclusive(late_clip, capsys):
    assert main(["sync", str(late_clip), "--method", "baseline", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["verdict"] != "inconclusive" and first["confidence"] < 1.0
    assert main(["sync", str(late_clip), "--method", "baseline", "--json",
                 "--min-confidence", "1.0"]) == 0
    strict = json.loads(capsys.readouterr().out)
    assert strict["verdict"] == "inconclusive" and strict["offset_ms"] == first["offset_ms"]


def test_sync_help_states_the_sign(capsys):
    with pytest.raises(SystemExit):
        main(["sync", "--help"])
    assert "AUDIO IS LATE" in capsys.readouterr().out


def test_sync_with_a_framesync_checkpoint_from_the_environment(late_clip, tmp_path, capsys,
                                                               monkeypatch):
    from sync_media import make_framesync_checkpoint

    checkpoint = make_framesync_checkpoint(tmp_path / "fs.pt")
    monkeypatch.setenv("AVTS_CHECKPOINT", str(checkpoint))
    assert main(["sync", str(late_clip), "--json", "--search-ms", "500"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["method"] == "avts" and data["search_ms"] == 500 and data["timeline"]
    assert data["verdict"] in ("in-sync", "out-of-sync", "inconclusive")


def test_sync_uses_the_packaged_model_when_no_checkpoint_is_given(late_clip, tmp_path, capsys,
                                                                  monkeypatch):
    from sync_media import make_framesync_checkpoint

    import avts.api

    packaged = make_framesync_checkpoint(tmp_path / "assets" / "default.pt", seed=1)
    monkeypatch.delenv("AVTS_CHECKPOINT", raising=False)
    monkeypatch.setattr(avts.api, "DEFAULT_CHECKPOINT", packaged)
    assert main(["sync", str(late_clip), "--json", "--search-ms", "500"]) == 0
    assert json.loads(capsys.readouterr().out)["method"] == "avts"
