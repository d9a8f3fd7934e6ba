"""One timed sampler run of the Weibull PH model on one benchmark cohort, in its own process.

    python sample_weibull.py SAMPLER COHORT.npz OUT.npz --chains 4 --tune 1000 --draws 1000

SAMPLER is `nutpie` or `pymc` (run with the project's .venv: the model is netlm-bayes's own,
`survival.build_sampling_model`) or `stan` / `stan-sufficient` (run with the Stan venv that
`make bench` sets up: `weibull_ph.stan` / `weibull_ph_sufficient.stan`, through pystan 3).
Every sampler gets the same cohort, priors, chains, warm-up, draws and target acceptance.

OUT.npz holds the draws of log_median, log_shape and beta as (chain, draw[, covariate]),
the times (`import_seconds`, `compile_seconds`, `sampling_seconds`), the gradient
evaluations (tuning included) and the divergences. Effective sample sizes are computed
afterwards, by `run.py`, with one function (arviz-stats) for every sampler.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

STARTED = time.perf_counter()
import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
CORES = min(2, os.cpu_count() or 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sampler", choices=["nutpie", "pymc", "stan", "stan-sufficient"])
    parser.add_argument("cohort", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--target-accept", type=float, default=0.8)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    cohort = dict(np.load(args.cohort))
    run = run_stan if args.sampler.startswith("stan") else run_pymc
    result = run(args, cohort)
    np.savez(args.out, **result, total_seconds=time.perf_counter() - STARTED)


def run_pymc(args, cohort: dict) -> dict:
    import nutpie
    import pymc as pm

    from netlm_bayes.evidence.patient_data import ModelData
    from netlm_bayes.families import specs
    from netlm_bayes.families.survival import model as survival
    from netlm_bayes.priors.coefficients import CoefficientPriors
    from netlm_bayes.priors.distributions import Normal

    imported = time.perf_counter()
    spec = specs.load_spec("hpfs_weibull")
    spec = spec.model_copy(
        update={
            "baseline": spec.baseline.model_copy(
                update={
                    "log_median": spec.baseline.log_median.model_copy(
                        update={
                            "mu": float(cohort["log_median_mu"]),
                            "sigma": float(cohort["log_median_sigma"]),
                        }
                    ),
                    "log_shape": spec.baseline.log_shape.model_copy(
                        update={
                            "mu": float(cohort["log_shape_mu"]),
                            "sigma": float(cohort["log_shape_sigma"]),
                        }
                    ),
                }
            )
        }
    )
    covariates = [str(c) for c in cohort["covariates"]]
    data = ModelData(
        args.cohort, "benchmark", covariates, cohort["X"], True, cohort["time"], cohort["event"]
    )
    priors = [Normal(m, s) for m, s in zip(cohort["prior_mu"], cohort["prior_sigma"], strict=True)]
    model = survival.build_sampling_model(spec, data, CoefficientPriors(priors, "benchmark"))
    result: dict = {}
    if args.sampler == "nutpie":
        compiled = nutpie.compile_pymc_model(model)
        compiled_at = time.perf_counter()
        trace = nutpie.sample(
            compiled,
            chains=args.chains,
            tune=args.tune,
            draws=args.draws,
            seed=args.seed,
            cores=CORES,
            target_accept=args.target_accept,
            save_warmup=True,
            progress_bar=False,
        )
        sampled_at = time.perf_counter()
        steps = int(
            trace.warmup_sample_stats["n_steps"].sum() + trace.sample_stats["n_steps"].sum()
        )
        divergences = int(trace.sample_stats["diverging"].sum())
        result.update(gradient_milliseconds(model))
    else:
        with model:
            step = pm.NUTS(target_accept=args.target_accept)  # compiles the logp and gradient
            compiled_at = time.perf_counter()
            trace = pm.sample(
                draws=args.draws,
                tune=args.tune,
                chains=args.chains,
                cores=CORES,
                random_seed=args.seed,
                step=step,
                progressbar=False,
                compute_convergence_checks=False,
                discard_tuned_samples=False,
                nuts_sampler="pymc",
                mp_ctx="forkserver",
            )
        sampled_at = time.perf_counter()
        steps = int(
            trace.warmup_sample_stats["n_steps"].sum() + trace.sample_stats["n_steps"].sum()
        )
        divergences = int(trace.sample_stats["diverging"].sum())
    posterior = trace.posterior
    result.update(
        log_median=posterior["log_median"].values,
        log_shape=posterior["log_shape"].values,
        beta=posterior["beta"].values,
        import_seconds=imported - STARTED,
        compile_seconds=compiled_at - imported,
        sampling_seconds=sampled_at - compiled_at,
        gradient_evaluations=steps,
        divergences=divergences,
    )
    return result


def gradient_milliseconds(model, evaluations: int = 300) -> dict:
    """The median time of one logp-and-gradient evaluation on one core: the same graph,
    compiled by the same backend (numba) as nutpie's, called from Python (which adds a few
    microseconds that nutpie's Rust loop does not pay)."""
    function = model.logp_dlogp_function(mode="NUMBA", ravel_inputs=True)
    function.set_extra_values({})
    point = np.concatenate([np.ravel(v) for v in model.initial_point().values()])
    function(point)
    times = []
    for _ in range(evaluations):
        started = time.perf_counter()
        function(point)
        times.append(time.perf_counter() - started)
    return {"gradient_ms": 1e3 * float(np.median(times))}


def run_stan(args, cohort: dict) -> dict:
    import stan

    imported = time.perf_counter()
    program = "weibull_ph.stan" if args.sampler == "stan" else "weibull_ph_sufficient.stan"
    X = cohort["X"]
    data = {
        "N": int(X.shape[0]),
        "P": int(X.shape[1]),
        "X": X,
        "log_u": cohort["log_u"],
        "event": cohort["event"].astype(float),
        "log_t_ref": float(np.log(cohort["t_ref"])),
        "prior_mu": cohort["prior_mu"],
        "prior_sigma": cohort["prior_sigma"],
        **{
            k: float(cohort[k])
            for k in ("log_median_mu", "log_median_sigma", "log_shape_mu", "log_shape_sigma")
        },
    }
    posterior = stan.build((HERE / program).read_text(), data=data, random_seed=args.seed)
    compiled_at = time.perf_counter()
    fit = posterior.sample(
        num_chains=args.chains,
        num_samples=args.draws,
        num_warmup=args.tune,
        delta=args.target_accept,
        save_warmup=True,
    )
    sampled_at = time.perf_counter()
    draws = fit._draws  # (sampler and model columns, draws, chains)
    columns = list(fit.sample_and_sampler_param_names) + list(fit.constrained_param_names)
    kept = slice(args.tune, None)

    def column(name: str, rows=kept) -> np.ndarray:
        return draws[columns.index(name), rows, :].T  # (chain, draw)

    P = data["P"]
    beta = np.stack([column(f"beta.{j + 1}") for j in range(P)], axis=-1)
    return {
        "log_median": column("log_median"),
        "log_shape": column("log_shape"),
        "beta": beta,
        "import_seconds": imported - STARTED,
        "compile_seconds": compiled_at - imported,
        "sampling_seconds": sampled_at - compiled_at,
        "gradient_evaluations": int(column("n_leapfrog__", slice(None)).sum()),
        "divergences": int(column("divergent__").sum()),
    }


if __name__ == "__main__":
    main()
