"""`netlm-bayes fit reported_effects`: the paper's printed effects as posteriors under one or
more named prior sets, written as one run folder (posteriors, comparison with the paper,
report files, manifest)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from netlm_bayes import runs
from netlm_bayes.fitting.reported import ReanalysisResult, reread_paper
from netlm_bayes.report import reanalysis as reanalysis_report
from netlm_bayes.sampling.sampler import SamplerName, save_posterior


def fit_reported_effects(
    model: str = "reported_effects",
    prior_set: str = "all",
    profile: str = "default",
    sampler: SamplerName | None = None,
    seed: int = 20260101,
    out: Path | None = None,
    paper_path: Path | None = None,
    on_prior_set: Callable[[str], None] | None = None,
    significance_filter: float | bool | None = None,
    thresholds: Sequence[float] | None = None,
    benchmarks: Mapping[str, float] | None = None,
    overwrite: bool = False,
) -> ReanalysisResult:
    """`reread_paper`, written as a run folder (see its options)."""
    if out is not None:
        runs.check_destination(Path(out), overwrite)  # before sampling, not after
    result = reread_paper(
        model, prior_set, profile, sampler, seed, paper_path, on_prior_set,
        significance_filter, thresholds, benchmarks,
    )  # fmt: skip
    spec, paper_file = result.spec, result.paper_file
    provenance = {
        "model_file": str(spec.path),
        "evidence_sha256": runs.sha256(paper_file),
        "model_sha256": runs.sha256(spec.path),
        "prior_sets_sha256": runs.sha256(spec.prior_sets_path),
        "seed": seed,
        "versions": runs.package_versions(),
        "significance_filter": result.significance_filter or "none",
    }
    run_dir = Path(out) if out else runs.default_run_dir(spec.family)
    result = replace(result, run_dir=run_dir)
    with runs.run_folder(run_dir, overwrite) as staging:
        for name, trace in result.posteriors.items():
            save_posterior(
                trace, staging / f"posterior-{name}.nc", {**provenance, "prior_set": name}
            )
        reanalysis_report.write_reanalysis(staging, result, result.paper)
        runs.write_manifest(
            staging,
            [spec.path, paper_file, spec.prior_sets_path],
            model=spec.family,
            prior_sets=list(result.posteriors),
            profile=result.profile.model_dump(),
            sampler=result.sampler,
            seed=seed,
            analysis=result.analysis,
            significance_filter=result.significance_filter,
            thresholds=result.thresholds.model_dump(),
            diagnostics_passed={name: d.passed for name, d in result.diagnostics.items()},
            retries={name: d.retry for name, d in result.diagnostics.items() if d.retry},
        )
    return result
