"""The paper file: SE and CI derivation, rounding bounds, and clear errors on bad files."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from scipy import stats

from netlm_bayes import paths
from netlm_bayes.errors import InputError
from netlm_bayes.evidence import paper as evidence

PAPER_TEXT = paths.PAPER_FILE.read_text(encoding="utf-8")


def test_se_and_ci_from_hr_and_p_match_hand_computation():
    # By hand: ln 4.188 = 1.43222; z = Phi^-1(0.99) = 2.32635; s = 1.43222 / 2.32635 = 0.61565;
    # CI = exp(1.43222 -/+ 1.95996 * 0.61565) = exp(0.22558), exp(2.63887) = 1.2530, 13.9975.
    derived = evidence.derive(4.188, "0.02")
    assert derived.log_estimate == pytest.approx(1.43222, abs=1e-5)
    assert derived.z == pytest.approx(2.32635, abs=1e-5)
    assert derived.se == pytest.approx(0.61565, abs=1e-5)
    assert derived.ci95[0] == pytest.approx(1.2530, abs=1e-3)
    assert derived.ci95[1] == pytest.approx(13.9975, abs=1e-3)


def test_se_of_an_odds_ratio_below_one_is_positive():
    # ln 0.069 = -2.67365, z(P=0.01) = 2.57583 -> s = 1.03798.
    derived = evidence.derive(0.069, "0.01")
    assert derived.se == pytest.approx(1.03798, abs=1e-5)
    assert derived.ci95[0] < 0.069 < derived.ci95[1] < 1


@pytest.mark.parametrize(
    ("printed", "low", "high"),
    [("0.02", 0.015, 0.025), ("0.01", 0.005, 0.015), ("0.003", 0.0025, 0.0035),
     ("0.018", 0.0175, 0.0185), ("0.020", 0.0195, 0.0205)],
)  # fmt: skip
def test_printed_p_rounding_interval(printed, low, high):
    got = evidence.p_rounding_interval(printed)
    assert got == pytest.approx((low, high), abs=1e-12)


def test_se_interval_follows_the_p_interval():
    derived = evidence.derive(4.188, "0.02")
    # s at p = 0.015 and at p = 0.025, by hand: 1.43222 / 2.43238 and 1.43222 / 2.24140.
    assert derived.se_interval[0] == pytest.approx(1.43222 / 2.43238, abs=1e-4)
    assert derived.se_interval[1] == pytest.approx(1.43222 / 2.24140, abs=1e-4)
    assert derived.se_interval[0] < derived.se < derived.se_interval[1]


@pytest.mark.parametrize("bad", ["0", "1.5", "abc", "-0.01"])
def test_impossible_p_values_are_refused(bad):
    with pytest.raises(ValueError):
        evidence.p_rounding_interval(bad)


def test_bundled_paper_has_every_number_of_the_abstract(paper):
    assert paper.study.n_patients == 84
    assert (paper.study.accrual_start, paper.study.accrual_end) == ("2022-01", "2024-12")
    assert paper.response.counts == {"PR": 71, "SD": 9, "PD": 4}
    assert paper.response.percent == {"PR": 84.5, "SD": 10.7, "PD": 4.8}
    assert paper.response.orr_percent == 84.5
    assert paper.hpfs.median_months == 11.1
    reported = {e.name: (e.estimate, e.p_printed) for e in paper.effects}
    assert reported == {
        "hr_htb_gt25": (4.188, "0.02"),
        "or_border_clear": (0.069, "0.01"),
        "or_pet_positive": (11.919, "0.003"),
        "or_ki67_gt10": (6.469, "0.018"),
    }


def test_every_quote_is_verbatim_from_the_abstract(paper):
    abstract_path = paths.PROJECT_ROOT.parent / "shared" / "paper-abstract.txt"
    if not abstract_path.exists():
        pytest.skip("shared/paper-abstract.txt is not beside the project")
    abstract = abstract_path.read_text(encoding="utf-8")
    quotes = [paper.study.quote, paper.hpfs.quote, paper.response.quote, paper.response.orr_quote]
    quotes += [effect.quote for effect in paper.effects]
    for quote in quotes:
        assert quote in abstract, quote


def test_htb_wording_problem_is_recorded(paper):
    htb = paper.effect("hr_htb_gt25")
    assert "≤25%" in htb.quote
    assert htb.wording_note and "> 25%" in htb.wording_note


def test_exact_ci_for_orr(paper):
    # Clopper-Pearson by its definition: Beta(k, n-k+1) and Beta(k+1, n-k) quantiles.
    orr = evidence.paper_references(paper)["orr"]
    assert orr.estimate == pytest.approx(71 / 84)
    low, high = stats.beta.ppf(0.025, 71, 14), stats.beta.ppf(0.975, 72, 13)
    assert (orr.ci95_low, orr.ci95_high) == pytest.approx((low, high), abs=1e-9)
    assert 0.74 < low < 0.76 and 0.91 < high < 0.92


def _write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "paper.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


MALFORMED = {
    "missing field": (PAPER_TEXT.replace('p_printed = "0.02"\n', ""), r"hr_htb_gt25\.p_printed"),
    "estimate not a number": (
        PAPER_TEXT.replace("estimate = 4.188", 'estimate = "four"'),
        r"hr_htb_gt25\.estimate",
    ),
    "negative estimate": (
        PAPER_TEXT.replace("estimate = 4.188", "estimate = -4.188"),
        r"greater than 0",
    ),
    "derived disagrees": (
        PAPER_TEXT.replace("se = 0.6157", "se = 0.7"),
        r"hr_htb_gt25.*derived\.se = 0\.7",
    ),
    "p not a probability": (PAPER_TEXT.replace('"0.003"', '"3"'), r"or_pet_positive\.p_printed"),
    "counts do not add up": (PAPER_TEXT.replace("PR = 71,", "PR = 70,"), r"PR"),
    "unknown field": (PAPER_TEXT.replace("[hpfs]\n", "[hpfs]\nmedain = 3\n"), r"hpfs\.medain"),
    "bad measure": (
        PAPER_TEXT.replace('measure = "HR"', 'measure = "RR"'),
        r"hr_htb_gt25\.measure",
    ),
    "not TOML": ("this is = = not toml", r"not valid TOML"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_paper_file_gives_a_clear_error(tmp_path, case):
    text, pattern = MALFORMED[case]
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as info:
        evidence.load_paper(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert re.search(pattern, message), message
    assert "\n" not in message and "Traceback" not in message


def test_non_utf8_paper_file(tmp_path):
    path = _write(tmp_path, PAPER_TEXT.encode("utf-8").replace(b"Zhao", b"Zh\xe4o"))
    with pytest.raises(InputError, match="not UTF-8"):
        evidence.load_paper(path)


def test_missing_paper_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        evidence.load_paper(tmp_path / "absent.toml")


def test_derived_values_in_the_file_are_recomputed_not_trusted(paper):
    for effect in paper.effects:
        fresh = evidence.derive(effect.estimate, effect.p_printed)
        assert math.isclose(fresh.se, effect.derived.se, rel_tol=evidence.DERIVED_RTOL)
