"""The one entry point for tests, lint, benchmarks, the demo, docs and builds.

Sessions
--------
tests(package)   install one package (its uvflow siblings editable, in one resolver call)
                 and run ``tests/<package>``
tests_all        install everything (and nbclient, nbformat, ipykernel to run the example
                 notebooks) and run the whole test suite
lint             ruff check and ruff format --check
bench(mode, workers), bench_quick, bench_compare   the benchmark harness (benchmarks/)
demo             the end-to-end demonstration
docs             the documentation site (Sphinx, warnings as errors) into docs/_build/html
build            a wheel and an sdist per package into dist/ (each checked for LICENSE)
minimums         every direct dependency at its declared lower bound, on Python 3.11, and
                 the package tests (not a default session; CI does not run it)
large_data       issue 15's large-data benchmark and its acceptance lines, pass/fail (not a
                 default session; CI does not run it)
wsclean_jobs     issue 16's jobs side by side with WSClean and their acceptance lines,
                 pass/fail (not a default session; CI does not run it)
faults           the heavy fault-injection runs of issue 17: 200 reads during column
                 writes, 20 SIGINT and 20 SIGTERM in library writes and in
                 ``uvflow image --write-model --write-corrected`` runs (about 10 min; not a
                 default session: the default suite runs small versions of each)

The bench sessions install WSClean from Debian's package where they can (ensure_wsclean).
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys

import nox

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = pathlib.Path(__file__).parent
PACKAGES = ["execution", "datamodels", "imaging", "calibration", "simulation", "pipelines"]
TEST_DEPS = ["pytest>=7", "hypothesis>=6", "pytest-benchmark>=4", "nox"]
# tests/integration/test_integration_examples.py executes the example notebooks (examples/
# *.ipynb) in an IPython kernel of the session's Python: test dependencies only, no
# package needs them
NOTEBOOK_TEST_DEPS = ["nbclient>=0.10", "nbformat>=5.9", "ipykernel>=6.29"]
# One BLAS/OpenMP thread per process in the tests: the Dask tests start worker processes
# on a 2-core machine, and BLAS threads in each of them only compete for the cores.
TEST_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

nox.options.sessions = ["lint", "tests_all"]
nox.options.reuse_existing_virtualenvs = True
nox.options.default_venv_backend = "venv"


def _project(pkg: str) -> dict:
    with open(ROOT / "packages" / pkg / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]


def _requirement_names(reqs: list[str]) -> list[tuple[str, list[str]]]:
    """uvflow siblings named in requirement strings, with the extras asked for."""
    out = []
    for req in reqs:
        m = re.match(r"uvflow-([a-z]+)(\[([a-z,]+)\])?", req)
        if m:
            out.append((m.group(1), m.group(3).split(",") if m.group(3) else []))
    return out


def sibling_closure(pkg: str, extras: tuple[str, ...] = ()) -> dict[str, set[str]]:
    """Map package -> extras for ``pkg`` and every uvflow package it needs."""
    need: dict[str, set[str]] = {pkg: set(extras)}
    todo = [pkg]
    while todo:
        name = todo.pop()
        proj = _project(name)
        reqs = list(proj.get("dependencies", []))
        for ex in need[name]:
            reqs += proj.get("optional-dependencies", {}).get(ex, [])
        for sib, sib_extras in _requirement_names(reqs):
            before = need.get(sib)
            need.setdefault(sib, set()).update(sib_extras)
            if before is None or not set(sib_extras) <= before:
                todo.append(sib)
    return need


def all_extras(pkg: str) -> tuple[str, ...]:
    return tuple(_project(pkg).get("optional-dependencies", {}))


def install_packages(session: nox.Session, pkgs: dict[str, set[str]], *extra: str) -> None:
    """Install uvflow packages editable in ONE pip call (so siblings resolve locally)."""
    args = []
    for name in PACKAGES:
        if name in pkgs:
            ex = f"[{','.join(sorted(pkgs[name]))}]" if pkgs[name] else ""
            args += ["-e", f"./packages/{name}{ex}"]
    session.install(*args, *extra)


def install_everything(session: nox.Session, *extra: str) -> None:
    pkgs = {}
    for name in PACKAGES:
        for sib, ex in sibling_closure(name, all_extras(name)).items():
            pkgs.setdefault(sib, set()).update(ex)
    install_packages(session, pkgs, *extra)


@nox.session
@nox.parametrize("package", PACKAGES, ids=PACKAGES)
def tests(session: nox.Session, package: str) -> None:
    """Run tests/<package> with only that package (and its extras and siblings) installed."""
    install_packages(session, sibling_closure(package, all_extras(package)), *TEST_DEPS)
    session.run(
        "pytest", f"tests/{package}", "tests/test_repository.py", *session.posargs, env=TEST_ENV
    )


@nox.session
def tests_all(session: nox.Session) -> None:
    """Install every package and run the whole test suite (the example notebooks too)."""
    install_everything(session, *TEST_DEPS, *NOTEBOOK_TEST_DEPS)
    session.run("pytest", "tests", *session.posargs, env=TEST_ENV)


@nox.session
def faults(session: nox.Session) -> None:
    """The fault-injection tests at full size (``UVFLOW_HEAVY_FAULTS=1``)."""
    install_everything(session, *TEST_DEPS)
    session.run("pytest", "tests/datamodels/test_dm_ms_atomic_writes.py",
                "tests/pipelines/test_pipe_write_faults.py", *session.posargs,
                env={**TEST_ENV, "UVFLOW_HEAVY_FAULTS": "1"})  # fmt: skip


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole repository."""
    session.install("ruff==0.17.6")  # pinned: a new release must not reformat the tree under CI
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


