"""``uvflow`` starts at once: parsing a command imports the chosen sub-command's options only,
and no dask, distributed, scipy or matplotlib (they are imported when a run needs them).

Each check runs in a fresh interpreter (this one has imported everything already). The
wall time is printed, not asserted: the machine is shared.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

HEAVY = ("dask", "distributed", "scipy", "matplotlib")

PARSE = """
import json, sys, time
t0 = time.perf_counter()
from uvflow.pipelines.cli.main import _chosen, build_parser
argv = json.loads(sys.argv[1])
args = build_parser([c for c in [_chosen(argv)] if c]).parse_args(argv)
print(json.dumps({"seconds": time.perf_counter() - t0, "command": args.command,
                  "modules": sorted(sys.modules)}))
"""


def _fresh(argv: list[str]) -> dict:
    run = subprocess.run([sys.executable, "-c", PARSE, json.dumps(argv)], capture_output=True,
                         text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def _top_level(modules) -> set[str]:
    return {m.split(".")[0] for m in modules}


@pytest.mark.parametrize(
    "argv",
    [
        ["image", "x.ms", "-name", "out/x", "-size", "512", "-scale", "2asec", "-niter", "1000",
         "--plot"],
        ["image", "a.ms", "b.uvfits", "--name", "y", "--nworkers", "0", "--mode", "ical"],
    ],
)  # fmt: skip
def test_parsing_image_imports_no_heavy_module(argv):
    out = _fresh(argv)
    print(f"uvflow {' '.join(argv)}: parsed in {out['seconds']:.3f} s")
    assert out["command"] == "image"
    assert not _top_level(out["modules"]) & set(HEAVY)
    # the other sub-commands' modules (and image's own run module) are not imported
    cli = {m.rpartition(".")[2] for m in out["modules"] if m.startswith("uvflow.pipelines.cli.")}
    assert not cli & {"image", "simulate", "demo", "info", "plugins", "products", "previews"}


def test_image_help_in_a_fresh_interpreter():
    """``uvflow image --help`` as the console script runs it (``main()``): the full help,
    and none of the heavy modules in ``-X importtime``."""
    script = "import sys; from uvflow.pipelines.cli.main import main; sys.exit(main())"
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", script, "image", "--help"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("usage: uvflow image") and "--plot" in run.stdout
    rows = [line.split("|") for line in run.stderr.splitlines() if line.startswith("import time:")]
    rows = [(int(r[1]), r[2]) for r in rows if r[1].strip().isdigit()]  # (cumulative µs, name)
    imported = [name.strip() for _, name in rows]
    total = sum(us for us, name in rows if not name.startswith("  "))  # top-level imports
    print(f"uvflow image --help: {total / 1e6:.3f} s of imports")
    assert "uvflow.pipelines.cli.image_options" in imported  # (importlib's imports: not listed)
    assert not _top_level(imported) & set(HEAVY)


def test_other_commands_parse_without_the_image_modules():
    out = _fresh(["info", "x.ms"])
    assert out["command"] == "info"
    assert "uvflow.pipelines.cli.image_arguments" not in out["modules"]
    assert "uvflow.pipelines.cli.info" in out["modules"]


def test_the_full_parser_still_has_every_command():
    """``build_parser()`` without arguments (the docs' command reference) adds every
    sub-command's options."""
    from uvflow.pipelines.cli.main import build_parser

    parser = build_parser()
    (sub,) = [a for a in parser._actions if a.dest == "command"]
    assert set(sub.choices) == {"image", "calibrate", "simulate", "demo", "info", "plugins"}
    assert "--plot" in sub.choices["image"].format_help()
    assert "--array" in sub.choices["simulate"].format_help()
    assert "--flux-calibrator" in sub.choices["calibrate"].format_help()


UVFITS_3C273 = pathlib.Path(__file__).resolve().parents[2] / "../shared/data/real/3C273XC1.fits"

RUN = """
import json, sys
from uvflow.pipelines.cli.main import main
status = main(json.loads(sys.argv[1]))
print(json.dumps({"status": status, "modules": sorted(sys.modules)}))
"""


@pytest.mark.skipif(not UVFITS_3C273.exists(), reason="the shared VLA 3C273 file is not present")
def test_a_serial_run_imports_no_dask_and_no_slow_scipy(tmp_path):
    """A whole ``uvflow image`` run of one chunk (serial by default, issue 16) weights, cleans
    (multi-scale), restores and finds sources without dask, distributed, matplotlib or scipy
    (its sub-packages cost up to a second each to import: ducc0 and numpy do the work)."""
    argv = ["image", str(UVFITS_3C273), "-name", str(tmp_path / "x"), "-size", "128",
            "-niter", "50", "-weight", "briggs", "0", "-multiscale"]  # fmt: skip
    run = subprocess.run([sys.executable, "-c", RUN, json.dumps(argv)], capture_output=True,
                         text=True, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout.splitlines()[-1])
    assert out["status"] == 0 and (tmp_path / "x-sources.json").exists()
    assert not {"dask", "distributed", "matplotlib", "scipy"} & set(out["modules"])
