import csv
import json
from pathlib import Path

import pytest
from conftest import write_bad_files
from sync_media import write_flash_click_offset

from avts.cli import main


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("scan") / "media"
    (root / "sub").mkdir(parents=True)
    good = write_flash_click_offset(root / "late.mp4", 200, duration_s=5.0, seed=1)
    write_flash_click_offset(root / "sub" / "in_sync.mp4", 0, duration_s=5.0, seed=2)
    write_bad_files(root / "broken", good)
    (root / "notes.txt").write_text("not a video, and not named like one")  # not picked up
    return root


BAD = {"empty.mp4", "notes.mp4", "truncated.mp4", "no_audio.mp4", "short.mp4"}


def _rows(path: Path) -> dict[str, dict]:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    by_name = {Path(r["file"]).name: r for r in rows}
    assert len(by_name) == len(rows)  # one line per file
    return by_name


def test_scan_writes_one_line_per_file_and_resumes(folder, tmp_path, capsys):
    out = tmp_path / "results.jsonl"
    assert main(["scan", str(folder), "--out", str(out), "--method", "baseline"]) == 0
    rows = _rows(out)
    assert set(rows) == {"late.mp4", "in_sync.mp4"} | BAD
    assert all(Path(r["file"]).is_absolute() for r in rows.values())
    for name in BAD - {"truncated.mp4"}:  # a truncated file may still decode in part
        assert "\n" not in rows[name]["error"] and rows[name]["error"]
    late, ok = rows["late.mp4"], rows["in_sync.mp4"]
    assert late["verdict"] == "out-of-sync" and abs(late["offset_ms"] - 200) <= 40
    assert ok["verdict"] == "in-sync" and abs(ok["offset_ms"]) <= 40
    assert {"file", "offset_ms", "offset_frames", "fps", "confidence", "verdict", "method",
            "timeline"} <= set(late) and late["timeline"][0].keys() >= {"start_s", "end_s"}
    n_err = sum("error" in r for r in rows.values())
    summary = capsys.readouterr().out
    assert f"{n_err} errors" in summary and "1 out-of-sync" in summary and "0 skipped" in summary

    before = out.read_text()
    assert main(["scan", str(folder), str(folder / "late.mp4"), "--out", str(out),
                 "--method", "baseline"]) == 0
    assert out.read_text() == before  # everything skipped, nothing added
    assert "7 skipped" in capsys.readouterr().out


def test_parallel_scan_gives_the_same_results(folder, tmp_path):
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    assert main(["scan", str(folder), "--out", str(one), "--method", "baseline"]) == 0
    assert main(["scan", str(folder), "--out", str(two), "--method", "baseline",
                 "--jobs", "2"]) == 0
    assert _rows(one) == _rows(two)


def test_interrupted_output_is_resumed_from_its_last_whole_line(folder, tmp_path):
    out = tmp_path / "results.jsonl"
    first = json.dumps({"file": str((folder / "late.mp4").resolve()), "error": "earlier"})
    out.write_text(first + "\n" + '{"file": "/half/writ')  # killed in the middle of a line
    assert main(["scan", str(folder), "--out", str(out), "--method", "baseline"]) == 0
    rows = _rows(out)  # every line parses
    assert rows["late.mp4"]["error"] == "earlier" and len(rows) == 7


def test_csv_output_parses(folder, tmp_path):
    out = tmp_path / "results.csv"
    assert main(["scan", str(folder / "late.mp4"), str(folder / "broken" / "empty.mp4"),
                 "--out", str(out), "--method", "baseline", "--csv"]) == 0
    with open(out, newline="") as fh:
        rows = {Path(r["file"]).name: r for r in csv.DictReader(fh)}
    assert set(rows) == {"late.mp4", "empty.mp4"}
    late = rows["late.mp4"]
    assert late["verdict"] == "out-of-sync" and abs(float(late["offset_ms"]) - 200) <= 40
    assert json.loads(late["timeline"])[0]["offset_ms"] is not None and late["error"] == ""
    assert rows["empty.mp4"]["error"] and rows["empty.mp4"]["verdict"] == ""
    assert main(["scan", str(folder / "late.mp4"), "--out", str(out), "--method",
                 "baseline"]) == 2  # a CSV output is not resumed as JSON lines


def test_bad_usage_exits_2(folder, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("AVTS_CHECKPOINT", raising=False)
    empty = tmp_path / "nothing"
    empty.mkdir()
    out = str(tmp_path / "r.jsonl")
    cases = [["scan", str(empty), "--out", out, "--method", "baseline"],
             ["scan", str(tmp_path / "missing.mp4"), "--out", out, "--method", "baseline"],
             ["scan", str(folder), "--out", str(tmp_path), "--method", "baseline"],
             ["scan", str(folder), "--out", out, "--method", "baseline", "--jobs", "0"],
             ["scan", str(folder), "--out", out, "--method", "baseline", "--search-ms", "0"],
             ["scan", str(folder), "--out", out]]  # --method avts without a model
    for argv in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
    assert not Path(out).exists()