BENCH_MATRIX = [("serial", 1), ("dask", 1), ("dask", 2), ("dask", 4)]


def _bench_env(mode: str, workers: int) -> dict[str, str]:
    return {
        "UVFLOW_BENCH_MODE": mode,
        "UVFLOW_BENCH_WORKERS": str(workers),
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "NUMBA_NUM_THREADS": "1",
    }


def ensure_wsclean(session: nox.Session, install: bool = True) -> str | None:
    """WSClean for the benchmarks that run it beside uvflow; returns its path or None.

    ``$UVFLOW_BENCH_WSCLEAN`` if set, else ``wsclean`` on ``PATH``: used as it is. Else,
    with ``install``, as root, with ``apt-get`` and without ``UVFLOW_NO_APT`` in the
    environment: ``apt-get install -y --no-install-recommends wsclean`` (Debian's package;
    ``apt-get update`` first when apt knows no candidate for it). Sets
    ``UVFLOW_BENCH_WSCLEAN`` (the path the benchmarks run) in the session's environment,
    or, when there is none, logs "WSClean not installed (reason): the WSClean columns are
    empty" and sets ``UVFLOW_BENCH_NO_WSCLEAN`` to the reason, which the benchmarks report
    as theirs for leaving the WSClean side out.

    Parameters
    ----------
    session : nox.Session
        The bench session (its environment gets the variables above).
    install : bool
        Whether to install the package when WSClean is not found (``bench_quick``, run by
        CI, does not: the package and its libraries are tens of MB to fetch).

    Returns
    -------
    str or None
        The path of the WSClean executable, or None.
    """
    exe = os.environ.get("UVFLOW_BENCH_WSCLEAN") or shutil.which("wsclean")
    reason = None
    if exe is None:
        if not install:
            reason = f"not on PATH, and nox -s {session.name} does not install it"
        elif os.environ.get("UVFLOW_NO_APT"):
            reason = "not on PATH, and UVFLOW_NO_APT is set"
        elif not hasattr(os, "geteuid") or os.geteuid() != 0:
            reason = "not on PATH, and not root: apt-get cannot install it"
        elif shutil.which("apt-get") is None:
            reason = "not on PATH, and no apt-get: not a Debian-like system"
        else:
            policy = subprocess.run(["apt-cache", "policy", "wsclean"], capture_output=True,
                                    text=True, check=False).stdout  # fmt: skip
            if not re.search(r"Candidate: (?!\(none\))", policy):  # package lists lack it
                session.run("apt-get", "update", external=True, success_codes=[0, 100])
            session.run("apt-get", "install", "-y", "--no-install-recommends", "wsclean",
                        external=True, success_codes=[0, 100])  # fmt: skip
            exe = shutil.which("wsclean")
            reason = None if exe else "apt-get install wsclean failed (its output is above)"
    if exe is None:
        session.warn(f"WSClean not installed ({reason}): the WSClean columns are empty")
        session.env["UVFLOW_BENCH_NO_WSCLEAN"] = reason
        return None
    session.log(f"WSClean: {exe}")
    session.env["UVFLOW_BENCH_WSCLEAN"] = exe
    return exe


@nox.session
@nox.parametrize("mode,workers", BENCH_MATRIX)
def bench(session: nox.Session, mode: str, workers: int) -> None:
    """One benchmark run (never under xdist): .benchmarks/runs/<mode>-w<workers>-<pkg>.json.

    Each package's benchmarks run in a fresh pytest process, so a workload is not timed in
    a process that earlier workloads left with gigabytes of heap (measured: the serial
    continuum pipeline took 20.6 s after the other benchmarks, 15.9 s on its own). The run
    replaces every file of the same mode and worker count; positional arguments choose
    what to run instead, in one process (e.g. ``-- benchmarks/pipelines``).
    """
    install_everything(session, *TEST_DEPS, "matplotlib")
    if mode == "serial":  # the WSClean comparisons run in the serial session only
        ensure_wsclean(session)
    out = ROOT / ".benchmarks" / "runs"
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob(f"{mode}-w{workers}*.json"):
        old.unlink()
    if session.posargs:
        parts = [(f"{mode}-w{workers}", list(session.posargs))]
    else:
        dirs = sorted(d for d in (ROOT / "benchmarks").iterdir() if any(d.glob("bench_*.py")))
        parts = [(f"{mode}-w{workers}-{d.name}", [str(d.relative_to(ROOT))]) for d in dirs]
    for name, paths in parts:
        session.run(
            "pytest", *paths, "-p", "no:xdist", f"--benchmark-json={out / f'{name}.json'}",
            env=_bench_env(mode, workers),
        )  # fmt: skip


