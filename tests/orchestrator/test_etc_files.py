"""The snapshot of the host's loader files that each sandbox gets a copy of."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestrator.local import etc_files


def test_files_and_a_directorys_regular_files_are_read(tmp_path: Path) -> None:
    cache = tmp_path / "ld.so.cache"
    cache.write_bytes(b"\x00cache")
    conf_d = tmp_path / "ld.so.conf.d"
    (conf_d / "nested").mkdir(parents=True)
    (conf_d / "libc.conf").write_text("/usr/local/lib\n")
    zone = tmp_path / "UTC"
    zone.write_bytes(b"TZif")
    (tmp_path / "localtime").symlink_to(zone)
    paths = (str(cache), str(conf_d), str(tmp_path / "localtime"), str(tmp_path / "absent"))
    files = etc_files.snapshot(paths)
    assert files == {
        str(cache): b"\x00cache",
        str(conf_d / "libc.conf"): b"/usr/local/lib\n",
        str(tmp_path / "localtime"): b"TZif",  # the zone file the link names
    }


def test_a_changed_file_is_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(etc_files, "RECHECK_S", 0.0)  # look at the files on every call
    cache = tmp_path / "ld.so.cache"
    cache.write_bytes(b"old")
    conf_d = tmp_path / "conf.d"
    conf_d.mkdir()
    paths = (str(cache), str(conf_d))
    assert etc_files.snapshot(paths) == {str(cache): b"old"}
    replacement = tmp_path / "new-cache"
    replacement.write_bytes(b"new, longer")
    os.replace(replacement, cache)  # how ldconfig rewrites it: a new inode
    (conf_d / "cuda.conf").write_text("/usr/local/cuda/lib64\n")
    assert etc_files.snapshot(paths) == {
        str(cache): b"new, longer",
        str(conf_d / "cuda.conf"): b"/usr/local/cuda/lib64\n",
    }


def test_the_files_are_looked_at_again_only_after_a_while(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "ld.so.cache"
    cache.write_bytes(b"old")
    paths = (str(cache),)
    assert etc_files.snapshot(paths) == {str(cache): b"old"}
    cache.write_bytes(b"new")
    assert etc_files.snapshot(paths) == {str(cache): b"old"}  # within RECHECK_S
    monkeypatch.setattr(etc_files, "RECHECK_S", 0.0)
    assert etc_files.snapshot(paths) == {str(cache): b"new"}
