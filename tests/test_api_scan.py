import json

from conftest import write_bad_files
from sync_media import write_flash_click_offset

import avts


def test_scan_summary_counts_this_run(tmp_path):
    (tmp_path / "in").mkdir()
    good = write_flash_click_offset(tmp_path / "in" / "late.mp4", 200, duration_s=5.0)
    bad = write_bad_files(tmp_path / "in" / "bad", good)
    out = tmp_path / "out" / "r.jsonl"  # its folder is created
    s = avts.scan([tmp_path / "in"], out, method="baseline", tolerance_late_ms=250)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    n_err = sum("error" in r for r in rows)
    assert (s.n_files, s.n_skipped, s.n_errors, s.n_measured) == (6, 0, n_err, 6 - n_err)
    assert n_err >= len(bad) - 1 and s.verdicts.get("in-sync") == 1  # 200 ms late < 250 ms
    assert s.to_dict()["out"] == str(out) and s.format == "jsonl"
    again = avts.scan([good, tmp_path / "in"], out, method="baseline")
    assert (again.n_files, again.n_skipped, again.n_measured, again.n_errors) == (6, 6, 0, 0)


def test_scan_measures_each_file_with_a_framesync_checkpoint(tmp_path):
    from sync_media import make_framesync_checkpoint

    checkpoint = make_framesync_checkpoint(tmp_path / "fs.pt")
    (tmp_path / "in").mkdir()
    write_flash_click_offset(tmp_path / "in" / "a.mp4", 200, duration_s=5.0)
    write_flash_click_offset(tmp_path / "in" / "b.mp4", -120, duration_s=5.0, seed=1)
    out = tmp_path / "r.jsonl"
    s = avts.scan([tmp_path / "in"], out, checkpoint=checkpoint, search_ms=500)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert (s.n_measured, s.n_errors) == (2, 0)
    assert all(r["method"] == "avts" and abs(r["offset_ms"]) <= 500 for r in rows)
