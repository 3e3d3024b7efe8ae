"""H5parm solutions (uvflow.calibration.h5parm): the standard layout read back with h5py,
the round trip write → read → apply, files laid out as DP3 and LoSoTo write them, bad input.

Tolerances: H5parm stores a gain as amplitude |g| and phase arg(g) in float64; each is
correctly rounded and ``|g| exp(i arg g)`` rebuilds g to a few ulp (measured ≤ 2.5e-16
relative here). Correcting divides by two such gains (or inverts 2×2 matrices close to
diagonal), so the corrected visibilities agree to ~1e-15 of their size: the bound 1e-14 of
the largest is float64 rounding with a margin, not a modelling error. Weights are scaled
by powers of two, which is exact, so they are compared bit for bit.
"""

from __future__ import annotations

import os

import h5py
import numpy as np
import pytest

from uvflow.calibration import (
    H5parmError,
    apply_gaintable,
    create_gaintable_from_visibility,
    read_h5parm,
    write_h5parm,
)

ROUNDING = 1e-14  # relative to the largest corrected visibility (module notes)


def _observed(h, frame="linear", jones_type="G", nchan=3, leakage=0.0, seed=5):
    """Model, observed data and the table that corrupted them (weights like a solver's)."""
    rng = np.random.default_rng(seed)
    vis = h.make_vis(nant=6, ntime=4, nchan=nchan, frame=frame)
    model = h.point_source_model(vis, h.POLARISED if vis.npol == 4 else h.UNPOLARISED)
    gt = create_gaintable_from_visibility(vis, jones_type=jones_type)
    gt = h.random_gains(gt, rng, amp=0.2, leakage=leakage, scalar=jones_type == "T")
    d = np.arange(gt.nrec)
    weight = np.zeros(gt.gain.shape)
    weight[..., d, d] = rng.uniform(
        3.0, 40.0, gt.gain.shape[:3] + (1,) if jones_type == "T" else gt.gain.shape[:4]
    )
    if leakage:
        weight[:] = rng.uniform(3.0, 40.0, gt.gain.shape)
    weight[1, 2, 0] = 0.0  # one flagged solution: antenna 2 at time 1
    gt = gt.replace(weight=weight, residual=rng.uniform(0, 1e-3, gt.residual.shape))
    return model, apply_gaintable(model, gt), gt


