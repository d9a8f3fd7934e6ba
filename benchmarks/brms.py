"""`make bench-brms`: netlm-bayes beside brms, the package a clinical statistician would
reach for, on the patient-level part of `make fit`, in one run; writes benchmarks/brms.md.

The workload: the Weibull (right-censored), logistic and ordinal models, each on the
pseudo-cohort and its 20 replicates (63 fits of 4 chains x (1000 + 1000) draws, 2 cores).
brms does it its own way (`brms_workload.R`): each model compiled once, then refitted with
`update(recompile = FALSE)`. netlm-bayes does it as `make fit` does, in one process. The
reported effects and the MAP prior, which `make fit` adds, have no brms counterpart and
are left out of both. The data are SYNTHETIC (the bundled pseudo-cohorts).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from versus import _cpu, empty_caches

HERE = Path(__file__).parent
ROOT = HERE.parent
MODELS = ("hpfs_weibull", "response_logistic", "response_ordinal")
CORES = min(4, os.cpu_count() or 1)
OURS = """
import json, time
started = time.perf_counter()
from netlm_bayes import paths
from netlm_bayes.study.fit_patient import run
out = {{}}
for name in {models}:
    t = time.perf_counter()
    result = run(name, out="{folder}/" + name, replicates_dir=paths.PSEUDO_COHORTS_DIR)
    attrs, table = result.fit.trace.attrs, result.fit.diagnostics.table
    core = table[table["parameter"].str.match(r"beta\\[|log_shape$")]
    ess = float(min(core["ess_bulk"].min(), core["ess_tail"].min()))
    summary = result.fit.summary.set_index("quantity")
    out[name] = {{
        "compile_seconds": float(attrs["compile_seconds"]),
        "sampling_seconds": float(attrs["draw_seconds"]),
        "fit_seconds": float(attrs["sampling_seconds"]) - float(attrs["compile_seconds"]),
        "ess_min": ess, "ess_per_second": ess / float(attrs["draw_seconds"]),
        "rhat_max": float(core["rhat"].max()), "passed": bool(result.passed),
        "model_seconds": time.perf_counter() - t,
        "medians": {{q: float(summary.loc[q, "median"]) for q in result.fit.ratios}},
    }}
out["workload_seconds"] = time.perf_counter() - started
print(json.dumps(out))
"""


def ours(env: dict, folder: Path) -> dict:
    script = OURS.format(models=MODELS, folder=folder)
    python = str(ROOT / ".venv" / "bin" / "python")
    done = subprocess.run([python, "-c", script], env=env, cwd=ROOT, capture_output=True,
                          text=True, check=True)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def theirs() -> dict:
    started = time.perf_counter()
    done = subprocess.run(
        ["Rscript", str(HERE / "brms_workload.R"), str(ROOT / "data" / "pseudo_cohort.csv"),
         str(ROOT / "data" / "pseudo_cohorts"), str(min(CORES, 2))],
        capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"brms_workload.R failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_seconds"] = time.perf_counter() - started
    return result


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-brms-") as work:
        work = Path(work)
        env = empty_caches(work / "caches")
        runs = {"cold": ours(env, work / "cold"), "warm": ours(env, work / "warm")}
        brms = theirs()
    write(runs, brms)


def write(runs: dict, brms: dict) -> None:
    cold, warm = runs["cold"], runs["warm"]
    brms_total = brms["workload_seconds"]
    lines = [
        "# netlm-bayes beside brms",
        "",
        f"Written by `make bench-brms` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"{_cpu()}, {os.cpu_count()} cores, {platform.machine()}. brms {brms['versions']['brms']}, "
        f"rstan {brms['versions']['rstan']}, R {brms['versions']['R']}. One run, both sides on "
        "the same machine in turn.",
        "",
        "The patient-level part of `make fit`: the Weibull (right-censored), logistic and "
        "ordinal models, each on the **SYNTHETIC** pseudo-cohort and its 20 replicates: 63 fits "
        "of 4 chains × (1000 warm-up + 1000 draws) on 2 cores, with matched weak priors "
        "(`brms_workload.R` says where the parametrisations differ). brms compiles each "
        "model once and refits with `update(recompile = FALSE)`.",
        "",
        "## The whole workload",
        "",
        "| | seconds | brms ÷ netlm-bayes |",
        "|---|---|---|",
        f"| brms (3 compiles + 63 fits) | {brms_total:.1f} | 1× |",
        f"| netlm-bayes, compiler caches empty | {cold['workload_seconds']:.1f} | "
        f"**{brms_total / cold['workload_seconds']:.1f}×** |",
        f"| netlm-bayes, compiler caches warm (a second run) | {warm['workload_seconds']:.1f} | "
        f"**{brms_total / warm['workload_seconds']:.1f}×** |",
        "",
        "## Per model, on the pseudo-cohort",
        "",
        "Compile is one compilation (netlm-bayes: empty caches). Sampling is the fit of the "
        "pseudo-cohort: for brms, Stan's own elapsed time over its chains ÷ 2 cores; for "
        "netlm-bayes, nutpie's. Whole fit is the call a user makes for it: brms's `update()` "
        "(with its data preparation), netlm-bayes's sampling with its pointwise log "
        "densities. ESS is the smallest bulk or tail ESS over the coefficients (and the "
        "Weibull shape), per second of sampling.",
        "",
        "| model | tool | compile s | sampling s | whole fit s | min ESS | ESS/s | max R-hat "
        "| 20 replicates s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in runs["cold"]:
        if name == "workload_seconds":
            continue
        b, c, w = brms[name], cold[name], warm[name]
        replicates = w["model_seconds"] - w["compile_seconds"] - w["fit_seconds"]
        lines += [
            f"| {name} | brms | {b['compile_seconds']:.1f} | {b['sampling_seconds']:.2f} | "
            f"{b['update_seconds']:.2f} | "
            f"{b['ess_min']:.0f} | {b['ess_per_second']:.0f} | {b['rhat_max']:.3f} | "
            f"{b['replicate_seconds']:.1f} |",
            f"| | netlm-bayes | {c['compile_seconds']:.1f} | {w['sampling_seconds']:.2f} | "
            f"{w['fit_seconds']:.2f} | "
            f"{w['ess_min']:.0f} | {w['ess_per_second']:.0f} | {w['rhat_max']:.3f} | "
            f"{replicates:.1f} (with writing) |",
        ]
    lines += [
        "",
        "## Posterior medians, as a check that both fit the same model",
        "",
        "HR for the Weibull model (brms's AFT coefficient turned into a PH one, "
        "exp(−shape × b)), OR for the others (the ordinal one per category step).",
        "",
        "| model | quantity | brms | netlm-bayes |",
        "|---|---|---|---|",
    ]
    for name in MODELS:
        for (quantity, ours_median), theirs_median in zip(
            warm[name]["medians"].items(), brms[name]["medians"].values(), strict=True
        ):
            lines.append(f"| {name} | {quantity} | {theirs_median:.3f} | {ours_median:.3f} |")
    (HERE / "brms.md").write_text("\n".join(lines) + "\n")
    (HERE / "brms.json").write_text(json.dumps({"ours": runs, "brms": brms}, indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
