"""The `netlm-bayes` command line: one module per verb group, each registering its
commands on the one shared `app` when imported (in this order, the order of `--help`)."""

from netlm_bayes.cli import paper, fitting, study, cohorts, priors, meta_analysis, validation  # noqa: F401, I001
from netlm_bayes.cli.app import app

__all__ = ["app"]
