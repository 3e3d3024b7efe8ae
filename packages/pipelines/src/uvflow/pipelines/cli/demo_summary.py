"""What ``uvflow demo`` compares with the truth, and the summary it prints.

Numpy only: solved against injected gains, clean fluxes against the true fluxes, sources
found (clean components grouped by :func:`~uvflow.pipelines.cli.products.find_sources`)
against the true positions.
"""

from __future__ import annotations

import numpy as np

__all__ = ["gain_errors", "antenna_uv", "recovered_fluxes", "match_sources", "print_summary"]


def gain_errors(solved, truth, antenna_uv=None, wavelength: float | None = None) -> dict:
    """Solved vs injected gains, phases up to the reference antenna's (antenna 0).

    Self-calibration cannot tell a shift of the whole field from a phase gradient across the
    array (the data fit either), so with ``antenna_uv`` the best-fitting field shift ``s``
    (``Δφ_i = 2π u_i·s / λ``, the phase difference of antenna i at its projected position
    ``u_i`` relative to antenna 0) is measured and the phase errors are also given without it.

    Parameters
    ----------
    solved, truth : GainTable
        gain complex [ntime, nant, nchan, nrec, nrec] on the same solution intervals; the
        first receptor is compared.
    antenna_uv : numpy.ndarray, optional
        float [ntime, nant, 2]: each antenna's (u, v) relative to antenna 0, metres.
    wavelength : float, optional
        Metres (the band centre's), with ``antenna_uv``.

    Returns
    -------
    dict
        ``phase_rms_rad``, ``phase_max_rad`` (phase differences after referring both tables
        to antenna 0), ``amplitude_rms``, ``amplitude_max`` (of |solved| / |injected| − 1),
        ``injected_phase_rms_rad`` (the errors corrected); with ``antenna_uv`` also
        ``shift_arcsec`` ([east, north], the field shift of the solution) and
        ``phase_rms_after_shift_rad``, ``phase_max_after_shift_rad``.
    """
    g, t = solved.gain[..., 0, 0], truth.gain[..., 0, 0]
    if g.shape != t.shape:
        raise ValueError(f"solved gains {g.shape} and injected {t.shape} differ in shape")

    def referenced(x):
        return x * np.conj(x[:, :1]) / np.abs(x[:, :1])

    dphi = np.angle(referenced(g) * np.conj(referenced(t)))  # [ntime, nant, nchan]
    damp = np.abs(g) / np.abs(t) - 1
    out = {
        "phase_rms_rad": float(np.sqrt(np.mean(dphi**2))),
        "phase_max_rad": float(np.max(np.abs(dphi))),
        "amplitude_rms": float(np.sqrt(np.mean(damp**2))),
        "amplitude_max": float(np.max(np.abs(damp))),
        "injected_phase_rms_rad": float(np.sqrt(np.mean(np.angle(referenced(t)) ** 2))),
    }
    if antenna_uv is not None:
        k = 2 * np.pi / float(wavelength)
        design = np.repeat(k * np.asarray(antenna_uv, dtype=float).reshape(-1, 2), g.shape[2], 0)
        shift, *_ = np.linalg.lstsq(design, dphi.reshape(-1), rcond=None)
        rest = dphi.reshape(-1) - design @ shift
        out.update(
            shift_arcsec=[float(x) for x in np.rad2deg(shift) * 3600],
            phase_rms_after_shift_rad=float(np.sqrt(np.mean(rest**2))),
            phase_max_after_shift_rad=float(np.max(np.abs(rest))),
        )
    return out


def antenna_uv(vis) -> np.ndarray:
    """Each antenna's projected (u, v) relative to antenna 0, float [ntime, nant, 2] metres.

    From the baselines (0, j), whose uvw is ``XYZ(j) − XYZ(0)`` (DESIGN §3).

    Parameters
    ----------
    vis : Visibility
        uvw [ntime, nbaseline, 3] metres, antenna1/antenna2 [nbaseline].
    """
    nant = len(vis.configuration.names)
    out = np.zeros((vis.ntime, nant, 2))
    for b in np.nonzero((vis.antenna1 == 0) & (vis.antenna2 > 0))[0]:
        out[:, vis.antenna2[b]] = vis.uvw[:, b, :2]
    return out


def recovered_fluxes(model, components, radius_pixels: float = 8.0) -> list[dict]:
    """Clean-component flux of each true source, averaged over the windows.

    CLEAN represents a source that is not centred on a pixel by a pattern of positive and
    negative components around it, so each clean component is credited to the nearest true
    source (within ``radius_pixels``) rather than summed in a fixed box.

    Parameters
    ----------
    model : Image
        The window-mean clean model, data float [1, 1, ny, nx] Jy/pixel.
    components : list of SkyComponent
        The truth, flux [nwindow, 1] (one value per window).
    """
    pix = np.array([[float(v) for v in model.sky_to_pixel(c.direction)] for c in components])
    plane = model.data[0, 0]
    ys, xs = np.nonzero(plane)
    d = np.hypot(xs[:, None] - pix[None, :, 0], ys[:, None] - pix[None, :, 1])
    nearest = np.argmin(d, axis=1)
    close = d[np.arange(d.shape[0]), nearest] <= radius_pixels
    flux = np.bincount(nearest[close], weights=plane[ys, xs][close], minlength=len(components))
    rows = []
    for c, (x, y), f in zip(components, pix, flux):
        true = float(np.mean(c.flux[:, 0]))
        rows.append({
            "ra_deg": c.direction.ra.deg, "dec_deg": c.direction.dec.deg, "pixel": [x, y],
            "true_jy": true, "recovered_jy": float(f), "ratio": float(f) / true,
        })  # fmt: skip
    return rows


