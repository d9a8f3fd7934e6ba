"""Run folders appear whole or not at all."""

from __future__ import annotations

import json
import os

import pytest

from netlm_bayes import runs
from netlm_bayes.errors import InputError


def test_success_renames_the_staging_folder(tmp_path):
    destination = tmp_path / "results" / "run"
    with runs.run_folder(destination) as staging:
        assert staging != destination and staging.parent == destination.parent
        (staging / "a.txt").write_text("x")
    assert (destination / "a.txt").read_text() == "x"
    assert [p.name for p in destination.parent.iterdir()] == ["run"]


@pytest.mark.parametrize("exception", [RuntimeError("boom"), KeyboardInterrupt()])
def test_failure_or_interrupt_leaves_nothing(tmp_path, exception):
    destination = tmp_path / "results" / "run"
    with pytest.raises(type(exception)), runs.run_folder(destination) as staging:
        (staging / "half.nc").write_text("half")
        raise exception
    assert not destination.exists()
    assert list(destination.parent.iterdir()) == []


def test_non_empty_destination_is_refused(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "old.csv").write_text("old")
    with (
        pytest.raises(InputError, match="exists and is not empty"),
        runs.run_folder(tmp_path / "run"),
    ):
        pass
    assert (tmp_path / "run" / "old.csv").read_text() == "old"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_parent_is_a_clear_error(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(InputError, match="cannot write"), runs.run_folder(locked / "run"):
        pass


def test_unwritable_parent_because_it_is_a_file(tmp_path):
    blocker = tmp_path / "results"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(InputError, match="cannot write"), runs.run_folder(blocker / "run"):
        pass


def test_manifest_records_inputs_versions_and_command(tmp_path):
    data = tmp_path / "input.toml"
    data.write_text("a = 1\n")
    runs.write_manifest(tmp_path, [data], seed=5)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["seed"] == 5
    assert list(manifest["inputs"].values()) == [runs.sha256(data)]
    assert {"python", "pymc", "nutpie", "arviz"} <= set(manifest["versions"])
    assert manifest["command"]
