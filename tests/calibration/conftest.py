"""Shared builders for the calibration tests: visibilities, exact point-source models
(direct evaluation of the measurement equation; uvflow-imaging is not used here) and
injected gains."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from uvflow.calibration import (
    apply_gaintable,
    create_calibration_controls,
    create_gaintable_from_visibility,
)
from uvflow.datamodels import SPEED_OF_LIGHT, PolarisationFrame
from uvflow.datamodels.testing import random_configuration, simple_visibility

SIDEREAL_DAY = 86164.0905


def make_vis(
    nant=10, ntime=3, nchan=1, frame="linear", integration_time=60.0, contiguous=False, f0=1.0e8
):
    """A zero Visibility; ``contiguous=True`` spaces integrations exactly integration_time apart."""
    cfg = random_configuration(nant, radius=800.0, seed=nant)
    freq = f0 * (1 + 0.02 * np.arange(nchan))
    span = np.pi / 3
    if contiguous and ntime > 1:
        span = (ntime - 1) * integration_time * 2 * np.pi / SIDEREAL_DAY
    return simple_visibility(
        cfg, ntime=ntime, frequency=freq, channel_bandwidth=0.02 * f0,
        polarisation_frame=frame, integration_time=integration_time, hour_angle_span=span,
    )  # fmt: skip


def stokes_coherency(frame, i=1.0, q=0.0, u=0.0, v=0.0) -> np.ndarray:
    """Correlations of a source with Stokes (I, Q, U, V) in ``frame`` (IAU conventions)."""
    prod = {
        "I": i, "XX": i + q, "XY": u + 1j * v, "YX": u - 1j * v, "YY": i - q,
        "RR": i + v, "RL": q + 1j * u, "LR": q - 1j * u, "LL": i - v,
    }  # fmt: skip
    return np.array([prod[p] for p in PolarisationFrame(frame).names], dtype=complex)


UNPOLARISED = [
    (0.0, 0.0, (1.0, 0, 0, 0)),
    (0.02, -0.01, (0.5, 0, 0, 0)),
    (-0.015, 0.025, (0.3, 0, 0, 0)),
]
# Two linearly polarised sources at different angles and one circularly polarised: the
# coherencies do not commute, so a full 2×2 solve has only a common-phase ambiguity.
POLARISED = [
    (0.0, 0.0, (1.0, 0.6, 0.0, 0.0)),
    (0.02, -0.01, (0.8, 0.0, 0.5, 0.0)),
    (-0.015, 0.025, (0.6, 0.0, 0.0, 0.4)),
]


def point_source_model(vis, components):
    """Model visibilities ``Σ_k S_k exp(+2πi ν/c (u l + v m + w (n − 1)))`` (DESIGN §3).

    components: list of (l, m, (I, Q, U, V)).
    """
    uvw = vis.uvw[:, :, None, :] * (vis.frequency / SPEED_OF_LIGHT)[None, None, :, None]
    out = np.zeros(vis.vis.shape, dtype=complex)
    for el, em, stokes in components:
        en = np.sqrt(1.0 - el * el - em * em)
        phase = np.exp(2j * np.pi * (uvw[..., 0] * el + uvw[..., 1] * em + uvw[..., 2] * (en - 1)))
        out += phase[..., None] * stokes_coherency(vis.polarisation_frame, *stokes)
    return vis.replace(vis=out.astype(vis.vis.dtype))


def random_gains(gt, rng, phase=1.0, amp=0.1, leakage=0.0, scalar=False):
    """Gains like ``gt`` with phases uniform in ±phase rad and amplitudes 1 ± amp.

    scalar: the same gain for every receptor; leakage: off-diagonal terms of that size.
    """
    shape = gt.gain.shape
    nrec = shape[-1]
    dshape = shape[:3] + ((1,) if scalar else (nrec,))
    d = (1 + rng.uniform(-amp, amp, dshape)) * np.exp(1j * rng.uniform(-phase, phase, dshape))
    d = np.broadcast_to(d, shape[:3] + (nrec,))
    gain = np.zeros(shape, dtype=complex)
    r = np.arange(nrec)
    gain[..., r, r] = d
    if leakage:
        for a, b in ((0, 1), (1, 0)):
            gain[..., a, b] = leakage * (
                rng.normal(size=shape[:3]) + 1j * rng.normal(size=shape[:3])
            )
    return gt.replace(gain=gain, weight=np.ones(shape))


def reference_to(gain, refant=0, common=False):
    """Gains with the reference antenna's phase removed per receptor (or from its XX entry)."""
    d = np.diagonal(gain[:, refant], axis1=-2, axis2=-1)  # [ntime, nchan, nrec]
    if common:
        d = np.repeat(d[..., :1], gain.shape[-1], axis=-1)
    rot = np.conj(d) / np.abs(d)
    return gain * rot[:, None, :, None, :]


def relative_error(a, b) -> float:
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def exact_controls() -> dict:
    """``create_calibration_controls()`` iterating to 1e-10, G and B not normalised."""
    c = create_calibration_controls()
    for t in "TGB":
        c[t].update(tol=1e-10, niter=1000)
    for t in "GB":
        c[t]["normalise_gains"] = False
    return c


@pytest.fixture(scope="session")
def windows():
    """Three 2-channel windows of one observation corrupted by T (per 30 s integration),
    G (per 60 s, constant amplitudes) and B (per channel); one off-centre point source, so
    a one-pass chain is exact (see test_calibration_chain._tgb). Returns the observed and
    model windows, and the whole observed and model visibilities."""
    nwin, nchan_win = 3, 2
    rng = np.random.default_rng(11)
    vis = make_vis(nant=8, ntime=6, nchan=nwin * nchan_win, frame="linear", integration_time=30.0,
                   contiguous=True)  # fmt: skip
    model = point_source_model(vis, [(0.01, 0.02, (2.0, 0, 0, 0))])
    Tt = random_gains(create_gaintable_from_visibility(vis, jones_type="T"), rng, amp=0.0,
                      scalar=True)  # fmt: skip
    Gt = random_gains(create_gaintable_from_visibility(vis, timeslice=60.0, jones_type="G"), rng,
                      phase=0.3, amp=0.0)  # fmt: skip
    r = np.arange(2)
    Gt.gain[..., r, r] *= 1 + rng.uniform(-0.1, 0.1, (1, vis.nants, 1, 2))
    Bt = random_gains(create_gaintable_from_visibility(vis, timeslice=1e5, jones_type="B"), rng,
                      phase=0.5)  # fmt: skip
    observed = apply_gaintable(apply_gaintable(apply_gaintable(model, Bt), Gt), Tt)
    split = [slice(w * nchan_win, (w + 1) * nchan_win) for w in range(nwin)]
    return (
        [observed.select(channel=s) for s in split],
        [model.select(channel=s) for s in split],
        observed,
        model,
    )


@pytest.fixture
def rng():
    return np.random.default_rng(20240611)


@pytest.fixture(scope="session")
def h():
    """The helpers above (test modules cannot import conftest under --import-mode=importlib)."""
    return SimpleNamespace(
        make_vis=make_vis, point_source_model=point_source_model, random_gains=random_gains,
        reference_to=reference_to, relative_error=relative_error, stokes_coherency=stokes_coherency,
        UNPOLARISED=UNPOLARISED, POLARISED=POLARISED, SIDEREAL_DAY=SIDEREAL_DAY,
        exact_controls=exact_controls,
    )  # fmt: skip
