"""Where one `netlm-bayes fit` spends its time, stage by stage (issue 34).

Runs the CLI's `fit` in this process with a wall-clock timer around each stage's function,
and prints one JSON line: seconds per stage, the rest (typer, printing, small steps), the
process's peak resident memory, and the sampler's gradient evaluations. cProfile is no use
here: the sampler's threads and matplotlib's text layout confuse its attribution.

    python benchmarks/profile_fit.py -- hpfs_weibull --data cohort.csv --time months ...
"""

from __future__ import annotations

import functools
import importlib
import json
import resource
import sys
import time

STARTED = time.perf_counter()

# (module, class or None, attribute, stage): wrapped where the caller looks the name up.
STAGES = [
    ("netlm_bayes.cli.fitting", None, "_fit_patient_level", "the command, in all"),
    ("netlm_bayes.fitting.patient_spec", None, "read_data", "read and validate the data"),
    ("netlm_bayes.fitting.patient", "PatientModel", "__init__", "build the PyMC models"),
    ("netlm_bayes.sampling.compile_cache", None, "compile_pymc_model", "compile (numba)"),
    ("nutpie", None, "sample", "sample (nutpie)"),
    ("netlm_bayes.sampling.log_density", "PointwiseLogDensities", "add_to",
     "pointwise log-likelihood and log prior"),
    ("netlm_bayes.sampling.gate", None, "diagnose", "diagnostics (R-hat, ESS)"),
    ("netlm_bayes.fitting.patient", "PatientModel", "quantities",
     "derived quantities (medians, RMST, per-group)"),
    ("netlm_bayes.fitting.patient", None, "summary_table", "summary table"),
    ("netlm_bayes.study.fit_patient", None, "save_posterior", "write posterior.nc"),
    ("netlm_bayes.report.plots", None, "rank_plot", "rank plot"),
    ("netlm_bayes.families.curves", None, "curve_table", "survival curve table"),
    ("netlm_bayes.report.plots", None, "survival_curves", "survival figure"),
    ("netlm_bayes.runs", None, "write_manifest", "manifest"),
    ("netlm_bayes.report.patient", None, "print_run", "console table"),
]  # fmt: skip
seconds: dict[str, float] = {}
gradient_evaluations = 0


def _timed(function, stage: str):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        began = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            seconds[stage] = seconds.get(stage, 0.0) + time.perf_counter() - began

    return wrapper


def _counting_steps(sample):
    """nutpie.sample, keeping the warm-up's statistics long enough to count its steps."""

    @functools.wraps(sample)
    def wrapper(*args, **kwargs):
        global gradient_evaluations
        trace = sample(*args, **{**kwargs, "save_warmup": True})
        for group in ("warmup_sample_stats", "sample_stats"):
            gradient_evaluations += int(trace[group]["n_steps"].sum())
        for group in [g for g in trace.children if g.startswith("warmup_")]:
            del trace[group]
        return trace

    return wrapper


def main() -> None:
    arguments = sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else sys.argv[1:]
    from netlm_bayes.cli import app as cli

    for module, cls, name, stage in STAGES:
        owner = importlib.import_module(module)
        owner = getattr(owner, cls) if cls else owner
        function = getattr(owner, name)
        if module == "nutpie":
            function = _counting_steps(function)
        setattr(owner, name, _timed(function, stage))
    try:
        cli(["fit", *arguments], standalone_mode=False)
    finally:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        total = time.perf_counter() - STARTED
        before = total - seconds.get("the command, in all", 0.0)
        print(json.dumps({
            "start-up, imports and options": before, **seconds, "process": total,
            "peak_mb": peak_mb, "gradient_evaluations": gradient_evaluations,
        }))  # fmt: skip


if __name__ == "__main__":
    main()
