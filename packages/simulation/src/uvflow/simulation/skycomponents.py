"""Sky components: one with a power-law spectrum, random fields from a source count."""

from __future__ import annotations

import logging

import numpy as np
from astropy.coordinates import SkyCoord

from uvflow.datamodels import PolarisationFrame, SkyComponent, convert_pol, to_radians

from .directions import lm_to_skycoord
from .errors import SimulationError
from .seeding import SeedLike, make_rng

__all__ = ["create_skycomponent", "create_random_skycomponents", "component_flux_at"]

log = logging.getLogger(__name__)


def _frequencies(frequency) -> np.ndarray:
    freq = np.atleast_1d(np.asarray(frequency, dtype=float))
    if freq.ndim != 1 or freq.size == 0:
        raise SimulationError("frequency is empty: give at least one frequency (Hz)")
    if not np.all(np.isfinite(freq)) or np.any(freq <= 0):
        raise SimulationError(f"frequencies must be finite and > 0 Hz, got {freq.tolist()}")
    return freq


def _gaussian_params(shape: str, params) -> dict:
    if shape == "point":
        return {} if params is None else dict(params)
    if shape != "gaussian":
        raise SimulationError(f"component shape {shape!r} unknown; use 'point' or 'gaussian'")
    params = {} if params is None else dict(params)
    missing = {"bmaj", "bmin", "bpa"} - set(params)
    if missing:
        raise SimulationError(
            f"a gaussian component needs params {sorted(missing)}: bmaj, bmin (FWHM) and bpa "
            "(east of north), radians or strings such as '10asec'"
        )
    out = {k: to_radians(params[k]) for k in ("bmaj", "bmin", "bpa")}
    if not out["bmaj"] >= out["bmin"] > 0:
        raise SimulationError(f"gaussian needs bmaj >= bmin > 0, got {out}")
    return out


def create_skycomponent(
    direction: SkyCoord,
    flux,
    frequency,
    reference_frequency: float | None = None,
    spectral_index: float = 0.0,
    polarisation_frame: PolarisationFrame | str = "stokesI",
    shape: str = "point",
    params: dict | None = None,
    name: str = "",
) -> SkyComponent:
    """A component with flux ``S(ν) = S_ref (ν / ν_ref)^spectral_index`` in every product.

    Parameters
    ----------
    direction : SkyCoord
        Scalar.
    flux : float, or array of float [npol], or array [nchan, npol]
        Jy. A scalar is an unpolarised source of that Stokes I (converted to the frame: in
        ``linear``, XX = YY = I). ``[npol]`` is the flux at ``reference_frequency`` in
        ``polarisation_frame``; ``[nchan, npol]`` is taken as given (no spectral index).
    frequency : float or array of float [nchan]
        Hz, > 0.
    reference_frequency : float, optional
        Hz. Required when ``spectral_index`` is not 0.
    spectral_index : float
    polarisation_frame : PolarisationFrame or str
    shape : {'point', 'gaussian'}
    params : dict, optional
        For ``'gaussian'``: ``bmaj``, ``bmin`` (FWHM) and ``bpa`` (east of north), radians or
        strings such as ``'10asec'``.
    name : str
    """
    if not isinstance(direction, SkyCoord) or not direction.isscalar:
        raise SimulationError("direction must be a scalar astropy SkyCoord")
    freq = _frequencies(frequency)
    frame = PolarisationFrame(polarisation_frame)
    f = np.asarray(flux)
    if f.ndim == 0:
        stokes = np.array([float(f), 0.0, 0.0, 0.0], dtype=complex)
        ref = convert_pol(stokes, "stokesIQUV", frame)
        ref = ref.real if np.allclose(ref.imag, 0.0) else ref
    elif f.shape == (frame.npol,):
        ref = f
    elif f.shape == (freq.size, frame.npol):
        if spectral_index != 0.0:
            raise SimulationError("give flux [npol] with a spectral_index, or flux [nchan, npol]")
        return SkyComponent(
            direction=direction, frequency=freq, flux=np.array(f), polarisation_frame=frame,
            shape=shape, params=_gaussian_params(shape, params), name=name,
        )  # fmt: skip
    else:
        raise SimulationError(
            f"flux must be a scalar, [npol={frame.npol}] or [nchan={freq.size}, npol={frame.npol}]; "
            f"got shape {f.shape}"
        )
    if spectral_index != 0.0 and reference_frequency is None:
        raise SimulationError("a spectral_index needs a reference_frequency (Hz)")
    if reference_frequency is not None and not reference_frequency > 0:
        raise SimulationError(f"reference_frequency must be > 0 Hz, got {reference_frequency}")
    scale = (freq / reference_frequency) ** spectral_index if spectral_index != 0.0 else 1.0
    fluxes = np.outer(np.broadcast_to(scale, freq.shape), ref)
    return SkyComponent(
        direction=direction, frequency=freq, flux=fluxes, polarisation_frame=frame,
        shape=shape, params=_gaussian_params(shape, params), name=name,
    )  # fmt: skip


