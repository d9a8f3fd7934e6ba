"""The studies file: the bundled one loads with the paper by reference; a malformed one
gives one clear message per problem, all at once."""

from __future__ import annotations

import math
import textwrap

import pytest

from netlm_bayes import paths
from netlm_bayes.errors import InputError
from netlm_bayes.evidence import paper as evidence
from netlm_bayes.evidence.quantities import quantities
from netlm_bayes.evidence.studies import load_studies

BUNDLED = paths.DATA_DIR / "studies" / "tae_next_centre.toml"


def _write(tmp_path, body: str):
    path = tmp_path / "studies.toml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


HEADER = 'title = "test studies"\n'
PAPER = f'[[studies]]\nid = "zhao"\npaper = "{paths.PAPER_FILE.as_posix()}"\n'


def test_bundled_file_takes_the_papers_numbers_by_reference():
    studies = load_studies(BUNDLED)
    paper = evidence.load_paper()
    hr = next(m for m in studies.of("hr_htb_gt25") if m.study == "zhao")
    effect = paper.effect("hr_htb_gt25")
    assert hr.y == pytest.approx(math.log(4.188))
    assert hr.se == pytest.approx(effect.exact.se)
    assert hr.quote == effect.quote
    orr = next(m for m in studies.of("orr") if m.study == "zhao")
    assert (orr.r, orr.n) == (71, 84)
    assert studies.illustrative == ["illustrative-A", "illustrative-B"]
    # the paper's median has no uncertainty: left out, with the reason
    assert not [m for m in studies.of("median_hpfs") if m.study == "zhao"]
    assert "no CI, SE or number of events" in studies.unavailable["zhao, median_hpfs"]


def test_se_from_ci_p_and_se_agree_with_their_definitions(tmp_path):
    path = _write(
        tmp_path,
        HEADER
        + """
        [[studies]]
        id = "a"
        citation = "Study A, 2024"
        [studies.quantities.hr_htb_gt25]
        estimate = 2.0
        ci95 = [1.0, 4.0]
        quote = "HR 2.0 (95% CI 1.0-4.0)"
        [[studies]]
        id = "b"
        citation = "Study B, 2024"
        [studies.quantities.hr_htb_gt25]
        estimate = 2.0
        p = "0.05"
        quote = "HR 2.0, P=0.05"
        [[studies]]
        id = "c"
        citation = "Study C, 2024"
        [studies.quantities.hr_htb_gt25]
        estimate = 2.0
        se = 0.3
        quote = "HR 2.0, SE(log HR) 0.3"
    """,
    )
    a, b, c = load_studies(path).of("hr_htb_gt25")
    assert a.se == pytest.approx(math.log(4) / (2 * 1.959964), rel=1e-6)
    assert b.se == pytest.approx(math.log(2) / 1.959964, rel=1e-6)
    assert c.se == 0.3


def test_every_problem_is_reported_once_and_together(tmp_path):
    path = _write(
        tmp_path,
        HEADER
        + PAPER
        + """
        [[studies]]
        id = "a"
        citation = "Study A, 2024"
        [studies.quantities.hr_htb_gt25]
        estimate = 6.0
        ci95 = [1.2, 5.6]
        quote = "a CI that misses its estimate"
        [studies.quantities.or_pet_positive]
        estimate = 3.0
        p = "1.2"
        quote = "a P that is not a probability"
        [studies.quantities.orr]
        r = 70
        n = 60
        quote = "more responders than patients"
        [studies.quantities.hr_age]
        estimate = 1.1
        se = 0.1
        quote = "a quantity the paper does not have"
        [[studies]]
        id = "a"
        citation = "Study A again, 2025"
        [studies.quantities.orr]
        r = 5
        n = 10
        quote = "a duplicated id"
    """,
    )
    with pytest.raises(InputError) as caught:
        load_studies(path)
    message = str(caught.value)
    expected = [
        "the 95% CI [1.2, 5.6] does not contain the estimate 6",
        "P value '1.2' is not a probability in (0, 1)",
        "r = 70 is more than n = 60",
        "unknown quantity 'hr_age'",
        "studies 2 and 3 share the id 'a'",
    ]
    for text in expected:
        assert message.count(text) == 1, (text, message)
    assert "5 problem(s)" in message


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ('estimate = 2.0\nquote = "no uncertainty at all"', "give exactly one of ci95, p or se"),
        ('estimate = 2.0\nse = 0.3\np = "0.01"\nquote = "two uncertainties"',
         "give exactly one of ci95, p or se"),
        ('r = 3\nn = 10\nquote = "counts for a ratio"', "takes an estimate, not counts"),
        ('estimate = -1.0\nse = 0.3\nquote = "a negative ratio"', "greater than 0"),
    ],
)  # fmt: skip
def test_malformed_ratio_entries(tmp_path, entry, expected):
    body = HEADER + '[[studies]]\nid = "a"\ncitation = "Study A, 2024"\n'
    body += "[studies.quantities.hr_htb_gt25]\n" + entry + "\n"
    with pytest.raises(InputError, match="hr_htb_gt25"):
        load_studies(_write(tmp_path, body))
    with pytest.raises(InputError) as caught:
        load_studies(_write(tmp_path, body))
    assert expected in str(caught.value)


def test_medians_need_one_time_unit(tmp_path):
    body = HEADER
    for i, unit in enumerate(("months", "weeks")):
        body += f'[[studies]]\nid = "s{i}"\ncitation = "Study {i}, 2024"\n'
        body += "[studies.quantities.median_hpfs]\nestimate = 10.0\nci95 = [8.0, 13.0]\n"
        body += f'time_unit = "{unit}"\nquote = "median 10 {unit}"\n'
    with pytest.raises(InputError, match="state every median in one time unit"):
        load_studies(_write(tmp_path, body))
    missing = HEADER + '[[studies]]\nid = "s"\ncitation = "Study, 2024"\n'
    missing += '[studies.quantities.median_hpfs]\nestimate = 10.0\nse = 0.1\nquote = "no unit given here"\n'
    with pytest.raises(InputError, match="a median needs its time_unit"):
        load_studies(_write(tmp_path, missing))


def test_a_study_needs_a_citation_and_numbers(tmp_path):
    with pytest.raises(InputError) as caught:
        load_studies(_write(tmp_path, HEADER + '[[studies]]\nid = "bare"\n'))
    assert "give its `citation`" in str(caught.value)
    assert "no [quantities.<name>] reported" in str(caught.value)


def test_quantities_are_named_and_coded_as_in_the_paper():
    known = quantities(evidence.load_paper())
    assert known["hr_htb_gt25"].parameter == "htb_gt25"
    assert known["hr_htb_gt25"].family == "weibull"
    assert known["or_border_clear"].family == "logistic"
    # the logistic model's outcome is non-response: its intercept is -logit(ORR)
    assert known["orr"].sign == -1.0 and known["orr"].parameter == "intercept_at_pattern"
    assert known["sd_rate"].family is None
