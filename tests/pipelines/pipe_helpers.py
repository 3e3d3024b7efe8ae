"""Helpers of the pipeline tests (continuum, ICAL, spectral line, checkpoints): a small field.

Imported as ``pipe_helpers`` (``conftest.py`` puts this directory on ``sys.path``); it
defines no fixtures.

The field: four frequency windows (two channels each, 100–117.5 MHz) of a 6-integration
track of 16 antennas within 1 km; five flat-spectrum point sources of 0.1–10 Jy, each
exactly on a pixel centre of the 128² images, so CLEAN can represent each by one pixel and
the fluxes are exact targets. Visibilities are computed by the exact DFT (noise-free).
"""

from __future__ import annotations

import numpy as np

from uvflow.datamodels import SkyComponent, create_image
from uvflow.datamodels.testing import random_configuration, simple_visibility
from uvflow.execution import rsexecute
from uvflow.imaging import predict_dft

FREQUENCIES = [1.0e8, 1.05e8, 1.1e8, 1.15e8]
SOURCES = [((64, 64), 10.0), ((40, 80), 3.0), ((90, 50), 1.0), ((75, 95), 0.3), ((30, 35), 0.1)]
NPIXEL = 128


def make_field(nwin: int = 4, ntime: int = 6, nant: int = 16):
    """(vis_list, model_list, components) of the test field with ``nwin`` windows."""
    config = random_configuration(nant=nant, radius=1000.0, seed=21)
    freqs = FREQUENCIES[:nwin] if nwin <= 4 else [1.0e8 + 5e6 * i for i in range(nwin)]
    templates = [
        simple_visibility(
            config,
            ntime=ntime,
            frequency=[f, f + 2.5e6],
            channel_bandwidth=2.5e6,
            hour_angle_span=np.pi / 2,
        )  # fmt: skip
        for f in freqs
    ]
    uvmax = max(float(np.max(np.abs(v.uvw_lambda[..., :2]))) for v in templates)
    cell = 1.0 / (3.0 * uvmax)
    models = [
        create_image(NPIXEL, cell, templates[0].phasecentre, f + 1.25e6, channel_bandwidth=5e6)
        for f in freqs
    ]
    comps = [
        SkyComponent(direction=models[0].pixel_to_sky(x, y), frequency=[1.0e8], flux=[[s]])
        for (x, y), s in SOURCES
    ]
    return [predict_dft(v, comps) for v in templates], models, comps


def clean_fluxes(model, comps, radius: float = 3.0) -> np.ndarray:
    """Clean-component flux credited to the nearest true source (within ``radius`` pixels)."""
    pix = np.array([[float(v) for v in model.sky_to_pixel(c.direction)] for c in comps])
    plane = model.data[0, 0]
    ys, xs = np.nonzero(plane)
    d = np.hypot(xs[:, None] - pix[None, :, 0], ys[:, None] - pix[None, :, 1])
    nearest = np.argmin(d, axis=1)
    close = d[np.arange(d.shape[0]), nearest] <= radius
    return np.bincount(nearest[close], weights=plane[ys, xs][close], minlength=len(comps))


def arrays(x):
    """Every array of a nested result (Images, Visibilities, GainTables, dicts, tuples)."""
    if isinstance(x, dict):
        for k in sorted(x):
            yield from arrays(x[k])
    elif isinstance(x, (list, tuple)):
        for i in x:
            yield from arrays(i)
    elif isinstance(x, np.ndarray):
        yield x
    elif hasattr(x, "gain"):
        yield x.gain
    elif hasattr(x, "vis"):
        yield x.vis
    elif hasattr(x, "data"):
        yield x.data
    else:
        yield np.asarray(x)


def assert_same(a, b, rtol: float = 1e-10, scale: float | None = None) -> None:
    """Every array of ``a`` equals ``b``'s to ``rtol`` of ``scale`` (default: ``b``'s largest
    value per array; give the data's scale for residuals, whose own peak is ~0)."""
    la, lb = list(arrays(a)), list(arrays(b))
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        assert x.shape == y.shape
        if y.size:
            ref = scale if scale is not None else max(float(np.max(np.abs(y))), 1e-300)
            assert float(np.max(np.abs(x - y))) <= rtol * ref


def assert_pipeline_same(a, b, rtol: float = 1e-10) -> None:
    """Pipeline outputs (models, residuals, restored[, tables]) equal to ``rtol`` of the
    data's scale: models relative to the largest model value over all windows, residual
    and restored images to the largest restored value (a window or a residual holding
    only ~0 is compared on the scale of the data, not of its own rounding noise)."""
    model_peak = max(float(np.max(np.abs(m.data))) for m in b[0])
    peak = max(float(np.max(np.abs(im.data))) for im in b[2])
    assert_same(a[0], b[0], rtol, scale=model_peak)
    assert_same(a[1], b[1], rtol, scale=peak)
    assert_same(a[2], b[2], rtol, scale=peak)
    assert_same(a[3:], b[3:], rtol)


def assert_same_beams(a, b, rtol: float = 1e-14) -> None:
    """The restored images of ``a`` and ``b`` (lists of Image) carry the same fitted clean
    beams, to ``rtol`` (the beam is fitted by Levenberg–Marquardt, which amplifies a last-bit
    difference of its PSF ~1e4-fold: equal beams mean equal PSF main lobes)."""
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.clean_beam is not None and set(x.clean_beam) == {"bmaj", "bmin", "bpa"}
        for key in ("bmaj", "bmin", "bpa"):
            assert abs(x.clean_beam[key] - y.clean_beam[key]) <= rtol * abs(y.clean_beam[key])


def graph_tasks(graph) -> int:
    """Tasks in the merged graph of every Delayed in ``graph`` (nested lists/tuples/dicts)."""
    from dask.base import is_dask_collection

    leaves = []

    def walk(x):
        if isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, (list, tuple)):
            for v in x:
                walk(v)
        elif is_dask_collection(x):
            leaves.append(x)

    walk(graph)
    merged = {}
    for leaf in leaves:
        merged.update(dict(leaf.__dask_graph__()))
    return len(merged)


def start_cluster() -> None:
    rsexecute.set_client(use_dask=True, n_workers=2, threads_per_worker=1, dashboard_address=None)


def run_serial_and_dask(build):
    """``build()`` serially, then computed on a 2-process LocalCluster: (serial, dask)."""
    rsexecute.set_client(use_dask=False)
    serial = build()
    start_cluster()
    try:
        dask = rsexecute.compute(build(), sync=True)
    finally:
        rsexecute.close()
    return serial, dask


def bilinear_exact(counts: dict) -> bool:
    """Whether counts[(a, b)] = c0 + c1·a + c2·b + c3·a·b exactly for every key."""
    keys = sorted(counts)
    design = np.array([[1.0, a, b, a * b] for a, b in keys])
    values = np.array([counts[k] for k in keys], dtype=float)
    coef, *_ = np.linalg.lstsq(design, values, rcond=None)
    return bool(np.allclose(design @ coef, values, atol=1e-6))