@nox.session
def bench_quick(session: nox.Session) -> None:
    """The whole benchmark matrix at tiny sizes: keeps the harness working (timings not judged).

    Uses WSClean where it is installed but does not install it (CI runs this session: the
    package and its libraries are tens of MB to fetch).
    """
    install_everything(session, *TEST_DEPS, "matplotlib")
    ensure_wsclean(session, install=False)
    out = ROOT / ".benchmarks" / "quick"
    out.mkdir(parents=True, exist_ok=True)
    for mode, workers in BENCH_MATRIX[:3]:
        env = _bench_env(mode, workers) | {"UVFLOW_BENCH_SIZE": "tiny"}
        session.run(
            "pytest",
            "benchmarks",
            "-p",
            "no:xdist",
            f"--benchmark-json={out / f'{mode}-w{workers}.json'}",
            *session.posargs,
            env=env,
        )


@nox.session
def bench_compare(session: nox.Session) -> None:
    """Serial vs Dask side by side: benchmarks/report.md and a PNG plot."""
    install_everything(session, "matplotlib")
    session.run(
        "python", "benchmarks/compare.py", str(ROOT / ".benchmarks" / "runs"), *session.posargs
    )


@nox.session
def large_data(session: nox.Session) -> None:
    """Issue 15's large-data acceptance lines, with a pass/fail table (not a default session;
    CI does not run it).

    Runs ``benchmarks/pipelines/bench_large_data.py`` alone (MS sizes 1×, 2×, 4× — the 4×
    MS is issue 15's 5.9 GB of DATA — or ``UVFLOW_BENCH_LARGE_SIZES``; rounds
    ``UVFLOW_BENCH_LARGE_ROUNDS``, default 3; the MSs cached in ``UVFLOW_BENCH_DATA``) into
    ``.benchmarks/large/``, then ``benchmarks/compare.py --large-data``: the table and the
    acceptance lines, failing if one measured is not met. About 1.5 h on a 2-core machine
    (plus ~7 min to build the MSs the first time, ~17 GB).
    """
    install_everything(session, *TEST_DEPS)
    ensure_wsclean(session)
    out = ROOT / ".benchmarks" / "large"
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.json"):
        old.unlink()
    session.run(
        "pytest", "benchmarks/pipelines/bench_large_data.py", "-p", "no:xdist",
        f"--benchmark-json={out / 'serial-w1-large.json'}", *session.posargs,
        env=_bench_env("serial", 1),
    )  # fmt: skip
    session.run("python", "benchmarks/compare.py", str(out), "--large-data")


@nox.session
def wsclean_jobs(session: nox.Session) -> None:
    """Issue 16's jobs beside WSClean, with the acceptance lines, pass/fail (not a default
    session; CI does not run it).

    Installs WSClean where it can (:func:`ensure_wsclean`), runs
    ``benchmarks/pipelines/bench_wsclean_jobs.py`` alone into
    ``.benchmarks/runs/serial-w1-wsclean.json`` (where ``bench_compare`` reads it: the
    report's "WSClean side by side" section), then prints that section with
    ``benchmarks/compare_wsclean.py``, failing if a line measured is not met. About 10 min
    on a 2-core machine (plus ~10 s to build the MSs the first time).
    """
    install_everything(session, *TEST_DEPS)
    ensure_wsclean(session)
    out = ROOT / ".benchmarks" / "runs"
    out.mkdir(parents=True, exist_ok=True)
    session.run(
        "pytest", "benchmarks/pipelines/bench_wsclean_jobs.py", "-p", "no:xdist",
        f"--benchmark-json={out / 'serial-w1-wsclean.json'}", *session.posargs,
        env=_bench_env("serial", 1),
    )  # fmt: skip
    session.run("python", "benchmarks/compare_wsclean.py", str(out))


@nox.session
def demo(session: nox.Session) -> None:
    """The end-to-end demonstration (see README)."""
    install_everything(session, "matplotlib")
    session.run("python", "examples/demo.py", *session.posargs)


