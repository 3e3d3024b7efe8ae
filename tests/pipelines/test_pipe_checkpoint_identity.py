"""Checkpoints carry their identity: a resume of other data or settings is refused.

``uvflow image --checkpoint-dir`` on a small MeerKAT simulation (64² pixels of 10", one
major cycle, serial, well under a second a run), then reruns that differ in one thing:
another MS of the same shape, the same path holding other data, another ``-scale``,
a ``-niter`` that cut a cycle short — each refused with one line naming the difference,
the checkpoint untouched; ``--checkpoint-restart`` starts afresh. A ``-niter`` that cut
no cycle short may change (WSClean's total budget: the resume is the uninterrupted run). A damaged store (a chunk file changed
or missing: zarr would read it as zeros) is an error naming the file. At the API level:
in-memory data of the same shape, and a resume through Dask graphs equal to the
uninterrupted run. (Resuming with more major cycles is allowed:
test_pipe_cli_options.py::test_checkpoint_dir_rerun_continues, test_pipe_checkpoint.py.)
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pipe_helpers as H  # tests/pipelines, on sys.path through conftest.py
import pytest
from astropy.io import fits

from uvflow.execution import rsexecute
from uvflow.pipelines import CheckpointError, continuum_imaging_list_rsexecute_workflow
from uvflow.pipelines.cli import main

SIMULATE = ["simulate", "--array", "meerkat", "--rmax", "500", "--ntimes", "4", "--nchan", "2",
            "--freq", "1.3e9", "1.4e9", "--nsrc", "2", "--fov", "0.2deg"]  # fmt: skip
BASE = ["-size", "64", "-niter", "100", "-mgain", "0.5", "--nworkers", "0"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("identity")
    assert main([*SIMULATE, "--out", str(d / "small.ms")]) == 0
    assert main([*SIMULATE, "--seed", "7", "--out", str(d / "other.ms")]) == 0
    assert main([*SIMULATE, "--noise", "0.01", "--out", str(d / "noisy.ms")]) == 0
    return d


def _image(ms, out, ck, *extra, scale="10asec", nmajor=1):
    argv = ["-q", "image", str(ms), "-name", str(out), *BASE, "-scale", scale,
            "--nmajor", str(nmajor), "--checkpoint-dir", str(ck), *extra]  # fmt: skip
    return main(argv)


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("uvflow: error: CheckpointError:"), err
    return err


def _refused(capsys, ck, *phrases, cycle=1):
    """The one-line error names each phrase and the way out; the checkpoint is untouched."""
    err = _one_line(capsys)
    for phrase in (f"checkpoint in {ck} was made with", *phrases, "--checkpoint-restart"):
        assert phrase in err, err
    assert json.loads((ck / "manifest.json").read_text())["cycle"] == cycle


def test_another_ms_of_the_same_shape_is_refused(data, tmp_path, capsys):
    ck = tmp_path / "ck"
    assert _image(data / "small.ms", tmp_path / "one", ck) == 0
    capsys.readouterr()
    assert _image(data / "other.ms", tmp_path / "two", ck, nmajor=2) == 2
    _refused(capsys, ck, f"data {data / 'small.ms'}, this run has {data / 'other.ms'}")
    assert not list(tmp_path.glob("two*"))  # nothing written
    # the same path holding other data of the same shape: the samples of the data differ
    ms, ck2 = tmp_path / "x.ms", tmp_path / "ck2"
    shutil.copytree(data / "small.ms", ms)
    assert _image(ms, tmp_path / "three", ck2) == 0
    shutil.rmtree(ms)
    shutil.copytree(data / "other.ms", ms)
    capsys.readouterr()
    assert _image(ms, tmp_path / "four", ck2, nmajor=2) == 2
    _refused(capsys, ck2, f"a hash of samples of TIME, UVW and DATA of {ms}")


def test_another_scale_is_refused(data, tmp_path, capsys):
    ck = tmp_path / "ck"
    assert _image(data / "small.ms", tmp_path / "one", ck) == 0
    capsys.readouterr()
    assert _image(data / "small.ms", tmp_path / "two", ck, scale="7asec", nmajor=2) == 2
    _refused(capsys, ck, "cell size (-scale) 10asec, this run has 7asec")


def _same_products(a, b):
    for kind in ("model", "residual"):
        np.testing.assert_array_equal(fits.getdata(f"{a}-{kind}.fits"),
                                      fits.getdata(f"{b}-{kind}.fits"))  # fmt: skip


def _components(ck) -> int:
    return json.loads((ck / "manifest.json").read_text())["components"]


def test_a_niter_that_cut_no_cycle_may_change(data, tmp_path, capsys):
    """-niter is the run's total budget (WSClean): a checkpoint whose cycles it did not cut
    short continues under another budget, exactly as the uninterrupted run of that budget
    (bit for bit: the same operations on the same numbers); a budget below the components
    the checkpoint holds is refused."""
    ck = tmp_path / "ck"
    assert _image(data / "small.ms", tmp_path / "one", ck) == 0
    held = _components(ck)
    assert 0 < held < 100  # -mgain 0.5 stopped the first minor cycle, not -niter 100
    assert _image(data / "small.ms", tmp_path / "two", ck, "-niter", "200", nmajor=2) == 0
    assert _image(data / "small.ms", tmp_path / "straight", tmp_path / "ck2", "-niter", "200",
                  nmajor=2) == 0  # fmt: skip
    _same_products(tmp_path / "two", tmp_path / "straight")
    held = _components(ck)
    capsys.readouterr()
    assert _image(data / "small.ms", tmp_path / "three", ck, "-niter", str(held - 1),
                  nmajor=3) == 2  # fmt: skip
    _refused(capsys, ck, f"clean.niter (-niter) 200, this run has {held - 1} "
             f"(the checkpoint already holds {held} components)", cycle=2)  # fmt: skip


def test_a_niter_that_cut_a_cycle_is_refused_and_restart_starts_afresh(data, tmp_path, capsys):
    """A cycle stopped by -niter 5 would have cleaned on under -niter 200: resuming would not
    give the run of -niter 200, so it is refused; --checkpoint-restart gives that run."""
    ck = tmp_path / "ck"
    assert _image(data / "small.ms", tmp_path / "one", ck, "-niter", "5") == 0
    assert _components(ck) == 5
    capsys.readouterr()
    assert _image(data / "small.ms", tmp_path / "two", ck, "-niter", "200", nmajor=2) == 2
    _refused(capsys, ck, "clean.niter (-niter) 5, this run has 200 "
             "(the checkpoint's 5 components reached its budget)")  # fmt: skip
    # --checkpoint-restart: the old cycles go, the run is the uninterrupted one
    assert _image(data / "small.ms", tmp_path / "two", ck, "-niter", "200",
                  "--checkpoint-restart", nmajor=2) == 0  # fmt: skip
    manifest = json.loads((ck / "manifest.json").read_text())
    assert manifest["cycle"] == 2
    assert manifest["identity"]["settings"]["clean"]["niter_total"] == 200
    straight = tmp_path / "straight"
    assert _image(data / "small.ms", straight, tmp_path / "ck3", "-niter", "200", nmajor=2) == 0
    _same_products(tmp_path / "two", straight)


def test_a_resume_stops_where_the_uninterrupted_run_stops(data, tmp_path):
    """-auto-threshold 3 on a noisy simulation: the uninterrupted run stops after 4 minor
    cycles, because the 4th cleaned to the final threshold (WSClean's rule: one last
    residual, however low its noise and so the auto-threshold); a run of 4 cycles resumed
    with -nmiter 30 stops there too, the checkpoint keeping the last minor cycle's rule
    (without it the resume cleaned on to the lower threshold), bit for bit."""
    ms, extra = data / "noisy.ms", ("-auto-threshold", "3", "-mgain", "0.8", "-niter", "100000")
    straight = tmp_path / "straight"
    assert _image(ms, straight, tmp_path / "ck0", *extra, nmajor=30) == 0
    report = json.loads((tmp_path / "straight-report.json").read_text())
    assert "the last minor cycle cleaned to the final threshold" in json.dumps(report)
    ck = tmp_path / "ck"
    assert _image(ms, tmp_path / "four", ck, *extra, nmajor=4) == 0
    assert _image(ms, tmp_path / "resumed", ck, *extra, nmajor=30) == 0
    assert json.loads((ck / "manifest.json").read_text())["cycle"] == 4  # no cycle added
    _same_products(tmp_path / "resumed", straight)


def test_damaged_store_is_an_error_naming_the_file(data, tmp_path, capsys):
    ck = tmp_path / "ck"
    assert _image(data / "small.ms", tmp_path / "one", ck) == 0
    chunk = next(p for p in (ck / "cycle-0001" / "model-0000.zarr").rglob("*")
                 if p.is_file() and p.name != "zarr.json" and ".z" not in p.name)  # fmt: skip
    good = chunk.read_bytes()
    chunk.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    capsys.readouterr()
    assert _image(data / "small.ms", tmp_path / "two", ck, nmajor=2) == 2
    err = capsys.readouterr().err
    assert f"checkpoint file {chunk} differs from what was written" in err, err
    chunk.unlink()  # zarr would read the missing chunk as zeros
    assert _image(data / "small.ms", tmp_path / "two", ck, nmajor=2) == 2
    err = capsys.readouterr().err
    assert f"checkpoint file {chunk} is missing" in err and "--checkpoint-restart" in err, err
    chunk.write_bytes(good)  # repaired: the resume goes on
    assert _image(data / "small.ms", tmp_path / "two", ck, nmajor=2) == 0


@pytest.fixture(scope="module")
def field():
    rsexecute.set_client(use_dask=False)
    vis, models, _ = H.make_field(nwin=2, ntime=2, nant=6)
    return vis, models


OPTIONS = dict(niter=200, fractional_threshold=0.3, threshold=1e-4)


def test_in_memory_data_of_the_same_shape_is_refused(field, tmp_path):
    rsexecute.set_client(use_dask=False)
    vis, models = field
    ck = tmp_path / "ck"
    continuum_imaging_list_rsexecute_workflow(vis, models, nmajor=1, checkpoint_dir=ck, **OPTIONS)
    halved = [v.replace(vis=0.5 * v.vis) for v in vis]
    with pytest.raises(CheckpointError, match="hash of samples of TIME, UVW and DATA of "
                       "in-memory visibility 0 [0-9a-f]{12}, this run has [0-9a-f]{12}"):  # fmt: skip
        continuum_imaging_list_rsexecute_workflow(
            halved, models, nmajor=2, checkpoint_dir=ck, **OPTIONS
        )


def test_resume_through_dask_graphs(field, tmp_path):
    """Data and models given as graphs: the identity is a task of the first run and is
    computed to check the resume, which gives the uninterrupted result."""
    vis, models = field
    ck = tmp_path / "ck"
    rsexecute.set_client(use_dask=True, scheduler="synchronous")
    try:

        def graphs():
            return ([rsexecute.execute(v.copy)() for v in vis],
                    [rsexecute.execute(m.copy)() for m in models])  # fmt: skip

        rsexecute.compute(continuum_imaging_list_rsexecute_workflow(
            *graphs(), nmajor=1, checkpoint_dir=ck, **OPTIONS), sync=True)  # fmt: skip
        resumed = rsexecute.compute(continuum_imaging_list_rsexecute_workflow(
            *graphs(), nmajor=2, checkpoint_dir=ck, **OPTIONS), sync=True)  # fmt: skip
        straight = rsexecute.compute(
            continuum_imaging_list_rsexecute_workflow(*graphs(), nmajor=2, **OPTIONS), sync=True
        )
    finally:
        rsexecute.close()
    assert json.loads((ck / "manifest.json").read_text())["cycle"] == 2
    H.assert_pipeline_same(resumed, straight, rtol=1e-12)


def test_restart_removes_only_a_checkpoint(data, tmp_path, capsys):
    """--checkpoint-restart removes a manifest and cycle directories only when they are a
    uvflow checkpoint's (a damaged manifest next to its cycles included); another
    program's manifest.json, or a cycle directory holding other files, stays."""
    ck = tmp_path / "ck"
    ck.mkdir()
    foreign = ck / "manifest.json"
    foreign.write_text(json.dumps({"name": "a web app", "version": 3}))
    assert _image(data / "small.ms", tmp_path / "one", ck, "--checkpoint-restart") == 2
    err = _one_line(capsys)
    assert f"{foreign} is not a uvflow checkpoint manifest: not removed" in err, err
    assert json.loads(foreign.read_text())["version"] == 3
    foreign.unlink()
    assert _image(data / "small.ms", tmp_path / "one", ck) == 0
    notes = ck / "cycle-0001" / "notes.txt"
    notes.write_text("mine")
    capsys.readouterr()
    assert _image(data / "small.ms", tmp_path / "one", ck, "--checkpoint-restart") == 2
    err = _one_line(capsys)
    assert f"{ck / 'cycle-0001'} holds more than checkpoint stores: nothing removed" in err
    assert notes.read_text() == "mine" and (ck / "manifest.json").exists()
    notes.unlink()
    (ck / "manifest.json").write_text("{damaged")
    assert _image(data / "small.ms", tmp_path / "one", ck, "--checkpoint-restart") == 0
    assert json.loads((ck / "manifest.json").read_text())["cycle"] == 1
