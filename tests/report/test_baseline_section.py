"""The report's baseline-shape section says what its LOO table says."""

from __future__ import annotations

import pandas as pd

from netlm_bayes.labels import SYNTHETIC
from netlm_bayes.report.baseline_section import FOLDER, baseline_section


def _section(tmp_path, gap: float, se: float, origin: str = "as supplied") -> str:
    folder = tmp_path / FOLDER
    folder.mkdir(exist_ok=True)
    pd.DataFrame({
        "likelihood": ["mspline", "weibull"], "rank": [1, 2], "elpd_loo": [-170.0, -170 - gap],
        "se": [13.0, 13.0], "elpd_diff": [0.0, -gap], "dse": [0.0, se], "p_loo": [8.0, 6.0],
        "pareto_k_max": [0.5, 0.4], "diagnostics_passed": [True, True], "left_out": ["", ""],
        "data_origin": origin,
    }).to_csv(folder / "loo.csv", index=False)  # fmt: skip
    return "\n".join(baseline_section(tmp_path))


def test_a_gap_within_its_noise_is_read_as_no_choice(tmp_path):
    text = _section(tmp_path, gap=0.3, se=0.5, origin=SYNTHETIC)
    assert "do not choose between the shapes" in text and "[SYNTHETIC]" in text


def test_a_clear_gap_names_the_preferred_shape(tmp_path):
    text = _section(tmp_path, gap=14.6, se=5.1)
    assert "M-spline (flexible) ranks first by 14.6 ELPD (SE 5.1)" in text
    assert "the data prefer its shape" in text and "SYNTHETIC" not in text


def test_no_section_without_the_part(tmp_path):
    assert baseline_section(tmp_path) == []
