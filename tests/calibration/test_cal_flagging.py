"""Flagging of the obvious (uvflow.calibration.flagging): exact counts on a small
observation with autocorrelations and two scans, scan derivation, quack boundaries, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from uvflow.calibration import CalibrationError, flag_obvious, scan_numbers
from uvflow.calibration.flagging import FLAG_REASONS
from uvflow.datamodels import Visibility
from uvflow.datamodels.testing import random_configuration

# Two scans of 10 s integrations: 4 integrations, a 70 s gap, 3 more.
TIMES = 5.0e9 + np.array([0.0, 10.0, 20.0, 30.0, 100.0, 110.0, 120.0])


def _vis(configuration=True) -> Visibility:
    """4 antennas, all 10 baselines with autocorrelations ((0,0), (0,1), (0,2), (0,3), (1,1),
    (1,2), (1,3), (2,2), (2,3), (3,3)), 7 integrations, 2 channels, XX YY: 280 samples, all
    1+1j with weight 1, except: baseline (0,1) flagged at t0; NaN on (1,2) at t2 and on the
    autocorrelation (0,0) at t1; an infinite weight on (0,3) at t3; zeros on (0,2) at t4 and on
    the already flagged (0,1) at t0."""
    a1, a2 = np.triu_indices(4)
    shape = (TIMES.size, a1.size, 2, 2)
    vis = np.full(shape, 1 + 1j)
    weight, flags = np.ones(shape), np.zeros(shape, bool)
    flags[0, 1] = True
    vis[2, 5, 0, 1] = np.nan
    vis[1, 0, 0, 0] = np.nan
    weight[3, 3, 1, 0] = np.inf
    vis[4, 2, 1, 1] = 0
    vis[0, 1, 0, 0] = 0
    return Visibility(
        vis=vis, weight=weight, flags=flags, uvw=np.zeros(shape[:2] + (3,)), time=TIMES,
        integration_time=10.0, antenna1=a1, antenna2=a2, frequency=[1.0e9, 1.1e9],
        channel_bandwidth=1e8, phasecentre=_centre(), polarisation_frame="linearnp",
        configuration=random_configuration(4) if configuration else None,
    )  # fmt: skip


def _centre():
    from astropy.coordinates import SkyCoord

    return SkyCoord(ra=10.0, dec=-30.0, unit="deg")


def test_exact_counts_per_reason():
    vis = _vis()
    before = vis.flags.copy()
    out, summary = flag_obvious(
        vis, quack_seconds=10.0, antennas=["A003"], baselines=["A001&A000", (1, 2)]
    )
    counts = summary["counts"]
    # autocorrelations: 4 baselines x 7 times x 4 samples; nothing of them flagged before.
    # nonfinite: NaN on (1,2) at t2 and the infinite weight on (0,3) at t3 (the NaN on (0,0)
    #   is an autocorrelation, already counted there).
    # zero: (0,2) at t4 (the zero on (0,1) at t0 was flagged before).
    # quack: t0 and t4, the 6 cross baselines x 4 = 48, less the 4 flagged before on (0,1)
    #   at t0 and the zero on (0,2) at t4.
    # antenna A003: (0,3), (1,3), (2,3) x 7 x 4 = 84, less 24 quacked, less the inf weight.
    # baselines (0,1) and (1,2): 56, less 16 quacked, less the NaN on (1,2).
    assert counts == {
        "before": 4, "autocorrelation": 112, "nonfinite": 2, "zero": 1, "quack": 43,
        "antenna": 59, "baseline": 39, "after": 260,
    }  # fmt: skip
    # what is left: baseline (0,2) outside the first integration of each scan
    left = np.argwhere(~out.flags)
    assert set(map(tuple, left[:, :2])) == {(t, 2) for t in (1, 2, 3, 5, 6)} and len(left) == 20
    assert summary["nvis"] == 280 and summary["nscans"] == 2
    assert summary["before"] == 4 / 280 and summary["after"] == 260 / 280
    assert summary["before"] + sum(summary[r] for r in FLAG_REASONS) == pytest.approx(
        summary["after"]
    )
    assert summary["quack"] == 43 / 280
    # a new Visibility: the input untouched, the data shared, the flags new
    assert np.array_equal(vis.flags, before) and out is not vis
    assert out.vis is vis.vis and out.weight is vis.weight and out.flags is not vis.flags


def test_reasons_can_be_switched_off():
    out, summary = flag_obvious(_vis(), autocorrelations=False, nonfinite=False, zeros=False)
    assert summary["counts"]["after"] == summary["counts"]["before"] == 4
    assert all(summary["counts"][r] == 0 for r in FLAG_REASONS)
    # without the autocorrelation reason the NaN on (0,0) is found by nonfinite
    _, summary = flag_obvious(_vis(), autocorrelations=False)
    assert summary["counts"]["nonfinite"] == 3 and summary["counts"]["zero"] == 1


def test_antennas_and_baselines_by_name_or_index_in_either_order():
    by_name = flag_obvious(_vis(), antennas=("A001",), baselines=("A003&A002",))[0].flags
    by_index = flag_obvious(_vis(), antennas=[1], baselines=[(3, 2)])[0].flags
    mixed = flag_obvious(_vis(), antennas=[np.int64(1)], baselines=[("A002", 3)])[0].flags
    assert np.array_equal(by_name, by_index) and np.array_equal(by_name, mixed)
    # antenna 1: cross baselines (0,1), (1,2), (1,3); baseline (2,3); autos flagged anyway
    flagged_baselines = {b for b in range(10) if by_name[:, b].all()}
    assert flagged_baselines == {0, 1, 4, 5, 6, 7, 8, 9}


def test_scan_numbers_from_time_gaps():
    dt = np.full(7, 10.0)
    assert scan_numbers(TIMES, dt).tolist() == [0, 0, 0, 0, 1, 1, 1]
    # one missing integration (mid-times 20 s apart = 2 x 10 s) does not start a scan
    t = np.array([0.0, 10.0, 30.0, 40.0, 61.0])
    assert scan_numbers(t, 10.0).tolist() == [0, 0, 0, 0, 1]
    assert scan_numbers(t, 10.0, scan_gap=15.0).tolist() == [0, 0, 1, 1, 2]
    # any order: numbered in time order, returned in the input's order
    order = np.array([4, 0, 3, 1, 2])
    assert scan_numbers(t[order], 10.0).tolist() == [1, 0, 0, 0, 0]
    with pytest.raises(CalibrationError, match="scan_gap must be a positive"):
        scan_numbers(t, 10.0, scan_gap=0.0)


@pytest.mark.parametrize(
    "quack, first_rows",
    [(0.0, 0), (1.0, 1), (10.0, 1), (10.001, 2), (20.0, 2), (35.0, 4)],
)
def test_quack_flags_the_integrations_overlapping_the_first_seconds(quack, first_rows):
    """quack_seconds = n integration times flags n integrations of each scan (the second
    scan has 3: all of them for 35 s)."""
    out, summary = flag_obvious(_vis(), autocorrelations=False, nonfinite=False, zeros=False,
                                quack_seconds=quack)  # fmt: skip
    rows = out.flags.all(axis=(1, 2, 3))
    want = np.zeros(7, bool)
    want[:first_rows] = True
    want[4 : 4 + min(first_rows, 3)] = True
    assert rows.tolist() == want.tolist()


def test_given_scans_override_the_derived_ones():
    scans = np.array([0, 0, 1, 1, 1, 2, 2])
    out, summary = flag_obvious(_vis(), autocorrelations=False, quack_seconds=5.0, scans=scans)
    assert out.flags.all(axis=(1, 2, 3)).tolist() == [1, 0, 1, 0, 0, 1, 0]
    assert summary["nscans"] == 3


def test_bad_input():
    vis = _vis()
    with pytest.raises(
        CalibrationError, match="antenna 'A009' unknown; the antennas are: A000, A001, A002, A003"
    ):
        flag_obvious(vis, antennas=["A009"])
    with pytest.raises(CalibrationError, match="antenna 'A000' unknown; the antennas are: none"):
        flag_obvious(_vis(configuration=False), antennas=["A000"])
    with pytest.raises(CalibrationError, match="antenna index 4 out of range 0..3"):
        flag_obvious(vis, baselines=[(0, 4)])
    with pytest.raises(CalibrationError, match="'A000-A001' is not of the form 'ANT1&ANT2'"):
        flag_obvious(vis, baselines=["A000-A001"])
    with pytest.raises(CalibrationError, match="antennas must be a list or tuple"):
        flag_obvious(vis, antennas="A000")
    with pytest.raises(CalibrationError, match="quack_seconds must be >= 0"):
        flag_obvious(vis, quack_seconds=-1.0)
    with pytest.raises(CalibrationError, match="one entry per integration"):
        flag_obvious(vis, scans=[0, 1])
    with pytest.raises(CalibrationError, match="vis must be a Visibility"):
        flag_obvious(vis.vis)
