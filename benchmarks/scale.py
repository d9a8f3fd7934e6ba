"""`make bench-scale`: `netlm-bayes fit` on registry-sized cohorts beside lifelines (issue 34).

For each size n (10,000 to 1,000,000 rows) a SYNTHETIC cohort as a registry would hand it
over (age in years, uncentred; two binary covariates; Weibull PH times in months with
uniform censoring) is written to a CSV. Then, in turn, each repetition runs

- lifelines: a fresh process that imports lifelines, reads the CSV and fits
  `WeibullAFTFitter`, as a user would;
- netlm-bayes: a fresh process running `fit` with the default profile on the same CSV
  (`profile_fit.py`: the same command, with a timer on each stage);

and records wall time, the peak resident memory of the process tree, whether the
diagnostics gate passed, and the agreement of the posterior medians of the log HRs with
lifelines' maximum likelihood (in posterior SDs). The floor is the sampler's own cost:
gradient evaluations x one gradient's time on one core / cores. Writes scale.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run import CORES, measure, versions  # noqa: E402

WORK = HERE / "work" / "scale"
SIZES = (10_000, 100_000, 200_000, 1_000_000)
COVARIATES = ("age", "x1", "x2")
TRUTH = {"age": 0.03, "x1": 0.5, "x2": -0.3, "shape": 1.3, "scale_months": 30.0}


def write_cohort(n: int, seed: int = 7) -> Path:
    """SYNTHETIC: Weibull PH event times, censoring uniform on 6 to 60 months."""
    import pandas as pd

    path = WORK / f"cohort_{n}.csv"
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    age = rng.normal(62, 10, n).round(1)
    x1, x2 = rng.binomial(1, 0.4, n), rng.binomial(1, 0.25, n)
    eta = TRUTH["age"] * (age - 62) + TRUTH["x1"] * x1 + TRUTH["x2"] * x2
    event_time = TRUTH["scale_months"] * (-np.log(rng.uniform(size=n)) / np.exp(eta)) ** (
        1 / TRUTH["shape"]
    )
    censor = rng.uniform(6, 60, n)
    months = np.minimum(event_time, censor).round(2).clip(0.01)
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"months": months, "progressed": (event_time <= censor).astype(int),
                  "age": age, "x1": x1, "x2": x2}).to_csv(path, index=False)  # fmt: skip
    return path


def lifelines_fit(path: Path) -> None:
    """The reference, in its own process: import, read, fit; prints log HRs as JSON."""
    import pandas as pd
    from lifelines import WeibullAFTFitter

    frame = pd.read_csv(path)[["months", "progressed", *COVARIATES]]
    fitter = WeibullAFTFitter().fit(frame, "months", "progressed")
    rho = float(np.exp(fitter.params_.loc[("rho_", "Intercept")]))
    # Weibull AFT to PH: log HR = -coefficient x shape
    log_hr = {c: -float(fitter.params_.loc[("lambda_", c)]) * rho for c in COVARIATES}
    print(json.dumps({"log_hr": log_hr, "shape": rho}))


def gradient_ms(path: Path) -> None:
    """One logp-and-gradient evaluation of the model `fit` samples, on one core: `make
    bench`'s timing, with BLAS held to one thread as `fit` holds it while sampling."""
    from sample_weibull import gradient_milliseconds
    from threadpoolctl import threadpool_limits

    from netlm_bayes.families.survival import model as survival
    from netlm_bayes.fitting import prior_choice
    from netlm_bayes.fitting.patient_spec import Overrides, load, read_data

    flags = Overrides(data=path, time="months", event="progressed", covariates=list(COVARIATES))
    spec = load("hpfs_weibull", flags)
    data = read_data(spec)
    model = survival.build_sampling_model(
        spec, data, prior_choice.choose_priors(spec, data, None, None)
    )
    with threadpool_limits(limits=1, user_api="blas"):
        print(json.dumps(gradient_milliseconds(model)))


def _json_line(output: str) -> dict:
    return json.loads([line for line in output.splitlines() if line.startswith("{")][-1])


def one_size(n: int, reps: int) -> dict:
    path = write_cohort(n)
    python, env = sys.executable, dict(os.environ)
    rows = {"lifelines": [], "fit": []}
    for rep in range(reps):
        measured = measure([python, __file__, "lifelines", str(path)], env)
        rows["lifelines"].append({"seconds": measured.seconds, "peak_mb": measured.peak_mb,
                                  **_json_line(measured.output)})  # fmt: skip
        out = WORK / f"run_{n}_{rep}"
        command = [python, str(HERE / "profile_fit.py"), "--", "hpfs_weibull",
                   "--data", str(path), "--time", "months", "--event", "progressed",
                   "--covariates", ",".join(COVARIATES), "--out", str(out),
                   "--overwrite"]  # fmt: skip
        measured = measure(command, env, log=WORK / "logs" / f"fit_{n}_{rep}.log")
        stages = _json_line(measured.output) if measured.returncode == 0 else {}
        rows["fit"].append({"seconds": measured.seconds, "peak_mb": measured.peak_mb,
                            "ok": measured.returncode == 0, "stages": stages,
                            **(_run_results(out) if measured.returncode == 0 else {})})  # fmt: skip
    gradient = _json_line(measure([python, __file__, "gradient", str(path)], env).output)
    return {"n": n, **rows, **gradient}


