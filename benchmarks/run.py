"""`make bench`: every benchmark of issue 8 in one run, written to benchmarks/results.md.

1. The Weibull PH model at n = 84 (the bundled pseudo-cohort) and n = 100,000 (simulated,
   SYNTHETIC): nutpie and PyMC's NUTS on netlm-bayes's own model, Stan through pystan 3 on
   the same model written two ways. Each run is a fresh process with fresh compiler caches,
   so its total includes compilation. ESS is computed for every sampler by arviz-stats.
2. `make fit` end to end, cold (fresh compiler caches) then warm (the same caches again).
3. `netlm-bayes ppc` at S = 500 on that study, and `netlm-bayes plan` at 4 sizes x 500.
4. The peak memory of each: the summed resident memory of the process and all its
   children, polled every 50 ms.

Every figure is the median of --reps repetitions, run in turn (rep 1 of everything, then
rep 2, ...), so that the samplers are compared side by side under the same machine load.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import cohorts  # noqa: E402

WORK = HERE / "work"  # cohorts, draws and logs of the last run (not committed)
SAMPLERS = ("nutpie", "pymc", "stan", "stan-sufficient")
SIZES = {84: None, 100_000: 100_000}  # n -> what cohorts.write simulates (None: bundled)
# The same for every sampler at a given n. At n = 100,000 one Stan gradient costs about
# 12 ms, so 4 x (1000 + 1000) would take 15 minutes per Stan run; 300 + 300 keeps `make bench`
# near an hour and still passes the ESS >= 400 gate.
SETTINGS = {
    84: {"chains": 4, "tune": 1000, "draws": 1000, "target_accept": 0.8},
    100_000: {"chains": 4, "tune": 300, "draws": 300, "target_accept": 0.8},
}
CORES = min(2, os.cpu_count() or 1)
TIMEOUT = 3 * 3600
PLAN_CRITERION = "P(HR_htb_gt25 > 1) > 0.95"
ANALYSES = ("ppc, S = 500 (3 models)", "export-prior", "plan, 4 sizes x 500")
console = Console()


@dataclass
class Measured:
    """One command: wall time, peak memory of its process tree, and what it printed."""

    seconds: float
    peak_mb: float
    returncode: int
    output: str = field(repr=False)


def measure(command: list[str], env: dict, cwd: Path = ROOT, log: Path | None = None) -> Measured:
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as sink:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT)
        watched = psutil.Process(process.pid)
        peak = 0
        while process.poll() is None:
            peak = max(peak, _tree_rss(watched))
            if time.perf_counter() - started > TIMEOUT:
                process.kill()
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        sink.seek(0)
        output = sink.read()
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(f"$ {' '.join(command)}\n{output}")
    if process.returncode != 0:
        console.print(f"[red]failed ({process.returncode}): {' '.join(command)}[/red]")
        console.print(output[-3000:])
    return Measured(seconds, peak / 2**20, process.returncode, output)


def _tree_rss(process: psutil.Process) -> int:
    """Resident memory of a process and all its children (processes come and go)."""
    with contextlib.suppress(psutil.NoSuchProcess):
        total = 0
        for each in [process, *process.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += each.memory_info().rss
        return total
    return 0


def fresh_caches(folder: Path) -> dict:
    """An environment whose compiler caches (PyTensor, numba, httpstan, matplotlib) start
    empty in `folder`; reuse the same folder for a warm run."""
    env = dict(os.environ)
    flags = env.get("PYTENSOR_FLAGS", "")
    env["PYTENSOR_FLAGS"] = ",".join(filter(None, [flags, f"compiledir={folder / 'pytensor'}"]))
    env["NUMBA_CACHE_DIR"] = str(folder / "numba")
    env["XDG_CACHE_HOME"] = str(folder / "cache")  # httpstan keeps compiled models here
    env["MPLCONFIGDIR"] = str(folder / "matplotlib")
    return env


# ---- 1. the Weibull model, sampler against sampler ---------------------------------------


def weibull_run(sampler: str, n: int, rep: int, stan_python: str, seed: int, caches: Path) -> dict:
    """One sampler run in its own process. `caches` start empty at the repetition's first
    size and are kept for the second, as a user's would: only Stan's compiled program
    survives between processes (nutpie's numba and PyMC's C functions compile again)."""
    cohort = WORK / f"cohort_n{n}.npz"
    out = WORK / "draws" / f"{sampler}_n{n}_rep{rep}.npz"
    out.parent.mkdir(parents=True, exist_ok=True)
    python = stan_python if sampler.startswith("stan") else sys.executable
    options = [f"--{k.replace('_', '-')}={v}" for k, v in SETTINGS[n].items()]
    command = [
        python,
        str(HERE / "sample_weibull.py"),
        sampler,
        str(cohort),
        str(out),
        *options,
        f"--seed={seed}",
    ]
    measured = measure(command, fresh_caches(caches), log=WORK / "logs" / f"{out.stem}.log")
    row = {
        "sampler": sampler,
        "n": n,
        "rep": rep,
        "peak_mb": measured.peak_mb,
        "ok": measured.returncode == 0,
    }
    if not row["ok"]:
        return row
    result = np.load(out)
    row.update({k: float(result[k]) for k in result.files if result[k].ndim == 0})
    row["process_seconds"] = measured.seconds
    row.update(diagnostics(result))
    row["ess_per_second"] = min(row["ess_bulk_min"], row["ess_tail_min"]) / row["sampling_seconds"]
    if "gradient_ms" in row:
        row["floor_seconds"] = row["gradient_evaluations"] * row["gradient_ms"] / 1e3 / CORES
    return row


def diagnostics(result) -> dict:
    """Minimum bulk and tail ESS and maximum R-hat over every parameter (arviz-stats)."""
    import arviz_stats
    import xarray as xr

    posterior = xr.Dataset(
        {
            "log_median": (("chain", "draw"), result["log_median"]),
            "log_shape": (("chain", "draw"), result["log_shape"]),
            "beta": (("chain", "draw", "covariate"), result["beta"]),
        }
    )

    def extreme(values: xr.Dataset, pick) -> float:
        return float(pick([float(pick(v.values)) for v in values.data_vars.values()]))

    return {
        "ess_bulk_min": extreme(arviz_stats.ess(posterior, method="bulk"), np.min),
        "ess_tail_min": extreme(arviz_stats.ess(posterior, method="tail"), np.min),
        "rhat_max": extreme(arviz_stats.rhat(posterior), np.max),
        "beta_mean": [float(v) for v in result["beta"].mean(axis=(0, 1))],
        "log_shape_mean": float(result["log_shape"].mean()),
    }


# ---- 2 and 3. the commands a user runs --------------------------------------------------


def command_runs(rep: int, only_analyses: bool = False) -> list[dict]:
    """make fit cold and warm, then ppc S=500 and plan 4 x 500 on the study it wrote (or,
    with `only_analyses`, on the newest study in results/)."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as caches:
        env = fresh_caches(Path(caches))
        studies = sorted((ROOT / "results").glob("study-*"))
        study = studies[-1] if only_analyses and studies else None
        for state in () if only_analyses else ("cold", "warm"):
            measured = measure(
                ["make", "fit"], env, log=WORK / "logs" / f"make_fit_{state}_rep{rep}.log"
            )
            rows.append(_command_row(f"make fit ({state})", rep, measured))
            found = re.findall(r"Report: (results/study-[^/\s]+)/report\.html", measured.output)
            study = ROOT / found[-1] if found else study
        if study is not None:
            rows += analysis_runs(rep, study, env)
    return rows


