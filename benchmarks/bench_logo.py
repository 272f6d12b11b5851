"""Benchmark: LOGO gene attribution at N = 5000, 38 genes x 16 dims (issue 5).

Times kbtools' full LOGO protocol (5 site-grouped outer folds, 3 inner folds, C grid of 5,
38 drop-one models per fold, DeLong + BH) with C fixed from the full model and with every
drop-one model re-tuned, and a plain sequential reference loop in the same run: for every
fold and gene a scikit-learn ``GridSearchCV(Pipeline(StandardScaler, LogisticRegression))``
refit from the raw columns, the way the protocol is usually written. The reference is timed on
``--reference-genes`` genes and extrapolated to 38 + the full model (its cost is linear in
the number of models). Reference figures measured on an idle machine of this type (FINDINGS):
~84 s sequential with re-tuning; targets <= 15 s (C fixed), <= 60 s (re-tuned).

Each run is a whole process tree (wall, CPU of the process and its workers, peak memory),
in this process and on Dask LocalClusters of one and two workers, interleaved with the
reference; the reference's CPU is scaled from its timed models (linear in the model count).

    .venv/bin/python benchmarks/bench_logo.py [--n-subjects 5000] [--backends in-process
        local:1 local:2] [--reference-genes 4] [--skip-retune] [--repeat 1]
"""

from __future__ import annotations

import argparse
import time
import warnings


def reference_loop(cohort, config, genes_to_time: int, seed: int) -> tuple[float, int]:
    """Seconds for the plain loop over ``genes_to_time`` genes (+ the full model) x folds."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from kbtools.experiments.cv import outer_folds
    from kbtools.experiments.methods._common import inner_splits
    from kbtools.experiments.methods.logo_gene_attribution import gene_groups

    block = cohort.blocks["gene"]
    groups = gene_groups(list(block.columns), r"^(?P<gene>[^_]+)__")
    genes = list(groups)[:genes_to_time]
    y = cohort.subjects[config["outcome"]]
    grid = {"logisticregression__C": [0.001, 0.01, 0.1, 1.0, 10.0]}
    start = time.perf_counter()
    n_models = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for k, (tr_pos, te_pos) in enumerate(outer_folds(cohort, config["cv"], "mdd", seed)):
            tr, te = cohort.subjects.index[tr_pos], cohort.subjects.index[te_pos]
            splits = inner_splits(cohort, tr, config["cv"], "mdd", seed * 1000 + k)
            for drop in [None, *genes]:
                cols = [c for j, c in enumerate(block.columns)
                        if drop is None or j not in set(groups[drop])]
                search = GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression(
                    class_weight="balanced", max_iter=500)), grid, cv=splits,
                    scoring="roc_auc")
                search.fit(block.loc[tr, cols].to_numpy(), y.loc[tr].to_numpy())
                search.predict_proba(block.loc[te, cols].to_numpy())
                n_models += 1
    return time.perf_counter() - start, n_models


def _setup(n_subjects: int, seed: int):
    from kbtools.experiments import synth
    from kbtools.experiments.cohort import Cohort

    sc = synth.generate(n_subjects=n_subjects, seed=seed)
    cohort = Cohort(subjects=sc.subjects, blocks={"gene": sc.gene_embeddings})
    config = {"outcome": "mdd",
              # as config 03: z-score and residualize on age, sex and site in every training fold
              "preprocessing": {"zscore": True, "covariates": ["age", "sex"],
                                "site_onehot": True},
              "cv": {"scheme": "stratified_group_kfold", "n_splits": 5, "inner_splits": 3,
                     "group_by": "site"},
              "params": {}, "outputs": {"plots": False}}
    return cohort, config, sc.gene_embeddings.shape[1] // 16


def one(args: argparse.Namespace) -> None:
    """One configuration in this process (a subprocess of the benchmark); prints JSON."""
    import json

    from threadpoolctl import threadpool_limits

    from kbtools.experiments.context import RunContext
    from kbtools.experiments.methods.logo_gene_attribution import run
    from kbtools.experiments.parallel import open_backend

    cohort, config, _ = _setup(args.n_subjects, args.seed)
    with threadpool_limits(limits=1):
        if args.one == "reference":
            seconds, models = reference_loop(cohort, config, args.reference_genes, args.seed)
            print(json.dumps({"models": models}))
            return
        backend_name, tune = args.one.split("/")
        dask = None if backend_name == "in-process" else backend_name
        with open_backend(1, dask) as backend:
            result = run(cohort, {**config, "params": {"tune": tune}},
                         RunContext(seed=args.seed, n_jobs=backend.n_jobs, progress=False))
    print(json.dumps({"genes": result.summary["genes"]}))


def main() -> None:
    import json
    import statistics
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import _measure

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-subjects", type=int, default=5000)
    ap.add_argument("--reference-genes", type=int, default=4)
    ap.add_argument("--skip-retune", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    _measure.add_backend_options(ap)
    args = ap.parse_args()
    if args.one:
        one(args)
        return
    _, _, n_genes = _setup(200, args.seed)
    me = [sys.executable, __file__, "--n-subjects", str(args.n_subjects), "--seed",
          str(args.seed), "--reference-genes", str(args.reference_genes)]
    tunes = ["fixed_from_full"] if args.skip_retune else ["fixed_from_full", "retune"]
    labels = [f"{b}/{t}" for t in tunes for b in args.backends] + ["reference"]
    print(f"LOGO benchmark: N = {args.n_subjects}, {n_genes} genes x 16 dims, 5 outer x 3 "
          f"inner folds, C grid of 5; {_measure.load_note()}", flush=True)
    runs: dict[str, list] = {label: [] for label in labels}
    for _ in range(args.repeat):  # interleaved
        for label in labels:
            runs[label].append(_measure.run([*me, "--one", label]))
    out = {label: json.loads(ms[0].stdout.strip().splitlines()[-1]) for label, ms in runs.items()}
    ref = runs["reference"]
    ref_models = out["reference"]["models"]
    ref_cpu = statistics.median(m.cpu for m in ref) / ref_models * 5 * (n_genes + 1)
    print("\nrun | wall s | CPU-s | peak MB (tree) | reference CPU / this CPU")
    for label in labels[:-1]:
        wall = statistics.median(m.wall for m in runs[label])
        cpu = statistics.median(m.cpu for m in runs[label])
        peak = max(m.peak_mb for m in runs[label])
        print(f"{label} | {wall:.1f} | {cpu:.1f} | {peak:.0f} | {ref_cpu / cpu:.1f}x")
    print(f"reference: sequential GridSearchCV loop, {ref_models} models timed, CPU scaled to "
          f"{5 * (n_genes + 1)} models | - | {ref_cpu:.1f} | "
          f"{max(m.peak_mb for m in ref):.0f} | 1.0x")
    for tune in tunes:
        same = len({json.dumps(out[f"{b}/{tune}"]) for b in args.backends}) == 1
        print(f"{tune}: results identical across {', '.join(args.backends)}: {same}")
        _measure.compare_backends(runs, args.backends, "{}/" + tune)
    print(f"\n{_measure.load_note()}")


if __name__ == "__main__":
    main()