def _vertex(a: float, b: float, c: float) -> float:
    """Offset (pixels, in [-0.5, 0.5]) of the parabola's vertex through three samples."""
    denom = a - 2 * b + c
    return float(np.clip(0.5 * (a - c) / denom, -0.5, 0.5)) if denom < 0 else 0.0


def match_sources(rows: list[dict], restored, beam: dict, level: float) -> int:
    """Find each true source (``rows``) in the restored image; the number found.

    A source is found when the restored image's peak within one beam FWHM of its true
    position is above ``level`` and, refined to sub-pixel precision by a parabola through
    the peak and its neighbours, lies within half a beam FWHM of it. Adds ``found`` (bool),
    ``peak_jy_per_beam``, ``offset_arcsec`` and ``offset_east_north_arcsec`` to each row.

    Parameters
    ----------
    rows : list of dict
        From :func:`recovered_fluxes` (``ra_deg``, ``dec_deg``, ``pixel``).
    restored : Image
        data float [nchan, npol, ny, nx] Jy/beam; the first plane is searched.
    beam : dict
        Clean beam, ``bmaj`` in degrees.
    level : float
        Jy/beam.
    """
    from astropy.coordinates import SkyCoord

    plane = restored.data[0, 0]
    ny, nx = plane.shape
    fwhm_arcsec = float(beam["bmaj"]) * 3600
    r = int(np.ceil(float(beam["bmaj"]) / np.rad2deg(restored.cellsize)))
    n = 0
    for row in rows:
        x, y = (int(round(v)) for v in row["pixel"])
        y0, x0 = max(y - r, 0), max(x - r, 0)
        box = plane[y0 : min(y + r + 1, ny), x0 : min(x + r + 1, nx)]
        if box.size == 0:
            row.update(found=False, peak_jy_per_beam=None, offset_arcsec=None,
                       offset_east_north_arcsec=None)  # fmt: skip
            continue
        py, px = np.unravel_index(int(np.argmax(box)), box.shape)
        py, px = py + y0, px + x0
        fx = _vertex(*plane[py, px - 1 : px + 2]) if 0 < px < nx - 1 else 0.0
        fy = _vertex(*plane[py - 1 : py + 2, px]) if 0 < py < ny - 1 else 0.0
        true = SkyCoord(row["ra_deg"], row["dec_deg"], unit="deg")
        east, north = true.spherical_offsets_to(restored.pixel_to_sky(px + fx, py + fy))
        offset = (float(east.arcsec), float(north.arcsec))
        found = bool(np.hypot(*offset) <= 0.5 * fwhm_arcsec and plane[py, px] > level)
        row.update(found=found, peak_jy_per_beam=float(plane[py, px]),
                   offset_arcsec=float(np.hypot(*offset)), offset_east_north_arcsec=list(offset))  # fmt: skip
        n += found
    return n


def print_summary(args, report: dict, rows: list[dict], peak: float, seconds: dict) -> None:
    """The demo's printed summary (stdout)."""
    mode = report["execution"]
    where = "serial" if mode["n_workers"] == 0 else f"{mode['n_workers']} Dask workers"
    print()
    print(f"uvflow demo: {report['nvis']} visibilities in {report['windows']} windows, {where}")
    g = report["gain_errors"]
    how = ("self-calibrated by ICAL (T then G, one global solution per integration)"
           if args.calibration == "ical" else "solved against the true sky model (G)")  # fmt: skip
    print(f"  gains {how}; injected phase errors {g['injected_phase_rms_rad']:.2f} rad rms")
    print(f"    solved - injected: phase rms {g['phase_rms_rad']:.2e} rad, amplitude rms "
          f"{g['amplitude_rms']:.2e}")  # fmt: skip
    if "shift_arcsec" in g:
        east, north = g["shift_arcsec"]
        print(f"    up to a shift of the field by ({east:+.2f}\", {north:+.2f}\") (east, north): "
              f"phase rms {g['phase_rms_after_shift_rad']:.2e} rad")  # fmt: skip
    ratio = np.array([r["ratio"] for r in rows])
    worst = ratio[np.argmax(np.abs(ratio - 1))]
    print(f"  {report['sources']['recovered']} of {len(rows)} sources recovered (restored peak "
          f"within half a beam); clean/true flux median {np.median(ratio):.3f}, worst "
          f"{worst:.3f}")  # fmt: skip
    for r in sorted(rows, key=lambda r: -r["true_jy"]):
        if r.get("offset_east_north_arcsec") is None:
            where = "not found"
        else:
            e, n = r["offset_east_north_arcsec"]
            where = f'offset ({e:+.2f}", {n:+.2f}")' + ("" if r["found"] else " not found")
        print(f"    RA {r['ra_deg']:9.5f} Dec {r['dec_deg']:9.5f}  true {r['true_jy']:6.3f} Jy  "
              f"recovered {r['recovered_jy']:6.3f} Jy  {where}")  # fmt: skip
    print(f"  residual rms {report['residual_rms']:.2e} Jy/beam (restored peak {peak:.3f} Jy/beam)")
    print("  stage times: " + ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items()))
    print(f"  products in {args.out}/: " + ", ".join(sorted(p.name for p in args.out.iterdir())))
