"""The public API: names resolve, kernels stay free of dask."""

from __future__ import annotations

import subprocess
import sys

import uvflow.simulation as sim


def test_public_names_resolve():
    assert len(set(sim.__all__)) == len(sim.__all__)
    for name in sim.__all__:
        assert getattr(sim, name) is not None, name
    assert callable(sim.simulate_list_rsexecute_workflow)


def test_kernels_do_not_import_dask():
    code = (
        "import sys, uvflow.simulation as s; "
        "s.create_visibility; s.add_noise; s.create_phase_screen_gaintables; "
        "print(any(m == 'dask' or m.startswith('dask.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
