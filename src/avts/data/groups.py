"""Groups of files that stay on one side of the train/validation split (``data.group_by``).

Clips of one speaker or cut from one source recording must not be split, or validation measures
memory of the person rather than sync. A group comes from a regex over the file name (its first
group, or else the whole match) or from a CSV file with the header ``file,group``, where ``file``
is the path relative to the data folder or the file name alone. Files that match no group are
each their own group, with a warning.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from avts.config import is_group_csv
from avts.data.tables import read_columns
from avts.errors import ConfigError
from avts.types import MediaInfo

log = logging.getLogger(__name__)

GroupFn = Callable[[MediaInfo], str]


def read_group_csv(path: str | Path) -> dict[str, str]:
    """``file -> group`` from a CSV with the header ``file,group``; a bad file is a ConfigError."""
    table: dict[str, str] = {}
    for line, (name, group) in read_columns(path, ("file", "group"), "data.group_by",
                                            "a CSV with the header 'file,group'"):
        if not name or not group:
            raise ConfigError(f"data.group_by: {path} line {line}: empty file or group")
        name = Path(name).as_posix().removeprefix("./")
        if table.setdefault(name, group) != group:
            raise ConfigError(f"data.group_by: {path} line {line}: {name} is listed in groups "
                              f"{table[name]!r} and {group!r}")
    return table


def _regex_group(pattern: re.Pattern[str], name: str) -> str | None:
    match = pattern.search(name)
    if match is None:
        return None
    return (match.group(1) if pattern.groups else match.group(0)) or None


def group_names(paths: Sequence[Path], group_by: str, root: Path) -> dict[Path, str | None]:
    """The group of each file under ``root``; None where the regex or the CSV names none."""
    if is_group_csv(group_by):
        table = read_group_csv(group_by)

        def lookup(path: Path) -> str | None:
            rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else None
            return table.get(rel) if rel in table else table.get(path.name)
    else:
        pattern = re.compile(group_by)

        def lookup(path: Path) -> str | None:
            return _regex_group(pattern, path.name)

    return {path: lookup(path) for path in paths}


def group_fn(videos: Sequence[MediaInfo], group_by: str | None, root: Path) -> GroupFn | None:
    """The ``split_by_video`` key for ``data.group_by`` (None: every file its own group)."""
    if group_by is None:
        return None
    names = group_names([v.path for v in videos], group_by, root)
    loose = sorted(p.name for p, g in names.items() if g is None)
    if loose:
        shown = ", ".join(loose[:5]) + (", ..." if len(loose) > 5 else "")
        log.warning("data.group_by=%s: %d of %d files belong to no group and are each their own "
                    "group: %s", group_by, len(loose), len(names), shown)
    keys = {p: f"group {g}" if g is not None else f"file {p}" for p, g in names.items()}
    return lambda info: keys[info.path]