def _run_results(out: Path) -> dict:
    """The gate and the log-HR posterior (median, SD) from the run folder."""
    import xarray as xr

    manifest = json.loads((out / "manifest.json").read_text())
    trace = xr.open_datatree(out / "posterior.nc", engine="h5netcdf")
    beta = trace["posterior"]["beta"]
    return {
        "gate": bool(manifest["diagnostics_passed"]),
        "median": {c: float(beta.sel(covariate=c).median()) for c in COVARIATES},
        "sd": {c: float(beta.sel(covariate=c).std()) for c in COVARIATES},
    }


def summarise(result: dict) -> dict:
    fits, references = result["fit"], result["lifelines"]
    ours = statistics.median(r["seconds"] for r in fits)
    theirs = statistics.median(r["seconds"] for r in references)
    first = fits[0]
    evaluations = statistics.median(r["stages"].get("gradient_evaluations", 0) for r in fits)
    sampling = statistics.median(r["stages"].get("sample (nutpie)", float("nan")) for r in fits)
    floor = evaluations * result["gradient_ms"] / 1e3 / CORES
    agreement = max(abs(first["median"][c] - references[0]["log_hr"][c]) / first["sd"][c]
                    for c in COVARIATES)  # fmt: skip
    return {
        "n": result["n"], "fit_s": ours, "lifelines_s": theirs, "ratio": ours / theirs,
        "sampling_s": sampling, "floor_s": floor, "fit_over_floor": ours / floor,
        "sampling_over_floor": sampling / floor, "gradient_ms": result["gradient_ms"],
        "gradient_evaluations": evaluations,
        "peak_mb": max(r["peak_mb"] for r in fits),
        "lifelines_peak_mb": max(r["peak_mb"] for r in references),
        "gate": f"{sum(r['gate'] for r in fits if r['ok'])}/{len(fits)}",
        "max_sd_from_mle": agreement,
        "stages": {k: statistics.median(r["stages"].get(k, 0.0) for r in fits)
                   for k in fits[0]["stages"] if k not in ("peak_mb", "gradient_evaluations")},
    }  # fmt: skip


def write_markdown(rows: list[dict], reps: int, path: Path) -> None:
    info = versions(sys.executable)  # its Stan versions are unused here
    lines = [
        "# Registry scale: `fit` beside lifelines",
        "",
        f"Written by `make bench-scale` on {info['date']}; {info['cpu']}; "
        f"Python {info['python']}, PyMC {info['pymc']}, nutpie {info['nutpie']}. "
        "Each row names the commit it measured. "
        f"Median of {reps} repetitions, lifelines and netlm-bayes "
        "in turn. Cohorts are SYNTHETIC (benchmarks/scale.py). Both times are whole processes "
        "(start-up, imports, reading the CSV, fitting; for `fit`, also its summaries, figures "
        "and posterior.nc), with warm compiler caches.",
        "",
        "| n | commit | fit s | lifelines s | ratio | sampling s | floor s | sampling ÷ floor | "
        "gradient ms | gradient evaluations | peak MB | lifelines peak MB | gate | "
        "max \\|median − MLE\\| / SD |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['n']:,} | {r.get('commit', '?')} | {r['fit_s']:.1f} | "
            f"{r['lifelines_s']:.2f} | {r['ratio']:.1f}× | "
            f"{r['sampling_s']:.1f} | {r['floor_s']:.1f} | {r['sampling_over_floor']:.2f} | "
            f"{r['gradient_ms']:.2f} | {r['gradient_evaluations']:,.0f} | {r['peak_mb']:,.0f} | "
            f"{r['lifelines_peak_mb']:,.0f} | {r['gate']} | {r['max_sd_from_mle']:.3f} |"
        )
    lines += ["", "Where `fit`'s time goes (median seconds per stage):", ""]
    stages = list(rows[0]["stages"])
    lines.append("| stage | " + " | ".join(f"n = {r['n']:,}" for r in rows) + " |")
    lines.append("|---|" + "---|" * len(rows))
    for stage in stages:
        values = " | ".join(f"{r['stages'].get(stage, 0):.2f}" for r in rows)
        lines.append(f"| {stage} | {values} |")
    lines += ["", "Peak MB is the resident memory of the whole process tree, polled every 50 ms.",
              "The floor is gradient evaluations (warm-up included) x one gradient's time on "
              f"one core / {CORES} cores."]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] in ("lifelines", "gradient"):
        {"lifelines": lifelines_fit, "gradient": gradient_ms}[sys.argv[1]](Path(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--sizes", default=",".join(str(n) for n in SIZES))
    args = parser.parse_args()
    rows = []
    for n in (int(size) for size in args.sizes.split(",")):
        result = one_size(n, args.reps)
        (WORK / f"result_{n}.json").write_text(json.dumps(result, indent=1))
        rows.append({**summarise(result), "commit": versions(sys.executable)["commit"]})
        print(json.dumps({k: v for k, v in rows[-1].items() if k != "stages"}), flush=True)
    # sizes not measured this time keep their last row (each row names its commit)
    kept = json.loads((HERE / "scale.json").read_text()) if (HERE / "scale.json").exists() else []
    measured = {row["n"] for row in rows}
    rows = sorted([r for r in kept if r["n"] not in measured] + rows, key=lambda r: r["n"])
    (HERE / "scale.json").write_text(json.dumps(rows, indent=1))
    write_markdown(rows, args.reps, HERE / "scale.md")


if __name__ == "__main__":
    main()
