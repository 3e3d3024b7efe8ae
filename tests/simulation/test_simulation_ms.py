"""A simulated MeasurementSet written to disk reads back identically."""

from __future__ import annotations

import numpy as np
import pytest

from uvflow.datamodels import read_ms
from uvflow.simulation import (
    SimulationError,
    add_noise,
    combine_windows,
    create_skycomponent,
    create_visibility,
    write_simulated_ms,
)

pytest.importorskip("casacore.tables")


def _windows(config, phasecentre):
    """Three one-channel windows of a linear-feed observation with noise (complex64, as an MS
    stores it), with the first time below a 40 deg elevation limit (flagged)."""
    out = []
    for c, nu in enumerate((1.0e8, 1.1e8, 1.2e8)):
        v = create_visibility(
            config, np.linspace(-4.5, 0.0, 4) * np.pi / 12, [nu], 1e6, phasecentre,
            polarisation_frame="linear", elevation_limit="40deg", dtype=np.complex64,
        )  # fmt: skip
        out.append(add_noise(v, sefd=300.0 + 100 * np.arange(config.nants), seed=c))
    return out


def test_simulated_ms_reads_back_identically(tmp_path, small_config, southern_field):
    windows = _windows(small_config, southern_field)
    assert windows[0].flags[0].all() and not windows[0].flags[1:].any()
    path = tmp_path / "sim.ms"
    written = write_simulated_ms(windows[::-1], path)  # any window order
    assert written.nchan == 3 and np.all(np.diff(written.frequency) > 0)
    (back,) = read_ms(path)
    np.testing.assert_array_equal(back.vis, written.vis)
    np.testing.assert_array_equal(back.flags, written.flags)
    # weights are stored as float32 (WEIGHT_SPECTRUM)
    np.testing.assert_array_equal(back.weight, written.weight.astype(np.float32))
    np.testing.assert_array_equal(back.uvw, written.uvw)
    np.testing.assert_array_equal(back.time, written.time)
    np.testing.assert_array_equal(back.integration_time, written.integration_time)
    np.testing.assert_array_equal(back.frequency, written.frequency)
    np.testing.assert_array_equal(back.channel_bandwidth, written.channel_bandwidth)
    np.testing.assert_array_equal(back.antenna1, written.antenna1)
    np.testing.assert_array_equal(back.antenna2, written.antenna2)
    assert back.polarisation_frame == written.polarisation_frame
    assert back.phasecentre.separation(written.phasecentre).rad < 1e-12
    np.testing.assert_allclose(back.configuration.xyz, small_config.xyz, rtol=0, atol=1e-9)
    with pytest.raises(FileExistsError):
        write_simulated_ms(windows, path)
    write_simulated_ms(windows, path, overwrite=True)


def test_combine_windows(small_config, southern_field):
    windows = _windows(small_config, southern_field)
    whole = combine_windows(windows)
    for c, w in enumerate(windows):
        np.testing.assert_array_equal(whole.vis[:, :, c], w.vis[:, :, 0])
    times = [w.select(time=slice(i, i + 1)) for w in windows for i in range(w.ntime)]
    both = combine_windows(times[::-1])
    np.testing.assert_array_equal(both.vis, whole.vis)
    with pytest.raises(SimulationError, match="empty"):
        combine_windows([])
    with pytest.raises(SimulationError, match="not a Visibility"):
        combine_windows([create_skycomponent(southern_field, 1.0, 1e8)])