def analysis_runs(rep: int, study: Path, env: dict) -> list[dict]:
    cli = str(ROOT / ".venv" / "bin" / "netlm-bayes")
    # `make fit` ran the PPC already; ppc refuses to overwrite it, so set that one aside.
    aside = study / "ppc-from-make-fit"
    if (study / "ppc").exists():
        shutil.rmtree(aside, ignore_errors=True)
        (study / "ppc").rename(aside)
    ppc = measure(
        [cli, "ppc", str(study), "--draws", "500", "--seed", "1"],
        env,
        log=WORK / "logs" / f"ppc_rep{rep}.log",
    )
    prior = WORK / f"hpfs_prior_rep{rep}.json"
    for stale in WORK.glob(f"hpfs_prior_rep{rep}*"):
        stale.unlink()
    exported = measure(
        [cli, "export-prior", str(study / "hpfs_weibull"), "--out", str(prior)],
        env,
        log=WORK / "logs" / f"export_rep{rep}.log",
    )
    plan_dir = WORK / f"plan_rep{rep}"
    shutil.rmtree(plan_dir, ignore_errors=True)
    plan = measure(
        [cli, "plan", "--prior", str(prior), "--criterion", PLAN_CRITERION,
         "--simulations", "500", "--out", str(plan_dir)],
        env,
        log=WORK / "logs" / f"plan_rep{rep}.log",
    )  # fmt: skip
    return [
        _command_row(ANALYSES[0], rep, ppc),
        _command_row(ANALYSES[1], rep, exported),
        _command_row(ANALYSES[2], rep, plan),
    ]


def _command_row(name: str, rep: int, measured: Measured) -> dict:
    return {
        "command": name,
        "rep": rep,
        "seconds": measured.seconds,
        "peak_mb": measured.peak_mb,
        "ok": measured.returncode == 0,
    }


