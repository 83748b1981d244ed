"""`make bench`: measure the course as a class would feel it, write benchmarks/results.json, print a table.

Measured:
1. Run-All time of every notebook on a fresh kernel (kernel start excluded, reported separately)
   and the total;
2. kernel-side latency of every slider in the course: after Run-All, every live
   :class:`course_utils.widgets.SliderPanel` in the kernel has each control set programmatically over
   its range; one change = update function + render + PNG encoding (median and p95 per control);
3. peak resident memory of each notebook's kernel;
4. the core speed figures of ``bench_core.py`` (compact vs staged BN backward, MLP training,
   seed-batched training: 1 vs 10 seeds with ``cu.batched.train_seeds`` against ``train()``);
5. browser key press → new figure pixels for notebook 05's γ slider (median of ≥ 10 presses), when
   Chromium is installed;
6. the fixed **reference workload** of ``bench_core.reference_workload`` (1,500 forward/backward steps
   of a 64-100-100-100-10 sigmoid MLP with BN, batch 60, plain NumPy, one BLAS thread, best of 3),
   timed before the notebooks and again after them; the unit is the best of all those runs. Every
   run time is also stated as a multiple of it ("× workload"), since this host's speed swings by
   ±40 % between runs while the ratio does not.

Budgets (issue 13, in workloads): whole course ≤ 100×, no notebook above 20×. Other targets
(issue 8): slider median ≤ 30 ms, browser key → pixels ≤ 100 ms median, peak kernel memory ≤ 400 MB;
seed batching (issue 13): 10 seeds ≤ 2.5× one seed.

Usage: ``python benchmarks/run.py [--skip-browser] [--skip-core] [--only NAME ...]``. With ``--only``
(a subset of notebooks) nothing is written: results.json and README.md are rewritten by full runs only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

TARGETS = {
    "notebook_workloads": 20.0,
    "course_workloads": 100.0,
    "seed_batching_10_to_1": 2.5,
    "slider_median_ms": 30.0,
    "browser_median_ms": 100.0,
    "kernel_rss_mb": 400.0,
}

# Runs inside the notebook's kernel after Run-All. Values are spread over each control's range; a
# value equal to the previous one would trigger no callback, so such values are dropped.
SLIDER_PROBE = r"""
import json as _json, resource as _resource
import numpy as _np
import course_utils as _cu

def _values(control, n=25):
    if hasattr(control, "options") and len(getattr(control, "options", ())) > 0:
        opts = list(control.options)
        vals = [o[1] if isinstance(o, tuple) else o for o in opts]
        idx = _np.linspace(0, len(vals) - 1, min(n, len(vals))).round().astype(int)
        return [vals[i] for i in idx]
    if hasattr(control, "base"):  # FloatLogSlider: min and max are exponents
        return [float(v) for v in control.base ** _np.linspace(control.min, control.max, n)]
    if hasattr(control, "min") and hasattr(control, "max"):
        vals = _np.linspace(control.min, control.max, n)
        if isinstance(control.value, int) and not isinstance(control.value, bool):
            vals = _np.unique(vals.round().astype(int))
        return [v.item() for v in vals]
    if isinstance(control.value, bool):
        return [not control.value, control.value] * 5
    return []

_out = []
for _panel in _cu.widgets.SliderPanel.live_panels():
    _label = "+".join(_panel.controls)
    for _name, _control in _panel.controls.items():
        _orig = _control.value
        _vals = [v for v in _values(_control)]
        _seq, _prev = [], _orig
        for _v in _vals:
            if _v != _prev:
                _seq.append(_v)
                _prev = _v
        if not _seq:
            continue
        _ms = _cu.widgets.time_callback(_panel, _name, _seq)
        _control.value = _orig
        _out.append({"panel": _label, "control": _name,
                     "description": getattr(_control, "description", _name),
                     "n": int(len(_ms)), "median_ms": float(_np.median(_ms)),
                     "p95_ms": float(_np.percentile(_ms, 95)), "max_ms": float(_ms.max())})
