"""Flux-density standards (Perley & Butler 2017) for ``uvflow calibrate`` (issue 19).

The spectra are the paper's polynomials; checked against the L-band flux densities of the
VLA calibrator manual (20 cm: 3C48 16.5, 3C138 8.5, 3C147 22.5, 3C286 15.0, 3C295 22.0 Jy,
an older scale measured independently: within 3 %), against the polynomial written out
by hand for 3C286 (to rounding), and for the lookups by any name or by position.
"""

from __future__ import annotations

import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from uvflow.calibration import CalibrationError
from uvflow.calibration.flux_standards import (
    FLUX_STANDARDS,
    find_flux_standard,
    flux_density,
)

L_BAND = {"3C48": 16.5, "3C138": 8.5, "3C147": 22.5, "3C286": 15.0, "3C295": 22.0}


@pytest.mark.parametrize("name, jy", sorted(L_BAND.items()))
def test_l_band_flux_densities(name, jy):
    assert flux_density(name, 1.4e9) == pytest.approx(jy, rel=0.03)


def test_3c286_polynomial_written_out():
    f = np.array([0.3e9, 1.5e9, 8.4e9, 43e9])
    x = np.log10(f / 1e9)
    expected = 10 ** (1.2481 - 0.4507 * x - 0.1798 * x**2 + 0.0357 * x**3)
    np.testing.assert_allclose(flux_density("3C286", f), expected, rtol=1e-13)
    assert flux_density("3C286", 1.5e9) == pytest.approx(14.566, rel=1e-4)


@pytest.mark.parametrize("name", ["3C286", "3c 286", "J1331+3030", "1331+305", "3C-286"])
def test_names(name):
    assert find_flux_standard(name).name == "3C286"


def test_by_position_within_an_arcminute():
    s = FLUX_STANDARDS["3C147"]
    near = SkyCoord(s.ra_deg + 0.5 / 60 / np.cos(np.deg2rad(s.dec_deg)), s.dec_deg, unit="deg")
    assert find_flux_standard("my calibrator", near).name == "3C147"
    far = SkyCoord(s.ra_deg, s.dec_deg + 2 / 60, unit="deg")
    with pytest.raises(CalibrationError, match="no Perley-Butler 2017 flux standard at that"):
        find_flux_standard(None, far)


def test_bad_input():
    with pytest.raises(CalibrationError, match=r"named 'J0000\+0000'.*3C286 \(J1331\+3030\)"):
        flux_density("J0000+0000", 1.4e9)
    with pytest.raises(CalibrationError, match="3C138: .* valid from 0.2 to 50 GHz; got 0.1-0.1"):
        flux_density("3C138", 1e8)
