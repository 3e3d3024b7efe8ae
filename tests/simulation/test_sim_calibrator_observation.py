"""The simulated raw observation with calibrators (issue 19 item 4) is what it says.

References: the direct Fourier transform of each field's components (no errors, no
noise), the corruption formula ``B_i G_i V G_j^* B_j^*`` per receptor with the returned
truth, the flux standard's spectrum, and the noise's sample variance.
"""

from __future__ import annotations

import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from uvflow.calibration import flux_density
from uvflow.datamodels.testing import random_configuration
from uvflow.imaging import predict_dft
from uvflow.simulation import (
    InstrumentErrors,
    ObservedField,
    SimulationError,
    create_skycomponent,
    flux_calibrator_field,
    simulate_calibrator_observation,
)

FREQ = np.linspace(1.3e9, 1.5e9, 8)
PC = SkyCoord(ra=200.0, dec=32.0, unit="deg")
TARGET = SkyCoord(ra=201.0, dec=33.0, unit="deg")


@pytest.fixture(scope="module")
def setup():
    config = random_configuration(nant=6, radius=1000.0, seed=2, latitude_deg=34.0)
    fields = [
        flux_calibrator_field("3C286", FREQ),
        ObservedField("PHASE", PC, (create_skycomponent(PC, 2.0, FREQ),)),
        ObservedField("TARGET", TARGET, (create_skycomponent(TARGET, 0.3, FREQ),)),
    ]
    return config, fields


def _observe(setup, **kw):
    config, fields = setup
    schedule = ["3C286", "PHASE", "TARGET", "PHASE", "3C286"]
    return simulate_calibrator_observation(config, fields, schedule, FREQ, 2.5e7,
                                           scan_length=120.0, integration_time=30.0, **kw)  # fmt: skip


def test_without_errors_the_scans_are_the_fields_skies(setup):
    obs = _observe(setup, errors=InstrumentErrors(0, 0, 0, 0), seed=1)
    assert [s.source for s in obs.scans] == ["3C286", "PHASE", "TARGET", "PHASE", "3C286"]
    assert [s.meta["scan"] for s in obs.scans] == [1, 2, 3, 4, 5]
    # scans follow each other: 4 integrations of 30 s, 60 s of slew between scans
    starts = [s.time[0] for s in obs.scans]
    np.testing.assert_allclose(np.diff(starts), 180.0, atol=1e-6)
    for scan, field in zip(obs.scans, [setup[1][i] for i in (0, 1, 2, 1, 0)]):
        exact = predict_dft(scan.copy(zero=True), list(field.components))
        np.testing.assert_allclose(scan.vis, exact.vis, atol=1e-12)
    # the flux calibrator's parallel hands are the standard's spectrum at the centre
    flux = flux_density("3C286", FREQ)
    np.testing.assert_allclose(obs.scans[0].vis[0, 0, :, 0].real, flux, rtol=1e-12)


def test_corruption_follows_the_returned_truth(setup):
    clean = _observe(setup, errors=InstrumentErrors(0, 0, 0, 0), seed=3)
    obs = _observe(setup, seed=3)
    for k, (c, s) in enumerate(zip(clean.scans, obs.scans)):
        g = obs.gains[k]  # [ntime, nant, nrec]
        b = obs.bandpass  # [nant, nchan, nrec]
        gi = g[:, s.antenna1, None, :] * b[None, s.antenna1]  # [ntime, nbl, nchan, nrec]
        gj = g[:, s.antenna2, None, :] * b[None, s.antenna2]
        np.testing.assert_allclose(s.vis, gi * c.vis * np.conj(gj), rtol=1e-10, atol=1e-12)
    # the gains are one smooth function of time for all fields: the same draws give the
    # same gains, and their amplitude drift has roughly the asked rms (54 series here)
    amp = np.abs(np.concatenate(obs.gains))
    assert 0.005 < np.std(amp) < 0.2
    assert np.all(np.abs(np.abs(obs.bandpass) - 1) < 0.6)


def test_noise_has_the_asked_sigma(setup):
    clean = _observe(setup, errors=InstrumentErrors(0, 0, 0, 0), seed=4)
    noisy = _observe(setup, errors=InstrumentErrors(0, 0, 0, 0), noise_sigma=0.1, seed=4)
    diff = np.concatenate([(n.vis - c.vis).ravel() for n, c in zip(noisy.scans, clean.scans)])
    # 5 scans × 4 × 15 × 8 × 2 = 9600 complex samples: the rms of the real part is 0.1
    # to 0.7 % (1 σ); 3 % is > 4 σ
    assert np.std(diff.real) == pytest.approx(0.1, rel=0.03)
    assert np.all(noisy.scans[0].weight == pytest.approx(100.0))


def test_bad_input(setup):
    config, fields = setup
    with pytest.raises(SimulationError, match="schedule entry 'NOPE' is not one of the fields"):
        simulate_calibrator_observation(config, fields, ["NOPE"], FREQ, 2.5e7)
    with pytest.raises(SimulationError, match="distinct names"):
        simulate_calibrator_observation(config, fields + fields[:1], [0], FREQ, 2.5e7)
    with pytest.raises(SimulationError, match="linearnp"):
        simulate_calibrator_observation(config, fields, [0], FREQ, 2.5e7,
                                        polarisation_frame="stokesI")  # fmt: skip
    with pytest.raises(SimulationError, match="shorter than one integration"):
        simulate_calibrator_observation(config, fields, [0], FREQ, 2.5e7, scan_length=1.0)