DOCS_DEPS = ["sphinx>=7", "numpydoc>=1.6", "myst-parser>=2"]  # MyST: the Markdown pages


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site (docs/): every package installed, Sphinx with warnings as errors."""
    install_everything(session, *DOCS_DEPS)
    session.run(
        "sphinx-build", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html",
        *session.posargs,
    )  # fmt: skip


def minimum_pins() -> list[str]:
    """``name==minimum`` for every direct third-party dependency (and extra) of every package.

    The minimum is each requirement's ``>=`` bound; a name required by several packages is
    pinned at the highest of their bounds (the least that all of them accept).
    """
    lows: dict[str, tuple[tuple[int, ...], str]] = {}
    for pkg in PACKAGES:
        proj = _project(pkg)
        reqs = list(proj.get("dependencies", []))
        for extra in proj.get("optional-dependencies", {}).values():
            reqs += extra
        for req in reqs:
            if req.startswith("uvflow-"):
                continue
            m = re.fullmatch(r"([A-Za-z0-9_.\-]+)(\[[a-z,]+\])?>=([0-9.]+)(,.*)?", req)
            if not m:
                raise ValueError(f"{pkg}: {req!r} has no lower bound to test")
            name, low = m.group(1).lower(), m.group(3)
            key = tuple(int(x) for x in low.split("."))
            if name not in lows or key > lows[name][0]:
                lows[name] = (key, low)
    return [f"{name}=={low}" for name, (_, low) in sorted(lows.items())]


MINIMUM_TESTS = [
    "tests/execution",
    "tests/datamodels",
    "tests/imaging",
    "tests/calibration",
    "tests/simulation",
]
# Tests whose oracle is casacore's measures (mscal, measures.to_uvw): python-casacore wheels
# before 3.6 ship no measures data (TAI_UTC, IERS tables), and uvflow itself uses only
# casacore.tables, so these test the test machine's data, not the lower bound.
MINIMUM_DESELECT = [
    "tests/datamodels/test_dm_ms_casacore_accepts.py::test_casacore_recomputes_our_uvw_from_our_metadata",
    "tests/simulation/test_simulation_uvw.py::test_uvw_agree_with_casacore",
]


@nox.session(python="3.11")
def minimums(session: nox.Session) -> None:
    """Every package with every direct dependency at its declared minimum, on Python 3.11.

    Not a default session and not run by CI: it proves the lower bounds in the
    pyprojects still work (``nox -s minimums``; positional arguments replace the tests).
    """
    pins = minimum_pins()
    session.log("pinned: " + " ".join(pins))
    pkgs = {name: set(all_extras(name)) for name in PACKAGES}
    install_packages(session, pkgs, *pins, *TEST_DEPS)
    session.run("python", "-m", "pip", "list")
    deselect = [f"--deselect={node}" for node in MINIMUM_DESELECT]
    tests = session.posargs or [*MINIMUM_TESTS, *deselect, "-x", "-q"]
    session.run("pytest", *tests, env=TEST_ENV)


@nox.session
def build(session: nox.Session) -> None:
    """A wheel and an sdist for every package into dist/."""
    session.install("build>=1.0")
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    for name in PACKAGES:
        session.run("python", "-m", "build", "--outdir", str(dist), f"packages/{name}")
    problems = check_dist_licenses(dist)
    if problems:
        session.error("\n".join(problems))
    session.log(f"every wheel and sdist in {dist} carries LICENSE")


def check_dist_licenses(dist: pathlib.Path) -> list[str]:
    """Open every wheel and sdist in ``dist``: each must hold the repository's LICENSE.

    A wheel keeps it as ``<name>.dist-info/licenses/LICENSE`` (PEP 639), an sdist at the
    top of its one directory. Returns what is wrong (missing, different, or not one
    wheel and one sdist per package), so the build session fails on it.
    """
    import tarfile
    import zipfile

    text = (ROOT / "LICENSE").read_bytes()
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    problems = []
    if len(wheels) != len(PACKAGES) or len(sdists) != len(PACKAGES):
        problems.append(f"{dist}: {len(wheels)} wheels and {len(sdists)} sdists, expected "
                        f"{len(PACKAGES)} of each")  # fmt: skip
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as zf:
            names = [n for n in zf.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
            if not names:
                problems.append(f"{wheel.name}: no .dist-info/licenses/LICENSE")
            elif zf.read(names[0]) != text:
                problems.append(f"{wheel.name}: {names[0]} differs from the root LICENSE")
    for sdist in sdists:
        with tarfile.open(sdist) as tf:
            top = sdist.name.removesuffix(".tar.gz")
            try:
                member = tf.extractfile(f"{top}/LICENSE")
            except KeyError:
                member = None
            if member is None:
                problems.append(f"{sdist.name}: no {top}/LICENSE")
            elif member.read() != text:
                problems.append(f"{sdist.name}: {top}/LICENSE differs from the root LICENSE")
    return problems
