"""check_database: the --db mistakes refused before anything starts, and what is let through."""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

import pytest

from playhead.errors import ConfigError
from playhead.storage import preflight
from playhead.storage.preflight import SQLITE_HEADER, check_database, sqlite_path


def refusal(url: str) -> str:
    with pytest.raises(ConfigError) as caught:
        check_database(url)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_missing_file_in_an_existing_folder_is_fine_and_nothing_is_created(
    tmp_path: Path,
) -> None:
    check_database(str(tmp_path / "new.db"))
    check_database("sqlite:///" + str(tmp_path / "new.db"))
    assert list(tmp_path.iterdir()) == []


def test_an_empty_file_and_a_sqlite_database_are_fine(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    check_database(str(empty))
    real = tmp_path / "real.db"
    conn = sqlite3.connect(real)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    assert real.read_bytes()[:16] == SQLITE_HEADER
    check_database(str(real))
    check_database(":memory:")


def test_a_missing_folder_is_named_and_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "deeper"
    message = refusal(str(missing / "x.db"))
    assert message == (
        f"database {str(missing / 'x.db')!r}: the folder {str(missing)!r} does not exist "
        "(Playhead does not create folders: create it, or correct --db)"
    )
    assert not (tmp_path / "typo").exists()


def test_a_relative_path_names_the_absolute_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert f"the folder {str(tmp_path / 'nope')!r} does not exist" in refusal("nope/x.db")


def test_a_file_standing_where_the_folder_should_be(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    message = refusal(str(tmp_path / "file" / "x.db"))
    assert f"the folder {str(tmp_path / 'file')!r} is not a folder" in message


def test_a_folder_is_refused_with_a_file_suggested(tmp_path: Path) -> None:
    assert refusal(str(tmp_path)) == (
        f"database {str(tmp_path)!r} is a folder: give a file in it, "
        f"e.g. --db {tmp_path / 'playhead.db'}"
    )


@pytest.mark.parametrize(
    "content",
    [b"name,value\n1,2\n", b"SQLite format 3", b"SQLite format 2\x00" + b"\x00" * 100, b"\x00"],
)
def test_a_file_that_is_not_a_database_is_refused_and_left_alone(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    message = refusal(str(path))
    assert message.startswith(f"database {str(path)!r} is not a SQLite database")
    assert path.read_bytes() == content


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX special files")
def test_a_special_file_is_refused() -> None:
    assert refusal("/dev/null") == "database '/dev/null' is not a regular file"


def test_a_folder_or_file_playhead_may_not_write_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # os.access, not chmod: the tests may run as root, who may write anywhere
    read_only = {str(tmp_path / "ro"), str(tmp_path / "ro.db")}
    real = os.access
    monkeypatch.setattr(
        preflight.os, "access", lambda p, mode: str(p) not in read_only and real(p, mode)
    )
    (tmp_path / "ro").mkdir()
    assert refusal(str(tmp_path / "ro" / "x.db")) == (
        f"database {str(tmp_path / 'ro' / 'x.db')!r}: cannot create it, "
        f"the folder {str(tmp_path / 'ro')!r} is not writable"
    )
    (tmp_path / "ro.db").touch()
    assert (
        refusal(str(tmp_path / "ro.db")) == f"database {str(tmp_path / 'ro.db')!r} is not writable"
    )


@pytest.mark.parametrize(
    "url",
    ["mysql://user:secret@db.example/app", "https://example.com/x.db", "redis://localhost"],
)
def test_an_unknown_url_scheme_is_refused_without_repeating_the_url(url: str) -> None:
    message = refusal(url)
    scheme = url.split("://")[0] + "://"
    assert message == (
        f"unsupported database URL scheme {scheme!r} in --db: give a SQLite file path "
        "(or sqlite:///path) or a postgresql:// URL"
    )
    assert "secret" not in message


def test_an_empty_value_is_refused() -> None:
    assert refusal("") == "--db is empty: give a SQLite file path or a postgresql:// URL"
    assert refusal("sqlite:///") == "--db 'sqlite:///' names no file: give a SQLite file path"


def test_sqlite_paths_follow_the_storage_rules() -> None:
    assert sqlite_path("playhead.db") == "playhead.db"
    assert sqlite_path("sqlite:///rel/x.db") == "rel/x.db"
    assert sqlite_path("sqlite:////abs/x.db") == "/abs/x.db"
    assert sqlite_path("sqlite://x.db") == "x.db"
    assert sqlite_path("postgresql://u@h/db") is None
    assert sqlite_path("postgres://u@h/db") is None


def test_a_postgresql_url_needs_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "asyncpg" else real(name)
    )
    assert refusal("postgresql://u@h/db") == (
        'PostgreSQL needs the "postgres" extra: pip install "playhead[postgres]"'
    )


def test_a_postgresql_url_passes_when_the_extra_is_installed() -> None:
    pytest.importorskip("asyncpg", reason='asyncpg missing: pip install ".[postgres]"')
    check_database("postgresql://nobody@127.0.0.1:1/none")  # no connection is attempted
