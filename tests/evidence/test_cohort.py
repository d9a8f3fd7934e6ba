"""Cohort CSVs: a valid file loads with its extra columns; each broken one is one clear error."""

from __future__ import annotations

import re

import pytest

from netlm_bayes.errors import InputError
from netlm_bayes.evidence import cohort

HEADER = "patient_id,hpfs_months,progressed,response,htb_gt25,ki67_gt10,pet_positive,border_clear"
GOOD_ROWS = ["P1,3.5,1,PR,1,0,0,1", "P2,12.25,0,SD,0,1,1,0", "P3,7,1,PD,1,1,0,0"]


def write(tmp_path, text: str | bytes, name: str = "cohort.csv"):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_valid_cohort_keeps_extra_columns(tmp_path):
    rows = [r + f",site{i}" for i, r in enumerate(GOOD_ROWS)]
    frame = cohort.read_cohort(write(tmp_path, "\n".join([HEADER + ",site", *rows]) + "\n"))
    assert list(frame["site"]) == ["site0", "site1", "site2"]
    assert frame["progressed"].dtype.kind == "i" and frame["hpfs_months"].dtype.kind == "f"
    assert list(cohort.non_response(frame)) == [0, 1, 1]


def _replace(row: int, column: str, value: str) -> str:
    names = HEADER.split(",")
    rows = [r.split(",") for r in GOOD_ROWS]
    rows[row][names.index(column)] = value
    return "\n".join([HEADER, *(",".join(r) for r in rows)]) + "\n"


BROKEN = {
    "missing column": (
        HEADER.replace(",border_clear", "") + "\nP1,3,1,PR,1,0,0\n",
        r"missing required column\(s\) border_clear",
    ),
    "renamed column": (
        HEADER.replace("hpfs_months", "hpfs") + "\n" + GOOD_ROWS[0] + "\n",
        r"missing required column\(s\) hpfs_months; found: patient_id, hpfs,",
    ),
    "empty time": (_replace(1, "hpfs_months", ""), r"row 2 \(line 3\), column hpfs_months: is empty"),
    "negative time": (_replace(0, "hpfs_months", "-2"), r"row 1 \(line 2\), column hpfs_months: -2.0 must be > 0"),
    "zero time": (_replace(2, "hpfs_months", "0"), r"row 3 \(line 4\), column hpfs_months: 0.0 must be > 0"),
    "event not 0/1": (_replace(0, "progressed", "yes"), r"column progressed: 'yes' is not a number"),
    "event 2": (_replace(0, "progressed", "2"), r"column progressed: 2.0 must be 0 or 1"),
    "unknown response": (_replace(1, "response", "MR"), r"column response: 'MR' must be one of"),
    "duplicate ids": (_replace(2, "patient_id", "P1"), r"duplicate patient_id 'P1'"),
    "non-numeric covariate": (_replace(1, "ki67_gt10", "high"), r"column ki67_gt10: 'high' is not a number"),
    "covariate not binary": (_replace(1, "pet_positive", "0.5"), r"column pet_positive: 0.5 must be 0 or 1"),
    "empty file": ("", r"the file is empty"),
    "header only": (HEADER + "\n", r"has a header but no patients"),
    "semicolons": (HEADER.replace(",", ";") + "\n" + GOOD_ROWS[0].replace(",", ";") + "\n", r"';'-delimited"),
    "non-UTF-8": (
        (HEADER + ",note\n" + GOOD_ROWS[0] + ",caf\xe9\n").encode("latin-1"),
        r"line 2 is not UTF-8",
    ),
    "infinite time": (_replace(0, "hpfs_months", "inf"), r"column hpfs_months: inf must be finite"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_cohort_gives_one_clear_message(tmp_path, case):
    text, pattern = BROKEN[case]
    path = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        cohort.read_cohort(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert re.search(pattern, message), message
    assert "\n" not in message and "Traceback" not in message


def test_many_problems_are_listed_once_each_and_capped(tmp_path):
    rows = [f"P{i},-1,3,XX,2,2,2,2" for i in range(5)]
    with pytest.raises(InputError) as info:
        cohort.read_cohort(write(tmp_path, "\n".join([HEADER, *rows]) + "\n"))
    message = str(info.value)
    assert "more problem(s)" in message
    assert message.count("row 1 (line 2), column hpfs_months") == 1


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such cohort file"):
        cohort.read_cohort(tmp_path / "nope.csv")


def test_synthetic_marker_is_detected(tmp_path):
    frame = cohort.read_cohort(
        write(
            tmp_path,
            "\n".join(
                [HEADER + ",data_origin", *(r + ",synthetic: not patient data" for r in GOOD_ROWS)]
            ),
        )
    )
    assert cohort.is_synthetic(frame)
    plain = cohort.read_cohort(write(tmp_path, "\n".join([HEADER, *GOOD_ROWS]), "plain.csv"))
    assert not cohort.is_synthetic(plain, tmp_path / "plain.csv")
