"""The `netlm-bayes` command line: one module per verb group, each registering its
commands on the one shared `app` when imported (in this order, the order of `--help`)."""

import os

# The command line draws to files only: no GUI backend, in this process or its workers.
# (Set here, not in the plotting modules, so that a notebook keeps its inline backend.)
os.environ.setdefault("MPLBACKEND", "Agg")

from netlm_bayes.cli import paper, fitting, study, cohorts, priors  # noqa: F401, I001
from netlm_bayes.cli import meta_analysis, decisions, validation  # noqa: F401
from netlm_bayes.cli.app import app

__all__ = ["app"]