print("@@BENCH@@" + _json.dumps({"sliders": _out,
      "peak_rss_mb": _resource.getrusage(_resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def bench_notebook(path: Path) -> dict:
    """Execute one notebook on a fresh kernel; time Run-All; probe its sliders and memory."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    t0 = time.perf_counter()
    with client.setup_kernel():
        t_kernel = time.perf_counter() - t0
        t1 = time.perf_counter()
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        run_all = time.perf_counter() - t1
        probe = nbformat.v4.new_code_cell(SLIDER_PROBE)
        nb.cells.append(probe)
        client.execute_cell(probe, len(nb.cells) - 1)
    text = "".join(o.get("text", "") for o in probe.outputs if o.get("output_type") == "stream")
    if "@@BENCH@@" in text:
        payload = json.loads(text.split("@@BENCH@@", 1)[1])
    else:
        payload = {"sliders": [], "peak_rss_mb": None}
    return {"notebook": path.name, "run_all_s": run_all, "kernel_start_s": t_kernel, **payload}


def bench_browser(n_presses: int = 15) -> dict | None:
    import lab_driver as lab

    chromium = lab.find_chromium()
    if chromium is None:
        print("! no Chromium found: browser latency not measured (apt-get install -y chromium)")
        return None
    notebook = "notebooks/05_batchnorm_forward_gamma_beta.ipynb"
    with lab.jupyterlab_server() as (base_url, token, _), lab.browser_page(chromium) as (page, errors):
        lab.open_notebook(page, base_url, token, notebook)
        lab.run_all_cells(page)
        slider = lab.slider_locator(page, "γ")
        slider.scroll_into_view_if_needed(timeout=30_000)
        image = lab.panel_image_for(slider)
        lab.wait_until_still(lab.panel_of(slider))
        handle = slider.locator(".noUi-handle")
        lab.install_latency_probe(page, image.element_handle())
        handle.press("ArrowLeft")  # warm-up
        time.sleep(0.5)
        samples = []
        for i in range(n_presses):
            samples.append(lab.key_to_pixels_ms(page, handle, "ArrowRight" if i % 2 == 0 else "ArrowLeft"))
            time.sleep(0.15)
    return {
        "notebook": notebook,
        "control": "gamma",
        "n": len(samples),
        "median_ms": statistics.median(samples),
        "p95_ms": sorted(samples)[int(0.95 * (len(samples) - 1))],
        "samples_ms": samples,
        "page_errors": errors,
    }


def bench_core() -> dict:
    import bench_core

    bn = bench_core.bench_bn_backward()
    tr = bench_core.bench_training(repeats=3)
    sb = bench_core.bench_seed_batching()
    return {
        "bn_backward_compact_ms": bn["compact_ms"],
        "bn_backward_staged_ms": bn["staged_ms"],
        "bn_backward_ratio": bn["ratio"],
        "train_3000_steps_s": tr["seconds"],
        "train_3000_steps_cpu_s": tr["cpu_seconds"],
        "train_test_accuracy": tr["test_accuracy"],
        "seed_batching_steps": sb["steps"],
        "seed_batching_n_seeds": sb["n_seeds"],
        "train_1_seed_s": sb["train_1_s"],
        "batched_1_seed_s": sb["batched_1_s"],
        "batched_10_seeds_s": sb["batched_n_s"],
        "batched_10_to_1_ratio": sb["ratio_n_to_1"],
        "batched_10_to_train_ratio": sb["ratio_n_to_train"],
        "batched_per_seed_speedup": sb["per_seed_speedup"],
    }


def bench_workload(results: dict, when: str) -> None:
    """Time the reference workload (best of 3) and keep the best of every timing as the unit."""
    import bench_core

    ref = bench_core.reference_workload(repeats=3)
    w = results.setdefault("workload", {"description": WORKLOAD, "runs_s": {}})
    w["runs_s"][when] = ref["runs"]
    w["seconds"] = min(t for runs in w["runs_s"].values() for t in runs)
    print(f"reference workload ({when}): best of 3 = {ref['seconds']:.2f} s", flush=True)


WORKLOAD = (
    "1,500 forward/backward steps of a 64-100-100-100-10 sigmoid MLP with BN, batch 60, "
    "plain NumPy, one BLAS thread; benchmarks/bench_core.py, reference_workload"
)

# Times stated in workloads: the key of the seconds and the key its ratio is stored under.
_CORE_TIMES = (
    ("train_3000_steps_s", "train_3000_steps_workloads"),
    ("train_1_seed_s", "train_1_seed_workloads"),
    ("batched_1_seed_s", "batched_1_seed_workloads"),
    ("batched_10_seeds_s", "batched_10_seeds_workloads"),
)


def add_ratios(results: dict) -> None:
    """Add ``*_workloads`` (time / reference workload) next to every run time of ``results``."""
    unit = results.get("workload", {}).get("seconds")
    if not unit:
        return
    for r in results["notebooks"]:
        r["run_all_workloads"] = r["run_all_s"] / unit
        r["kernel_start_workloads"] = r["kernel_start_s"] / unit
    results["course_run_all_workloads"] = results["course_run_all_s"] / unit
    c = results.get("core")
    if c:
        for seconds, ratio in _CORE_TIMES:
            if seconds in c:
                c[ratio] = c[seconds] / unit


def budget_checks(results: dict) -> list[tuple[str, float, float, bool]]:
    """``(what, value, limit, ok)`` for the budgets of issue 13 (run times in workloads, seed batching)."""
    t, checks = results["targets"], []
    if "course_run_all_workloads" in results:
        checks.append(
            ("whole course Run-All (× workload)", results["course_run_all_workloads"], t["course_workloads"])
        )
        for r in results["notebooks"]:
            checks.append((f"{r['notebook']} (× workload)", r["run_all_workloads"], t["notebook_workloads"]))
    c = results.get("core") or {}
    if "batched_10_to_1_ratio" in c:
        checks.append(
            ("10 seeds / 1 seed with train_seeds", c["batched_10_to_1_ratio"], t["seed_batching_10_to_1"])
        )
    return [(what, value, limit, value <= limit) for what, value, limit in checks]


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": dt.date.today().isoformat(),
    }


def flag(value, target) -> str:
    return "ok" if value is not None and value <= target else "OVER"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--skip-core", action="store_true", help="skip bench_core's figures (not written)")
    parser.add_argument("--only", nargs="*", help="notebook name fragments to run (nothing is written)")
    args = parser.parse_args(argv)

    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.only is not None:
        notebooks = [p for p in notebooks if any(k in p.name for k in args.only)]
    results = {"machine": machine(), "targets": TARGETS, "notebooks": [], "core": None, "browser": None}
    bench_workload(results, "before")
    for path in notebooks:
        print(f"running {path.name} ...", flush=True)
        results["notebooks"].append(bench_notebook(path))
    results["course_run_all_s"] = sum(r["run_all_s"] for r in results["notebooks"])
    if not args.skip_core:
        try:
            results["core"] = bench_core()
        except Exception as exc:  # the core benchmark must not hide the notebook figures
            print(f"! core benchmark failed: {exc!r}")
    if not args.skip_browser:
        results["browser"] = bench_browser()
    bench_workload(results, "after")
    add_ratios(results)
    if args.only is None and not args.skip_core:
        (ROOT / "benchmarks" / "results.json").write_text(json.dumps(results, indent=2) + "\n")
        write_readme_section(results)
    print_table(results)
    return 0


README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"


def markdown_summary(results: dict) -> str:
    """The README's Performance table, generated from ``results``."""
    m = results["machine"]
    lines = [
        f"Measured by `make bench` on {m['date']}: {m['cpu']}, {m['cores']} cores, Python {m['python']}.",
        "Run-All excludes kernel start-up; slider latency is kernel-side (update + render + PNG).",
    ]
    w = results.get("workload")
    unit = w["seconds"] if w else None
    if w:
        lines.append(
            f"Times are also given in **workloads**: the reference workload ({w['description']}) took "
            f"{unit:.2f} s in this run (best of {sum(len(r) for r in w['runs_s'].values())} timings, "
            "before and after the notebooks). The ratio is what to compare across runs: this host's speed "
            "swings by ±40 %."
        )

    def x(seconds):
        return "–" if unit is None else f"{seconds / unit:.1f}×"

    lines += [
        "",
        "| notebook | Run-All (s) | Run-All (× workload) | peak kernel memory (MB) | sliders: median / p95 ms |",
        "|---|---:|---:|---:|---|",
    ]
    for r in results["notebooks"]:
        sliders = ", ".join(
            f"{s['description']} {s['median_ms']:.0f} / {s['p95_ms']:.0f}" for s in r["sliders"]
        )
        rss = "–" if r.get("peak_rss_mb") is None else f"{r['peak_rss_mb']:.0f}"
        lines.append(
            f"| {r['notebook']} | {r['run_all_s']:.1f} | {x(r['run_all_s'])} | {rss} | {sliders or '–'} |"
        )
    total = results["course_run_all_s"]
    lines.append(f"| **whole course** | **{total:.1f}** | **{x(total)}** | | |")
    lines.append("")
    b, c = results.get("browser"), results.get("core")
    if b:
        lines.append(
            f"- Browser (JupyterLab in Chromium), key press → new figure pixels, notebook 05's γ "
            f"slider: median {b['median_ms']:.0f} ms, p95 {b['p95_ms']:.0f} ms "
            f"over {b['n']} presses."
        )
    if c:
        lines.append(
            f"- BN backward on (256, 1024) float64: compact {c['bn_backward_compact_ms']:.2f} ms, "
            f"staged {c['bn_backward_staged_ms']:.2f} ms ({c['bn_backward_ratio']:.1f}× faster)."
        )
        lines.append(
            f"- 3000 SGD steps of a 64-100-100-100-10 sigmoid MLP with BN, batch 60, on digits: "
            f"{c['train_3000_steps_s']:.2f} s ({x(c['train_3000_steps_s'])} workload)."
        )
        if "batched_10_seeds_s" in c:
            lines.append(
                f"- Seed-batched training (`cu.batched.train_seeds`), {c['seed_batching_steps']} steps of the "
                f"same net: 1 seed {c['batched_1_seed_s']:.2f} s ({x(c['batched_1_seed_s'])}), "
                f"{c['seed_batching_n_seeds']} seeds {c['batched_10_seeds_s']:.2f} s "
                f"({x(c['batched_10_seeds_s'])}) = **{c['batched_10_to_1_ratio']:.1f}× one seed**; "
                f"one seed with `train()` {c['train_1_seed_s']:.2f} s ({x(c['train_1_seed_s'])}), so a loop of "
                f"`train()` costs {c['batched_per_seed_speedup']:.2f}× as much per seed."
            )
    t = results["targets"]
    lines.append(
        f"- Budgets: course ≤ {t['course_workloads']:.0f}× workload, notebook ≤ {t['notebook_workloads']:.0f}× "
        f"workload, 10 seeds ≤ {t['seed_batching_10_to_1']:g}× one seed, "
        f"slider median ≤ {t['slider_median_ms']:.0f} ms, "
        f"browser ≤ {t['browser_median_ms']:.0f} ms, "
        f"kernel ≤ {t['kernel_rss_mb']:.0f} MB."
    )
    over = [what for what, _, _, ok in budget_checks(results) if not ok]
    if over:
        lines.append(f"- Over budget in this run: {'; '.join(over)}.")
    return "\n".join(lines)


def write_readme_section(results: dict):
    """Replace the text between the bench markers of README.md with :func:`markdown_summary`."""
    readme = ROOT / "README.md"
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        print("! README.md has no bench markers; Performance section not updated")
        return
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    readme.write_text(f"{head}{README_START}\n{markdown_summary(results)}\n{README_END}{tail}")


def print_table(results: dict):
    m = results["machine"]
    print(f"\nMachine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, {m['date']}\n")
    w = results.get("workload")
    if w:
        print(f"reference workload: {w['seconds']:.2f} s (best of every timing: {w['runs_s']})\n")
    print(f"{'notebook':<52} {'Run-All s':>9} {'× wkld':>7} {'kernel MB':>9}")
    for r in results["notebooks"]:
        rss = r.get("peak_rss_mb")
        ratio = r.get("run_all_workloads")
        print(
            f"{r['notebook']:<52} {r['run_all_s']:>9.1f} {'' if ratio is None else f'{ratio:.1f}':>7} "
            f"{rss if rss is None else round(rss):>9}  "
            f"{flag(ratio, TARGETS['notebook_workloads'])}/{flag(rss, TARGETS['kernel_rss_mb'])}"
        )
    total, ratio = results["course_run_all_s"], results.get("course_run_all_workloads")
    print(
        f"{'whole course':<52} {total:>9.1f} {'' if ratio is None else f'{ratio:.1f}':>7}            "
        f"{flag(ratio, TARGETS['course_workloads'])}"
    )
    print(f"\n{'slider (notebook: control)':<60} {'median ms':>9} {'p95 ms':>8}")
    for r in results["notebooks"]:
        for s in r.get("sliders", []):
            name = f"{r['notebook'][:2]}: {s['description']} [{s['panel']}]"
            print(
                f"{name:<60} {s['median_ms']:>9.1f} {s['p95_ms']:>8.1f}  "
                f"{flag(s['median_ms'], TARGETS['slider_median_ms'])}"
            )
    b = results.get("browser")
    if b:
        print(
            f"\nbrowser key → pixels (05 γ, n={b['n']}): median {b['median_ms']:.0f} ms, "
            f"p95 {b['p95_ms']:.0f} ms  {flag(b['median_ms'], TARGETS['browser_median_ms'])}"
        )
    c = results.get("core")
    if c:
        items = (f"{k} = {v:.3g}" if isinstance(v, float) else f"{k} = {v}" for k, v in c.items())
        print("\ncore: " + ", ".join(items))
    checks = budget_checks(results)
    if checks:
        print("\nbudget checks (issue 13):")
        for what, value, limit, ok in checks:
            print(f"  {what:<66} {value:>7.2f} ≤ {limit:<6g} {'ok' if ok else 'OVER'}")


if __name__ == "__main__":
    sys.exit(main())