def _draw_fluxes(rng, n: int, fmin: float, fmax: float, slope: float) -> np.ndarray:
    """Inverse-CDF draws from dN/dS ∝ S^-slope on [fmin, fmax]."""
    x = rng.uniform(0.0, 1.0, n)
    if abs(slope - 1.0) < 1e-12:
        return fmin * (fmax / fmin) ** x
    a = 1.0 - slope
    return (fmin**a + x * (fmax**a - fmin**a)) ** (1.0 / a)


def create_random_skycomponents(
    phasecentre: SkyCoord,
    fov,
    frequency,
    nsources: int | None = None,
    flux_limits: tuple[float, float] = (0.01, 1.0),
    slope: float = 2.5,
    source_density: float | None = None,
    reference_frequency: float | None = None,
    spectral_index: tuple[float, float] = (0.0, 0.0),
    polarisation_frame: PolarisationFrame | str = "stokesI",
    gaussian_fraction: float = 0.0,
    gaussian_size: tuple = ("2asec", "20asec"),
    seed: SeedLike = None,
) -> list[SkyComponent]:
    """Random unpolarised components drawn from a power-law source count.

    Fluxes (Stokes I at ``reference_frequency``) follow the differential count
    ``dN/dS ∝ S^-slope`` between ``flux_limits`` (``slope`` 2.5 is the Euclidean count;
    ``slope`` = 1 is log-uniform). Positions are uniform in direction cosines over the square
    ``|l|, |m| <= fov / 2`` about ``phasecentre`` (the area of an image of that width).

    Parameters
    ----------
    phasecentre : SkyCoord
    fov : float or str
        Full width of the field, radians (or ``'1deg'``).
    frequency : float or array of float [nchan]
        Hz.
    nsources : int, optional
        How many; or give ``source_density``.
    flux_limits : (float, float)
        ``(S_min, S_max)`` in Jy, 0 < S_min < S_max.
    slope : float
    source_density : float, optional
        Sources per steradian above ``S_min``: the number is Poisson with mean
        density × fov² (the field's solid angle in the small-field limit).
    reference_frequency : float, optional
        Hz; default the middle channel.
    spectral_index : (mean, standard deviation)
        Each source's index is drawn from this normal distribution.
    polarisation_frame : PolarisationFrame or str
        Frame of the returned fluxes (the sources are unpolarised).
    gaussian_fraction : float
        Fraction (0..1) of sources that are Gaussians; their FWHM ``bmaj`` is drawn
        log-uniformly within ``gaussian_size``, ``bmin = bmaj × U(0.3, 1)``, ``bpa ~ U(0, π)``.
    gaussian_size : (min, max)
        Radians or strings.
    seed : int, SeedSequence, Generator or None

    Returns
    -------
    list of SkyComponent
        Sorted by decreasing flux, named ``rand0000``, ``rand0001``, …
    """
    freq = _frequencies(frequency)
    width = to_radians(fov)
    if not 0 < width < 2.0:
        raise SimulationError(f"fov must be in (0, 2) radians (full width), got {width}")
    fmin, fmax = (float(v) for v in flux_limits)
    if not 0 < fmin < fmax:
        raise SimulationError(f"flux_limits must satisfy 0 < S_min < S_max, got {flux_limits}")
    if not 0.0 <= gaussian_fraction <= 1.0:
        raise SimulationError(f"gaussian_fraction must be in [0, 1], got {gaussian_fraction}")
    rng = make_rng(seed)
    if (nsources is None) == (source_density is None):
        raise SimulationError("give exactly one of nsources= or source_density= (per sr)")
    if nsources is None:
        if not source_density >= 0:
            raise SimulationError(f"source_density must be >= 0, got {source_density}")
        nsources = int(rng.poisson(source_density * width**2))
    if int(nsources) != nsources or nsources < 0:
        raise SimulationError(f"nsources must be an integer >= 0, got {nsources}")
    nsources = int(nsources)
    nu_ref = float(freq[freq.size // 2]) if reference_frequency is None else reference_frequency
    flux = _draw_fluxes(rng, nsources, fmin, fmax, slope)
    ell = rng.uniform(-width / 2, width / 2, nsources)
    m = rng.uniform(-width / 2, width / 2, nsources)
    alpha = rng.normal(spectral_index[0], spectral_index[1], nsources)
    is_gauss = rng.uniform(0.0, 1.0, nsources) < gaussian_fraction
    smin, smax = (to_radians(s) for s in gaussian_size)
    if is_gauss.any() and not 0 < smin <= smax:
        raise SimulationError(f"gaussian_size must satisfy 0 < min <= max, got {gaussian_size}")
    bmaj = np.exp(rng.uniform(np.log(max(smin, 1e-300)), np.log(max(smax, 1e-300)), nsources))
    axial = rng.uniform(0.3, 1.0, nsources)
    bpa = rng.uniform(0.0, np.pi, nsources)
    directions = lm_to_skycoord(ell, m, phasecentre)
    order = np.argsort(-flux, kind="stable")
    comps = []
    for k, i in enumerate(order):
        shape = "gaussian" if is_gauss[i] else "point"
        params = (
            {"bmaj": bmaj[i], "bmin": bmaj[i] * axial[i], "bpa": bpa[i]} if is_gauss[i] else None
        )
        comps.append(
            create_skycomponent(
                directions[i], flux[i], freq, reference_frequency=nu_ref,
                spectral_index=float(alpha[i]), polarisation_frame=polarisation_frame,
                shape=shape, params=params, name=f"rand{k:04d}",
            )
        )  # fmt: skip
    log.debug("drew %d random components", len(comps))
    return comps


def component_flux_at(
    component: SkyComponent, frequency, polarisation_frame: PolarisationFrame | str
) -> np.ndarray:
    """The component's flux at ``frequency`` in ``polarisation_frame``.

    Exact at the component's own frequencies; between them a power law (linear in
    log S – log ν) through the neighbouring channels; beyond them the end value (a
    one-channel component has a flat spectrum). Complex products (e.g. XY) are kept complex
    only when the target frame needs them; Stokes targets are real.

    Parameters
    ----------
    component : SkyComponent
        ``frequency[nchan_c]`` Hz and ``flux[nchan_c, npol_c]`` (float64 or complex128) in
        its own polarisation frame.
    frequency : float or array of float64, shape [nchan]
        Hz.
    polarisation_frame : PolarisationFrame or str
        Frame of the result.

    Returns
    -------
    numpy.ndarray of float64 or complex128, shape [nchan, npol]
        Jy, ``npol`` of ``polarisation_frame``; complex128 only for correlation frames
        whose products are complex (e.g. XY of a source with Stokes U or V).

    Raises
    ------
    uvflow.datamodels.PolarisationError
        The component's products cannot be converted to ``polarisation_frame``.
    """
    freq = np.atleast_1d(np.asarray(frequency, dtype=float))
    src = component.frequency
    flux = np.asarray(component.flux)
    if src.size == freq.size and np.allclose(src, freq, rtol=1e-9, atol=0):
        at = flux
    elif src.size == 1:
        at = np.repeat(flux, freq.size, axis=0)
    else:
        order = np.argsort(src)
        lsrc, lf = np.log(src[order]), np.log(freq)
        at = np.empty((freq.size, flux.shape[1]), dtype=flux.dtype)
        for p in range(flux.shape[1]):
            col = flux[order, p]
            if np.all(col.real > 0) and np.allclose(col.imag if np.iscomplexobj(col) else 0, 0):
                at[:, p] = np.exp(np.interp(lf, lsrc, np.log(col.real)))
            else:
                at[:, p] = np.interp(lf, lsrc, col.real) + (
                    1j * np.interp(lf, lsrc, col.imag) if np.iscomplexobj(col) else 0
                )
    out = convert_pol(np.asarray(at), component.polarisation_frame, polarisation_frame, axis=1)
    if PolarisationFrame(polarisation_frame).is_stokes and np.iscomplexobj(out):
        out = out.real
    return out
