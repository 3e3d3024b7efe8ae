"""WSClean's stopping rules of a minor cycle: thresholds from the noise, the auto-mask
phases, the local RMS weighting and the total component budget."""

from __future__ import annotations

import numpy as np
import pytest

from uvflow.imaging import CleanSettings, deconvolve_cube
from uvflow.imaging.deconvolution.conformance import point_source_dirty, synthetic_psf
from uvflow.imaging.deconvolution.cycle_stop import (
    NoiseThresholds,
    cycle_stop,
    local_rms,
    robust_sigma,
)
from uvflow.imaging.deconvolution.errors import DeconvolutionError


def test_robust_sigma_of_gaussian_noise_with_a_source():
    """1.4826 MAD of N(0, 2²) noise is 2 to its sampling error (1 % for 10^5 values),
    whatever a few bright pixels do (a plain standard deviation would be 5x larger)."""
    rng = np.random.default_rng(1)
    data = rng.normal(0, 2.0, size=(1, 1, 300, 300))
    data[0, 0, :5, :5] = 1e4
    assert robust_sigma(data) == pytest.approx(2.0, rel=0.02)
    assert np.std(data) > 10


def test_thresholds_from_the_noise():
    rng = np.random.default_rng(2)
    cube = rng.normal(0, 1.0, size=(2, 1, 128, 128))
    cube[:, 0, 64, 64] = 50.0
    rule = cycle_stop(cube, None, 0.5, 0.2, NoiseThresholds(auto_threshold=3.0))
    # the noise of the frequency-averaged image (as WSClean's MFS image): 1/sqrt(2)
    assert rule.sigma == pytest.approx(2**-0.5, rel=0.05)
    assert rule.final == pytest.approx(3 * rule.sigma) and rule.peak == 50.0
    assert rule.stop == pytest.approx(max(rule.final, 0.2 * 50.0)) and not rule.done
    # a higher absolute threshold wins; no noise settings: the absolute threshold
    assert cycle_stop(cube, None, 10.0, 0.0, NoiseThresholds(auto_threshold=3.0)).final == 10.0
    plain = cycle_stop(cube, None, 0.5, 0.0)
    assert plain.sigma == 0.0 and plain.final == 0.5 and plain.weights is None


def test_auto_mask_phases():
    """Above the auto-mask level: unmasked, stopping at it; at or below: masked."""
    rng = np.random.default_rng(3)
    cube = rng.normal(0, 1.0, size=(1, 1, 128, 128))
    cube[0, 0, 30, 30] = 40.0
    noise = NoiseThresholds(auto_threshold=2.0, auto_mask=8.0)
    first = cycle_stop(cube, None, 0.0, 0.0, noise)
    assert not first.masked and first.stop == pytest.approx(8.0 * first.sigma)
    cube[0, 0, 30, 30] = 6.0
    second = cycle_stop(cube, None, 0.0, 0.0, noise)
    assert second.masked and second.stop == pytest.approx(2.0 * second.sigma)


def test_local_rms_weights_the_peak_search():
    """Noise 10x higher on the left half: the weights are σ_min/σ(x) (≈ 0.1 there), so a
    source of 20 on the left counts as 2 and one of 8 on the right as 8."""
    rng = np.random.default_rng(4)
    cube = rng.normal(0, 1.0, size=(1, 1, 256, 256))
    cube[..., :, :128] *= 10.0
    cube[0, 0, 100, 40], cube[0, 0, 100, 200] = 20.0, 8.0
    rule = cycle_stop(cube, None, 0.0, 0.0, NoiseThresholds(auto_threshold=3.0, local_rms=True,
                                                           local_rms_window=10.0), 3.0)  # fmt: skip
    assert rule.weights.shape == (256, 256)
    assert rule.weights[100, 200] == pytest.approx(1.0, abs=0.25)
    assert rule.weights[100, 40] == pytest.approx(0.1, abs=0.05)
    assert rule.peak == pytest.approx(8.0 * rule.weights[100, 200], rel=0.01)
    assert local_rms(cube[0, 0], 30)[100, 40] == pytest.approx(10.0, rel=0.3)


def test_bad_noise_settings():
    with pytest.raises(DeconvolutionError, match="auto_mask .2.0. must be above auto_threshold"):
        NoiseThresholds(auto_threshold=3.0, auto_mask=2.0)
    with pytest.raises(DeconvolutionError, match="auto_threshold must be a number of sigmas > 0"):
        NoiseThresholds(auto_threshold=-1.0)
    with pytest.raises(DeconvolutionError, match="local_rms_window must be > 0"):
        NoiseThresholds(local_rms_window=0)


def test_total_component_budget():
    """with_stop cuts niter to what is left of niter_total: a minor cycle never goes past it."""
    psf = synthetic_psf(64, [1.0e8])
    _, dirty = point_source_dirty(32, psf, [(10, 12), (20, 22)], [1.0, 0.5])
    clean = CleanSettings(niter=1000, niter_total=30, fractional_threshold=0.0)
    model, _ = deconvolve_cube(dirty, psf, clean.with_stop(0.0, done=25))
    assert model.meta["NITER"] == 5
    model, _ = deconvolve_cube(dirty, psf, clean.with_stop(0.0, done=30))
    assert model.meta["NITER"] == 0 and not np.any(model.data)