CASES = {
    "T-linear": dict(jones_type="T"),
    "G-linear": dict(jones_type="G"),
    "B-linear": dict(jones_type="B"),
    "G-full-jones": dict(jones_type="G", leakage=0.05),
    "G-circular": dict(jones_type="G", frame="circular"),
    "B-linearnp": dict(jones_type="B", frame="linearnp"),
    "T-stokesI": dict(jones_type="T", frame="stokesI"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_round_trip_reproduces_the_corrected_data(h, tmp_path, case):
    model, observed, gt = _observed(h, **CASES[case])
    path = write_h5parm(tmp_path / "sol.h5", {"cal": gt})
    back = read_h5parm(path)["cal"]
    eps = np.finfo(float).eps
    assert np.max(np.abs(back.gain - gt.gain)) <= 4 * eps * np.max(np.abs(gt.gain))
    want = apply_gaintable(observed, gt, inverse=True)
    got = apply_gaintable(observed, back, inverse=True)
    assert np.array_equal(got.flags, want.flags) and got.flags.any()  # the flagged solution
    ok = ~want.flags
    assert np.max(np.abs(got.vis - want.vis)[ok]) <= ROUNDING * np.max(np.abs(want.vis))
    np.testing.assert_allclose(got.weight[ok], want.weight[ok], rtol=ROUNDING)
    # and the correction is the calibration it claims to be: back to the model
    assert np.max(np.abs(got.vis - model.vis)[ok]) <= 1e-12 * np.max(np.abs(model.vis))


def test_round_trip_keeps_the_table(h, tmp_path):
    _, _, gt = _observed(h, jones_type="B")
    gt = gt.replace(meta={"frequency_interval": gt.meta["frequency_interval"], "niter": 7})
    back = read_h5parm(write_h5parm(tmp_path / "b.h5", [gt]))["B"]
    assert back.jones_type == "B" and back.receptor_frame == gt.receptor_frame
    assert np.array_equal(back.weight, gt.weight)  # divided and multiplied by a power of two
    for name in ("time", "interval", "frequency", "residual"):
        assert np.array_equal(getattr(back, name), getattr(gt, name)), name
    assert np.array_equal(back.meta["frequency_interval"], gt.meta["frequency_interval"])
    assert "niter" not in back.meta  # solver diagnostics are not written
    assert back.phasecentre.separation(gt.phasecentre).rad < 1e-15
    c0, c1 = gt.configuration, back.configuration
    assert list(c1.names) == list(c0.names) and np.array_equal(c1.xyz, c0.xyz)
    assert np.array_equal(c1.diameter, c0.diameter) and list(c1.mount) == list(c0.mount)
    assert c1.name == c0.name


def _fixed_ascii(attrs, name) -> bytes:
    """The value of a fixed-length ASCII string attribute (DP3 refuses variable-length)."""
    tid = attrs.get_id(name).get_type()
    assert isinstance(tid, h5py.h5t.TypeStringID) and not tid.is_variable_str(), name
    assert tid.get_cset() == h5py.h5t.CSET_ASCII, name
    return bytes(attrs[name])


@pytest.mark.parametrize(
    "case, pols",
    [("G-linear", [b"XX", b"YY"]), ("G-circular", [b"RR", b"LL"]),
     ("G-full-jones", [b"XX", b"XY", b"YX", b"YY"]), ("T-linear", None)],
)  # fmt: skip
def test_standard_layout(h, tmp_path, case, pols):
    _, _, gt = _observed(h, **CASES[case])
    path = write_h5parm(tmp_path / "layout.h5", {"cal": gt}, solset="sol000")
    with h5py.File(path, "r") as f:
        assert list(f) == ["sol000"]
        ss = f["sol000"]
        assert _fixed_ascii(ss.attrs, "h5parm_version") == b"1.0"
        ant = ss["antenna"]
        assert ant.dtype.names == ("name", "position")
        assert ant.dtype["name"] == np.dtype("S16") and ant.dtype["position"] == np.dtype(
            ("<f4", (3,))
        )
        assert [n.decode() for n in ant["name"]] == list(gt.configuration.names)
        np.testing.assert_allclose(ant["position"], gt.configuration.xyz, rtol=1e-7)  # float32
        src = ss["source"]
        assert src.dtype["name"] == np.dtype("S128") and src.dtype["dir"] == np.dtype(("<f4", (2,)))
        assert src["name"][0] == b"pointing"
        groups = sorted(k for k in ss if isinstance(ss[k], h5py.Group))
        assert groups == ["amplitude000", "phase000"]
        npol = () if pols is None else (len(pols),)
        shape = (gt.ntimes, gt.nchan, gt.nants, 1) + npol  # DP3's one direction
        axes = b"time,freq,ant,dir" + (b"" if pols is None else b",pol")
        d = np.arange(gt.nrec)
        if pols is None:
            g = gt.gain[..., 0, 0]
        elif len(pols) == 2:
            g = gt.gain[..., d, d]
        else:
            g = gt.gain.reshape(gt.gain.shape[:3] + (4,))
        g = np.expand_dims(
            np.moveaxis(g, 2, 1), 3
        )  # [time, ant, freq, ...] -> [time, freq, ant, dir, ...]
        for kind, want in (("amplitude", np.abs(g)), ("phase", np.angle(g))):
            st = ss[f"{kind}000"]
            assert _fixed_ascii(st.attrs, "TITLE") == kind.encode()
            for name in ("val", "weight"):
                assert st[name].dtype == np.float64 and st[name].shape == shape
                assert _fixed_ascii(st[name].attrs, "AXES") == axes
            assert np.array_equal(st["val"][()], want)
            w = st["weight"][()]
            assert w.min() >= 0 and 0.5 < w.max() <= 1 and (w == 0).sum() == w[1, :, 2].size
            assert st["dir"].dtype == np.dtype("S128") and list(st["dir"][()]) == [b"pointing"]
            assert st["time"].dtype == np.float64 and np.array_equal(st["time"][()], gt.time)
            assert st["freq"].dtype == np.float64 and np.array_equal(st["freq"][()], gt.frequency)
            assert st["ant"].dtype.kind == "S" and [a.decode() for a in st["ant"]] == list(
                gt.configuration.names
            )
            if pols is None:
                assert "pol" not in st
            else:
                assert st["pol"].dtype == np.dtype("S2") and list(st["pol"][()]) == pols


def _foreign_file(path, names, order=("pol", "ant", "freq", "time")):
    """A file laid out like DP3's and LoSoTo's own (no uvflow attributes): permuted axes,
    two directions, float32 weights, one NaN solution; returns the gains [dir, time, ant, freq, pol]."""
    rng = np.random.default_rng(8)
    t, f = 4.9e9 + 8.0 * np.arange(3), 1.4e8 + 2e6 * np.arange(2)
    dirs = [b"[Patch1]", b"[Patch2]"]
    shape = (2, 3, len(names), 2, 2)  # dir, time, ant, freq, pol
    amp, ph = 1 + rng.uniform(-0.2, 0.2, shape), rng.uniform(-3, 3, shape)
    weight = np.ones(shape, np.float32)
    ph[1, 2, 1, 0, 1] = np.nan
    weight[1, 2, 1, 0, 1] = 0
    canon = ("dir", "time", "ant", "freq", "pol")
    perm = [canon.index(a) for a in order + ("dir",)]
    values = {"time": t, "freq": f, "ant": np.array(names, "S8"), "pol": np.array([b"XX", b"YY"]),
              "dir": np.array(dirs, "S128")}  # fmt: skip
    with h5py.File(path, "w") as h5:
        ss = h5.create_group("sol000")
        ant = np.zeros(len(names), [("name", "S16"), ("position", "<f4", (3,))])
        ant["name"], ant["position"] = (
            names,
            [[3.8e6 + 10 * i, 4.6e5, 5.06e6] for i in range(len(names))],
        )
        ss["antenna"] = ant
        ss["source"] = np.array(
            [(d, (0.1 * k, 0.9)) for k, d in enumerate(dirs)],
            [("name", "S128"), ("dir", "<f8", (2,))],
        )
        for kind, val in (("amplitude", amp), ("phase", ph)):
            st = ss.create_group(f"{kind}000")
            st.attrs["TITLE"] = np.bytes_(kind.encode())
            for ax in order + ("dir",):
                st[ax] = values[ax]
            st["val"], st["weight"] = val.transpose(perm), weight.transpose(perm)
            for name in ("val", "weight"):
                st[name].attrs["AXES"] = np.bytes_(",".join(order + ("dir",)).encode())
    return amp * np.exp(1j * ph), weight, t, f


def test_reads_a_file_laid_out_as_dp3_and_losoto_write_them(h, tmp_path):
    vis = h.make_vis(nant=4, ntime=3, nchan=2)
    names = list(vis.configuration.names)
    g, w, t, f = _foreign_file(tmp_path / "dp3.h5", names[::-1])  # antennas in another order
    with pytest.raises(H5parmError, match=r"2 directions \(\[Patch1\], \[Patch2\]\)"):
        read_h5parm(tmp_path / "dp3.h5")
    tables = read_h5parm(tmp_path / "dp3.h5", direction="[Patch2]", configuration=vis.configuration)
    assert list(tables) == ["000"]
    gt = tables["000"]
    assert gt.jones_type == "B" and gt.receptor_frame.name == "linear" and gt.nants == 4
    assert np.array_equal(gt.time, t) and np.array_equal(gt.frequency, f)
    assert np.array_equal(gt.interval, np.full(3, 8.0))
    want = g[1][:, ::-1]  # [time, ant (in the configuration's order), freq, pol]
    flagged = w[1][:, ::-1] == 0
    d = np.diagonal(gt.gain, axis1=-2, axis2=-1)
    assert np.array_equal(d[~flagged], want[~flagged])  # the same products, bit for bit
    assert np.all(d[flagged] == 1) and np.all(
        np.diagonal(gt.weight, axis1=-2, axis2=-1)[flagged] == 0
    )
    assert np.all(gt.gain[..., 0, 1] == 0) and np.all(gt.weight[..., 0, 1] == 0)
    assert abs(gt.phasecentre.ra.rad - 0.1) < 1e-12  # Patch2's entry of the source table
    # DP3 calls the pols XX, YY whatever the feeds
    circ = read_h5parm(tmp_path / "dp3.h5", direction="[Patch1]", receptor_frame="circular")
    assert circ["000"].receptor_frame.name == "circular"
    assert list(circ["000"].configuration.names) == names[::-1]  # the file's antennas


def test_scalar_and_phase_only_soltabs(h, tmp_path):
    """DP3's scalarphase: one phase soltab without pol (nor freq) axis → a one-receptor
    table that acts on every correlation."""
    vis = h.make_vis(nant=3, ntime=2, nchan=2)
    names = np.array(list(vis.configuration.names), "S4")
    ph = np.array([[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]])
    with h5py.File(tmp_path / "scalar.h5", "w") as f:
        st = f.create_group("sol000/phase000")
        st.attrs["TITLE"] = np.bytes_(b"phase")
        st["time"], st["ant"], st["val"] = vis.time, names, ph
        st["val"].attrs["AXES"] = np.bytes_(b"time,ant")
        ant = np.zeros(3, [("name", "S16"), ("position", "<f4", (3,))])
        ant["name"] = names
        f["sol000/antenna"] = ant
    gt = read_h5parm(tmp_path / "scalar.h5")["000"]
    assert gt.jones_type == "T" and gt.nrec == 1 and gt.gain.shape == (2, 3, 1, 1, 1)
    assert np.array_equal(gt.gain[:, :, 0, 0, 0], np.exp(1j * ph))
    assert np.all(gt.weight == 1) and np.isnan(gt.configuration.diameter).all()
    observed = apply_gaintable(h.point_source_model(vis, h.UNPOLARISED), gt)
    assert np.allclose(
        apply_gaintable(observed, gt, inverse=True).vis,
        h.point_source_model(vis, h.UNPOLARISED).vis,
    )


def test_refuses_to_overwrite_and_writes_atomically(h, tmp_path):
    _, _, gt = _observed(h)
    path = tmp_path / "sol.h5"
    write_h5parm(path, gt)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_h5parm(path, gt)
    bad = gt.replace(weight=-gt.weight)  # fails inside the write, after the file is opened
    with pytest.raises(H5parmError, match="weights"):
        write_h5parm(path, bad, overwrite=True)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["sol.h5"]
    write_h5parm(path, {"other": gt}, overwrite=True)
    assert list(read_h5parm(path)) == ["other"]


def test_bad_files(h, tmp_path):
    _, _, gt = _observed(h)
    with pytest.raises(FileNotFoundError, match="missing.h5 does not exist"):
        read_h5parm(tmp_path / "missing.h5")
    (tmp_path / "text.h5").write_text("not hdf5\n")
    with pytest.raises(H5parmError, match="not an HDF5 file"):
        read_h5parm(tmp_path / "text.h5")
    path = tmp_path / "sol.h5"
    write_h5parm(path, gt, solset="sol001")
    with pytest.raises(H5parmError, match="no solset 'sol000'; it holds: sol001"):
        read_h5parm(path, solset="sol000")
    with h5py.File(path, "a") as f:
        f.create_group("sol002")
        f["sol001/phase000/val"].attrs["AXES"] = np.bytes_(b"time,frequency,ant,dir,pol")
    with pytest.raises(H5parmError, match="2 solsets \\(sol001, sol002\\); name one"):
        read_h5parm(path)
    with pytest.raises(
        H5parmError, match="axes .time,frequency,ant,dir,pol.*time, freq, ant, pol, dir"
    ):
        read_h5parm(path, solset="sol001")
    with h5py.File(path, "a") as f:
        f["sol001/phase000/val"].attrs["AXES"] = np.bytes_(b"time,freq,ant,dir,pol")
        f["sol001/phase000"].attrs["TITLE"] = np.bytes_(b"tec")
    with pytest.raises(H5parmError, match=r"phase000 \(tec\) are not amplitude or phase"):
        read_h5parm(path, solset="sol001")


def test_bad_tables_and_configurations(h, tmp_path):
    _, _, gt = _observed(h)
    with pytest.raises(H5parmError, match="no configuration"):
        write_h5parm(tmp_path / "a.h5", gt.replace(configuration=None))
    with pytest.raises(H5parmError, match="same Jones type"):
        write_h5parm(tmp_path / "a.h5", [gt, gt])
    with pytest.raises(H5parmError, match="solset name 'sol 0'"):
        write_h5parm(tmp_path / "a.h5", gt, solset="sol 0")
    path = write_h5parm(tmp_path / "a.h5", gt)
    other = h.make_vis(nant=7).configuration  # A000..A006: A006 has no solutions
    with pytest.raises(H5parmError, match="no solutions for antenna\\(s\\) A006"):
        read_h5parm(path, configuration=other)
    with pytest.raises(H5parmError, match="receptor_frame 'x' unknown"):
        read_h5parm(path, receptor_frame="x")


def test_losoto_reads_what_is_written(h, tmp_path):
    """Cross-check with LoSoTo itself, where it is installed (it is not a dependency)."""
    losoto_h5parm = pytest.importorskip("losoto.h5parm")
    _, _, gt = _observed(h, jones_type="B")
    path = write_h5parm(tmp_path / "ls.h5", gt)
    H = losoto_h5parm.h5parm(str(path))
    try:
        st = H.getSolset("sol000").getSoltab("phase000")
        vals, axes = st.getValues()
        assert st.getType() == "phase" and list(axes) == ["time", "freq", "ant", "dir", "pol"]
        phase = np.angle(np.diagonal(gt.gain, axis1=-2, axis2=-1)).transpose(0, 2, 1, 3)
        assert np.array_equal(vals[:, :, :, 0], phase)
        assert list(H.getSolset("sol000").getAnt()) == list(gt.configuration.names)
    finally:
        H.close()