# ---- the report -------------------------------------------------------------------------


def versions(stan_python: str) -> dict:
    import nutpie
    import pymc
    import pytensor

    stan = subprocess.run([stan_python, "-m", "pip", "freeze"], capture_output=True, text=True)
    pinned = dict(line.split("==") for line in stan.stdout.split() if "==" in line)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "commit": commit or "unknown",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu": f"{cpu}, {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB",
        "python": platform.python_version(),
        "pymc": pymc.__version__,
        "pytensor": pytensor.__version__,
        "nutpie": nutpie.__version__,
        "pystan": pinned.get("pystan", "?"),
        "httpstan": pinned.get("httpstan", "?"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--stan-python", required=True)
    parser.add_argument(
        "--only",
        choices=["weibull", "commands", "analyses"],
        help="analyses: only ppc, export-prior and plan, on the newest study in results/, "
        "merged into the existing results.json",
    )
    parser.add_argument("--seed", type=int, default=20260101)
    args = parser.parse_args()
    if args.reps < 1:
        parser.error("--reps must be at least 1")
    if not Path(args.stan_python).exists():
        parser.error(f"{args.stan_python} does not exist: run `make bench`, which sets it up")
    args.stan_python = str(Path(args.stan_python).absolute())  # runs start in the root
    WORK.mkdir(exist_ok=True)
    for n, simulated in SIZES.items():
        cohorts.write(WORK / f"cohort_n{n}.npz", simulated, seed=args.seed)
    parts = ["weibull", "commands"] if args.only is None else [args.only]
    weibull_jobs = [(s, n) for n in SIZES for s in SAMPLERS] if "weibull" in parts else []
    timed_commands = "commands" in parts or "analyses" in parts
    total = args.reps * (len(weibull_jobs) + timed_commands)
    weibull, commands, kept = [], [], {}
    if args.only == "analyses" and (HERE / "results.json").exists():
        kept = json.loads((HERE / "results.json").read_text())
        weibull = kept["weibull"]
        commands = [row for row in kept["commands"] if row["command"] not in ANALYSES]
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("benchmarks", total=total)
        for rep in range(1, args.reps + 1):
            caches = {s: Path(tempfile.mkdtemp(prefix=f"bench-{s}-")) for s in SAMPLERS}
            for sampler, n in weibull_jobs:
                progress.update(task, description=f"rep {rep}: {sampler}, n = {n:,}")
                row = weibull_run(
                    sampler, n, rep, args.stan_python, args.seed + rep, caches[sampler]
                )
                weibull.append(row)
                progress.console.print(_weibull_line(row))
                progress.advance(task)
            for folder in caches.values():
                shutil.rmtree(folder, ignore_errors=True)
            if timed_commands:
                progress.update(task, description=f"rep {rep}: make fit, ppc, plan")
                for row in command_runs(rep, only_analyses=args.only == "analyses"):
                    commands.append(row)
                    progress.console.print(
                        f"  {row['command']}: {row['seconds']:.1f} s, {row['peak_mb']:.0f} MB"
                    )
                progress.advance(task)
            write_results(args, weibull, commands, kept.get("reps", rep) if kept else rep, kept)
    console.print(f"Wrote {HERE / 'results.md'} and results.json")
    shutil.rmtree(WORK / "draws", ignore_errors=True)


def write_results(
    args, weibull: list[dict], commands: list[dict], reps_done: int, kept: dict
) -> None:
    """After every repetition, so that an interrupted run still leaves its numbers."""
    import report

    measured_now = versions(args.stan_python)
    raw = {
        "versions": kept.get("versions", measured_now),
        **({"analyses_versions": measured_now} if kept else {}),
        "settings": {str(n): settings for n, settings in SETTINGS.items()},
        "cores": CORES,
        "reps": reps_done,
        "reps_planned": kept.get("reps_planned", args.reps),
        "weibull": weibull,
        "commands": commands,
    }
    (HERE / "results.json").write_text(json.dumps(raw, indent=1) + "\n")
    (HERE / "results.md").write_text(report.markdown(raw))


def _weibull_line(row: dict) -> str:
    if not row.get("ok"):
        return f"  {row['sampler']}, n = {row['n']:,}: [red]failed[/red] (see benchmarks/work/logs)"
    return (
        f"  {row['sampler']}, n = {row['n']:,}: {row['ess_per_second']:.1f} ESS/s, sampling "
        f"{row['sampling_seconds']:.1f} s, total {row['total_seconds']:.1f} s, "
        f"{row['peak_mb']:.0f} MB, R-hat {row['rhat_max']:.3f}, {row['divergences']:.0f} div"
    )


if __name__ == "__main__":
    main()
