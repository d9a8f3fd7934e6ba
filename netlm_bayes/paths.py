"""Every project path, in one table: where the bundled evidence, model files, sampler
settings and results live. Paths are absolute (from the package's location), except
`RESULTS_DIR`, which is relative to where a command runs."""

from __future__ import annotations

import site
import sys
from pathlib import Path


def _project_root() -> Path:
    """The clone (models/ beside the package), or, for an installed wheel, the data files
    it put under <data scheme>/share/netlm-bayes (pyproject.toml, tool.setuptools.data-files):
    the environment's prefix for a venv, `uv tool` or `pipx`, the user base for `--user`."""
    clone = Path(__file__).resolve().parent.parent
    if (clone / "models").is_dir():
        return clone
    for base in filter(None, (sys.prefix, site.USER_BASE)):
        installed = Path(base) / "share" / "netlm-bayes"
        if (installed / "models").is_dir():
            return installed
    return Path(sys.prefix) / "share" / "netlm-bayes"  # named in the error that follows


PROJECT_ROOT = _project_root()
DATA_DIR = PROJECT_ROOT / "data"
PAPER_FILE = DATA_DIR / "paper.toml"
ASSUMPTIONS_FILE = DATA_DIR / "assumptions.toml"
THRESHOLDS_FILE = DATA_DIR / "thresholds.toml"
SYNTH_ASSUMPTIONS_FILE = DATA_DIR / "synth_assumptions.toml"
NEXT_CENTRE_DESIGN_FILE = DATA_DIR / "next_centre_design.toml"
PSEUDO_COHORT_FILE = DATA_DIR / "pseudo_cohort.csv"
PSEUDO_COHORTS_DIR = DATA_DIR / "pseudo_cohorts"
STUDIES_DIR = DATA_DIR / "studies"
PAPER_ALONE_STUDIES = STUDIES_DIR / "paper_alone.toml"
MODELS_DIR = PROJECT_ROOT / "models"
PRIOR_SETS_FILE = MODELS_DIR / "prior_sets.toml"
INFERENCE_DIR = PROJECT_ROOT / "inference"
PROFILES_FILE = INFERENCE_DIR / "profiles.toml"
DIAGNOSTICS_FILE = INFERENCE_DIR / "diagnostics.toml"
RESULTS_DIR = Path("results")
