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


def test_sync_help_states_the_sign(capsys):
    with pytest.raises(SystemExit):
        main(["sync", "--help"])
    assert "AUDIO IS LATE" in capsys.readouterr().out
