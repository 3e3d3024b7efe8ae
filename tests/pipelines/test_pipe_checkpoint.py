"""Checkpoints and resilience: interrupted runs resume, a killed Dask worker changes nothing.

Resumed ≡ uninterrupted to 1e-12: the checkpoints are lossless (float64 images, complex128
gains in zarr), so a resumed run computes exactly what the uninterrupted run computes
from the same cycle on. A killed worker's tasks are recomputed from the graph, with the
same kernels on the same inputs: 1e-10 as for serial ≡ Dask.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import numpy as np
import pipe_helpers as H  # tests/pipelines, on sys.path through conftest.py
import pytest

from uvflow.calibration import create_calibration_controls
from uvflow.execution import rsexecute
from uvflow.pipelines import (
    CheckpointError,
    continuum_imaging_list_rsexecute_workflow,
    ical_list_rsexecute_workflow,
)
from uvflow.pipelines import checkpoint as checkpoint_module

# the clean beam is fitted to the PSF (the default): identical PSFs give identical beams
OPTIONS = dict(niter=500, fractional_threshold=0.3, threshold=1e-4)


def controls():
    c = create_calibration_controls()
    c["T"].update(first_selfcal=1, timeslice="auto", phase_only=True)
    c["G"].update(first_selfcal=2, timeslice="auto", phase_only=False)
    return c


@pytest.fixture(scope="module")
def field():
    rsexecute.set_client(use_dask=False)
    vis, models, comps = H.make_field()
    # a phase error per antenna (fixed, 0.5 rad rms) so ICAL has something to solve
    rng = np.random.default_rng(3)
    phase = rng.normal(0, 0.5, vis[0].nants)
    observed = []
    for v in vis:
        g = np.exp(1j * (phase[v.antenna1] - phase[v.antenna2]))[None, :, None, None]
        observed.append(v.replace(vis=v.vis * g))
    return observed, models


def _continuum(field, nmajor, checkpoint_dir=None):
    return continuum_imaging_list_rsexecute_workflow(
        *field, nmajor=nmajor, checkpoint_dir=checkpoint_dir, **OPTIONS
    )


def _ical(field, nmajor, checkpoint_dir=None):
    return ical_list_rsexecute_workflow(
        *field, nmajor=nmajor, checkpoint_dir=checkpoint_dir, controls=controls(), **OPTIONS
    )


def test_continuum_resumes_after_cycle_two(field, tmp_path):
    rsexecute.set_client(use_dask=False)
    ck = tmp_path / "ck"
    _continuum(field, 2, ck)
    manifest = json.loads((ck / "manifest.json").read_text())
    assert manifest["cycle"] == 2 and manifest["pipeline"] == "continuum"
    assert manifest["nwindows"] == 4 and manifest["gaintables"] is None
    assert sorted(p.name for p in ck.iterdir()) == ["cycle-0001", "cycle-0002", "manifest.json"]
    assert not [p for p in ck.rglob("*") if ".tmp-" in p.name]  # no temporaries left
    resumed = _continuum(field, 4, ck)
    assert json.loads((ck / "manifest.json").read_text())["cycle"] == 4
    H.assert_pipeline_same(resumed, _continuum(field, 4), rtol=1e-12)
    # a rerun with nothing left to do restores the saved models
    H.assert_pipeline_same(_continuum(field, 4, ck), resumed, rtol=1e-12)


def test_ical_resumes_with_gain_tables(field, tmp_path):
    rsexecute.set_client(use_dask=False)
    ck = tmp_path / "ck"
    first = _ical(field, 3, ck)
    manifest = json.loads((ck / "manifest.json").read_text())
    assert manifest["cycle"] == 3 and set(manifest["gaintables"][0]) == {"T", "G"}
    resumed = _ical(field, 5, ck)
    H.assert_pipeline_same(resumed, _ical(field, 5), rtol=1e-12)
    # nothing left to do: the final residual uses the data corrected by the saved tables
    H.assert_pipeline_same(_ical(field, 3, tmp_path / "other"), first, rtol=0.0)
    H.assert_pipeline_same(_ical(field, 5, ck), resumed, rtol=1e-12)


def test_interrupted_save_keeps_the_last_complete_cycle(field, tmp_path, monkeypatch):
    rsexecute.set_client(use_dask=False)
    ck = tmp_path / "ck"
    real = checkpoint_module.save_checkpoint
    calls = {"n": 0}

    def failing(obj, path, **kw):  # the disk "fills up" in the middle of cycle 2's models
        calls["n"] += 1
        if calls["n"] == 6:
            raise OSError("no space left on device")
        return real(obj, path, **kw)

    monkeypatch.setattr(checkpoint_module, "save_checkpoint", failing)
    with pytest.raises(OSError, match="no space"):
        _continuum(field, 3, ck)
    assert json.loads((ck / "manifest.json").read_text())["cycle"] == 1
    monkeypatch.setattr(checkpoint_module, "save_checkpoint", real)
    H.assert_pipeline_same(_continuum(field, 3, ck), _continuum(field, 3), rtol=1e-12)


def test_checkpoint_errors(field, tmp_path):
    rsexecute.set_client(use_dask=False)
    ck = tmp_path / "ck"
    _continuum(field, 2, ck)
    with pytest.raises(CheckpointError, match="holds cycle 2, beyond nmajor=1"):
        _continuum(field, 1, ck)
    with pytest.raises(CheckpointError, match="of the 'continuum' pipeline, not 'ical'"):
        _ical(field, 3, ck)
    vis, models = field
    with pytest.raises(CheckpointError, match="has 4 windows, this run 2"):
        continuum_imaging_list_rsexecute_workflow(vis[:2], models[:2], nmajor=3, checkpoint_dir=ck)
    small = [m.replace(data=m.data[..., :64, :64]) for m in models]
    with pytest.raises(
        CheckpointError,
        match=r"image shape \[nchan, npol, ny, nx\] \(-size\) "
        r"of window 0 \[1, 1, 128, 128\], this run has \[1, 1, 64, 64\]",
    ):
        continuum_imaging_list_rsexecute_workflow(vis, small, nmajor=3, checkpoint_dir=ck)
    (ck / "manifest.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="cannot read the checkpoint manifest"):
        _continuum(field, 3, ck)


@pytest.mark.cluster
def test_killed_worker_does_not_change_the_result(field, tmp_path):
    rsexecute.set_client(use_dask=False)
    serial = _ical(field, 6)
    H.start_cluster()
    try:
        client = rsexecute.client
        before = set(client.run(os.getpid).values())
        killed = {}

        def kill():
            time.sleep(1.0)
            pid = sorted(client.run(os.getpid).values())[0]
            os.kill(pid, signal.SIGKILL)
            killed["pid"], killed["at"] = pid, time.monotonic()

        thread = threading.Thread(target=kill)
        thread.start()
        dask = rsexecute.compute(_ical(field, 6, tmp_path / "ck"), sync=True)
        finished = time.monotonic()
        thread.join()
        client.wait_for_workers(2, timeout=60)
        after = set(client.run(os.getpid).values())
    finally:
        rsexecute.close()
    assert killed["at"] < finished  # the worker died while the pipeline was running
    assert killed["pid"] in before and killed["pid"] not in after  # and the nanny replaced it
    H.assert_pipeline_same(dask, serial)
    assert json.loads((tmp_path / "ck" / "manifest.json").read_text())["cycle"] == 6
