"""The `netlm-bayes` command line: one module per verb group, each registering its
commands on the one shared `app` (importing the module is what registers them)."""

from netlm_bayes.cli import priors  # noqa: F401  (registers export-prior, prior-info, plan)
from netlm_bayes.cli.app import app

__all__ = ["app"]
