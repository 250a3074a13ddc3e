"""The CSV tables that configs point at (avts.data.tables)."""

import pytest

from avts.data.tables import read_columns
from avts.errors import ConfigError


def test_columns_in_any_order_extra_ones_ignored_blank_lines_skipped(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("\ufeffNote, Group ,file\nx,g1, a.mp4 \n\n,,\ny,g2\n")
    assert read_columns(path, ("file", "group"), "k", "a table") == [
        (2, ["a.mp4", "g1"]), (5, ["", "g2"])]


def test_a_missing_column_or_file_is_one_line_naming_the_key(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("file,other\na,b\n")
    with pytest.raises(ConfigError, match=r"^k: .*t.csv must be a table; got file,other$"):
        read_columns(path, ("file", "group"), "k", "a table")
    path.write_text("")
    with pytest.raises(ConfigError, match="got an empty file"):
        read_columns(path, ("file",), "k", "a table")
    with pytest.raises(ConfigError, match="^k: cannot read"):
        read_columns(tmp_path / "gone.csv", ("file",), "k", "a table")
