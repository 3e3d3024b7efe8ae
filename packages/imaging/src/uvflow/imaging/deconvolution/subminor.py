"""Sub-minor loops: clean among the brightest pixels only, then subtract from the whole image once.

A CLEAN minor cycle here is a sequence of sub-minor loops (Clark 1980, A&A 89, 377; the
sub-minor loop of WSClean/Radler, Offringa & Smirnov 2017, MNRAS 471, 301). Each loop:

1. **Start from the exact planes.** The criterion ``c = |R_q| · w_q · f_q`` of every
   (plane, pixel) pair of the residual planes R (one plane for Högbom, one per scale for
   multi-scale CLEAN; w the window, f a per-plane factor). For MS-MFS CLEAN every pair
   carries the residuals of all Taylor moments and c is its search criterion of them
   (``|F_q(R)| · w_q · f_q``; e.g. ``sol_0 · R_0``, quadratic in R). The minor cycle ends
   when the largest c is 0 or the stop plane's peak ``max |R_s0| · w_s0`` (moment 0) is
   below the threshold.
2. **Select.** When the window holds at most ``SELECTION_SIZE`` pairs, all of them: the loop
   is then the plain minor cycle, component for component, and runs to the end. Otherwise
   the pairs with ``c >= T_sel``: ``T_sel`` the ``SELECTION_SIZE``-th largest c, but at
   most ``(1 - MIN_DECREASE) · max c / (1 + MARGIN)`` (a loop lowers the peak by
   ``MIN_DECREASE`` at least) and, for Högbom, at least ``stop / (1 + MARGIN)`` (fainter
   pixels cannot become components before the next loop looks at them exactly).
3. **Clean among the selected pairs.** Pick the largest c among them; the component
   ``gain · R / coupling`` of that plane's kind (MS-MFS: the amplitudes ``gain · H_p⁻¹ R``,
   one per moment); subtract it, times the kernel ``B[q, p]`` (MS-MFS: ``Σ_k a_k ·
   B[q, p, m + k]`` from moment m) at the offsets between the selected pixels, from every
   selected pair's values (the kernel's values at those offsets: the whole PSF, not a patch
   of it). The loop ends at
   niter components, when the stop rule holds (on the selected pairs, and the unselected
   part of the stop plane as it was at the start), or when the largest selected c falls
   below ``max(T_sub, c_out + s · sqrt(Σ_pos |A_pos|²))``: ``T_sub = (1 + MARGIN) · T_sel``;
   ``c_out`` the largest unselected c at the start; ``s`` the PSF's largest sidelobe beyond
   its main lobe (in criterion units) and ``A_pos`` the amplitude cleaned so far at each
   selected pair — what the loop's components may have added to an unselected pixel (the
   worst case for one position; about the largest of many positions' sidelobes adding at
   random; for a criterion quadratic in R the test is on roots, ``sqrt(c)``). A loop also makes at most a cap of components: ``|S| / 8`` at first; halved
   after a loop some unselected pair outgrew the last pick (seen in the next loop's exact
   planes), doubled after one where none did.
4. **Subtract all the loop's components from the full planes at once**
   (:class:`~.subtract_components.ComponentSubtractor`): by FFT, the model increment
   convolved with ``psf ⊛ blob_q`` for every plane q (MS-MFS: each moment's increment
   transformed once, times the moment PSFs' spectra), or patch by patch when the components
   touch fewer pixels than the FFTs cost (a cut PSF, few components). The planes are then
   exact again (``dirty - model ⊛ psf`` to rounding) and the next loop starts.

The work per component is O(selected pairs); the whole image is touched once per loop.
The components differ from the plain minor cycle's only where a pixel outside the
selection would have become the brightest during a loop (it is then cleaned in a later
loop); stopping rules and component counts are the plain cycle's: the minor cycle stops
only when the exact planes say so, or after exactly ``niter`` components, and a run with
one component fewer is the same run less its last component. Everything is deterministic
(no timing enters any decision).

Precision: the planes, weights, kernels and model are in the dtype the caller gives
(float32/complex64 for single-precision images); amplitudes follow the planes' dtype.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .peak_tracker import padded_shape
from .psf_support import far_sidelobe
from .subtract_components import ComponentModel, ComponentSubtractor, OffsetKernels

__all__ = ["SELECTION_SIZE", "MARGIN", "MIN_DECREASE", "subminor_clean"]

SELECTION_SIZE = 16384  # (plane, pixel) pairs a sub-minor loop cleans among, at most (soft)
MARGIN = 0.1  # T_sub = (1 + MARGIN) · T_sel
MIN_DECREASE = 0.05  # a loop runs until the selected peak has fallen by this fraction at least


@dataclass
class _Search:
    """The peak search: criterion ``|F_q(R)| · w_q · f_q`` (F_q(R) = R, one moment, unless a
    ``criterion`` (q, R [nmoment, n], out [n]) is given), zero within ``borders[q]`` of the
    edges; the stop rule on ``|R[stop_plane, 0]| · w``. ``power``: the criterion grows as
    the residual to this power; ``guard``: the largest growth of ``criterion^(1/power)`` per
    unit residual (moment 0)."""

    weights: np.ndarray | None
    borders: list | None
    factors: np.ndarray | None
    stop_plane: int
    criterion: object
    power: int
    guard: float

    def plane(self, q, v, w, out, plain=False) -> None:
        """The criterion of plane q's values v [nmoment, ...] (weights w or None) into out
        (``|v[0]| · w`` if ``plain``)."""
        if self.criterion is None or plain:
            np.abs(v[0], out=out)
        else:
            self.criterion(q, v, out)
            np.abs(out, out=out)
        if w is not None:
            out *= w
        if self.borders is not None and out.ndim == 2:
            _zero_border(out, self.borders[q])

    def factor(self, q, out) -> None:
        if self.factors is not None:
            out *= out.dtype.type(self.factors[q])


class _Selection:
    """The selected (plane, pixel) pairs, in the order of the plain cycle's peak search.

    Arrays over the pairs, plane by plane (``seg[q]`` the slice of plane q): ``y``, ``x``,
    ``v`` [nmoment, n] (the residual values), ``w`` (window weights or None), ``crit`` (the
    criterion) and ``base`` (gather indices). Within a plane the pairs are sorted by the peak
    tracker's tiles, then row-major within a tile, so that ties resolve as in the plain cycle.
    """

    def __init__(self, values, weights, masks, gather: OffsetKernels, block: int):
        nq, nm, ny, nx = values.shape
        nbx = -(-nx // block)
        ys, xs, self.seg, start = [], [], [], 0
        for q in range(nq):
            y, x = np.nonzero(masks[q])
            tile = (y // block) * nbx + x // block
            order = np.argsort(
                tile * block * block + (y % block) * block + x % block, kind="stable"
            )
            ys.append(y[order])
            xs.append(x[order])
            self.seg.append(slice(start, start + y.size))
            start += y.size
        self.y, self.x = np.concatenate(ys), np.concatenate(xs)
        self.plane = np.repeat(np.arange(nq), [s.stop - s.start for s in self.seg])
        self.v = np.ascontiguousarray(values[self.plane, :, self.y, self.x].T)
        self.w = None if weights is None else weights[self.plane, self.y, self.x]
        self.crit = np.empty(self.y.size, np.abs(self.v[0, :0]).dtype)
        self.base = gather.base(self.y, self.x)


def _zero_border(plane: np.ndarray, h: int) -> None:
    if h > 0:
        plane[:h], plane[-h:], plane[:, :h], plane[:, -h:] = 0, 0, 0, 0


def _threshold(crit: np.ndarray, size: int, peak: float, floor: float) -> float:
    """T_sel: the ``size``-th largest criterion, clamped as the module docstring says."""
    flat = crit.ravel()
    # a lower bound from every 16th value (a view) keeps the exact partition small
    sample = flat[::16]
    rank = max(1, size // 8)  # about the 2·size-th largest value
    low = 0.0
    if rank < sample.size:
        low = float(np.partition(sample, sample.size - rank)[sample.size - rank])
    top = flat[flat >= low] if low > 0 else flat
    if top.size < size:
        top = flat
    t = float(np.partition(top, top.size - size)[top.size - size])
    t = min(t, peak * (1.0 - MIN_DECREASE) / (1.0 + MARGIN))
    return max(t, floor)


@dataclass
class _Ends:
    """When a sub-minor loop ends (besides niter and the stop rule): below ``level`` (T_sub);
    below ``(outside^(1/power) + sidelobe · sqrt(Σ_pos |A_pos|²))^power`` (``outside`` the
    largest unselected criterion at the start, ``sidelobe`` the PSF's far sidelobe in units
    of root criterion, A_pos the moment-0 amplitude cleaned at each selected pair so far);
    ``out0``: the unselected part of the stop plane's peak at the start."""

    level: float = -np.inf
    outside: float = 0.0
    sidelobe: float = 0.0
    out0: float = 0.0


def _update(v, gathered, amp, scratch) -> None:
    """``v[m] -= Σ_k amp_k · gathered[m + k]`` (one moment: ``v[0] -= amp · gathered[0]``)."""
    nm = v.shape[0]
    if nm == 1:
        np.multiply(gathered[0], amp, out=scratch[0])
        np.subtract(v[0], scratch[0], out=v[0])
        return
    for m in range(nm):  # the plain MS-MFS cycle's arithmetic, term by term
        np.multiply(gathered[m], amp[0], out=scratch[0])
        for k in range(1, nm):
            np.multiply(gathered[m + k], amp[k], out=scratch[1])
            scratch[0] += scratch[1]
        np.subtract(v[m], scratch[0], out=v[m])


def _loop(sel, gather, comp, search: _Search, gain, limit, stop, ends: _Ends, single):
    """The sub-minor loop over ``sel``: a list of (plane, y, x, amplitude(s)), and the
    criterion of the last pick."""
    picks, last, asq = [], 0.0, 0.0
    v, crit, w, base = sel.v, sel.crit, sel.w, sel.base
    nm, n = v.shape
    nterm = comp.kernels.shape[2]
    idx = np.empty(n, np.int64)
    g = np.empty((nterm, n), comp.kernels.dtype)
    scratch = np.empty((2, n), v.dtype)
    cleaned = np.zeros(n, v.dtype)  # moment-0 amplitude per selected pair
    s0 = sel.seg[search.stop_plane]
    a0 = np.empty(s0.stop - s0.start, crit.dtype)
    root = 1.0 / search.power
    for q, seg in enumerate(sel.seg):  # the criterion of the selected pairs
        search.plane(q, v[:, seg], None if w is None else w[seg], crit[seg])
        search.factor(q, crit[seg])
    for _ in range(limit):
        k = int(np.argmax(crit))
        c = crit[k]
        if c == 0.0:
            break
        if single:
            peak0 = c
        else:  # the stop plane's peak: selected pairs now, the others as they were
            np.abs(v[0, s0], out=a0)
            if w is not None:
                a0 *= w[s0]
            peak0 = max(float(a0.max()) if a0.size else 0.0, ends.out0)
        if peak0 < stop:
            break
        if picks and (
            c < ends.level or c**root < ends.outside**root + ends.sidelobe * np.sqrt(asq)
        ):
            break
        last = float(c)
        p, y, x = int(sel.plane[k]), int(sel.y[k]), int(sel.x[k])
        if comp.solve is None:
            amp = a = gain * v[0, k] / comp.coupling[p]
        else:  # MS-MFS: the principal solution (one moment: a scalar all the same)
            amp = gain * (comp.solve[p] @ v[:, k])
            a = amp[0]
            amp = a if nm == 1 else amp
        picks.append((p, y, x, amp))
        asq += abs(cleaned[k] + a) ** 2 - abs(cleaned[k]) ** 2
        cleaned[k] += a
        off = gather.offset(y, x)
        for q, seg in enumerate(sel.seg):
            if seg.start == seg.stop:
                continue
            np.add(base[seg], off, out=idx[seg])
            for j in range(nterm):
                np.take(gather.flat(q, p, j), idx[seg], out=g[j, seg], mode="clip")
            _update(v[:, seg], g[:, seg], amp, scratch[:, seg])
            search.plane(q, v[:, seg], None if w is None else w[seg], crit[seg])
            search.factor(q, crit[seg])
    return picks, last


def subminor_clean(
    values: np.ndarray,
    comp: ComponentModel,
    model: np.ndarray,
    gain: float,
    niter: int,
    stop: float,
    *,
    weights: np.ndarray | None = None,
    factors: np.ndarray | None = None,
    stop_plane: int = 0,
    borders=None,
    criterion=None,
    power: int = 1,
    guard: float | None = None,
    selection_size: int = SELECTION_SIZE,
) -> np.ndarray:
    """Run a minor cycle as sub-minor loops (module docstring); update ``values`` and ``model``.

    Parameters
    ----------
    values : numpy.ndarray of float32/float64 or complex64/complex128, shape [nplane,
        nmoment, ny, nx]
        The residual planes (exact: ``dirty - model ⊛ psf`` smoothed by each plane's blob,
        per Taylor term); updated in place, exact again on return (to rounding).
    comp : ComponentModel
        Kernels in the real dtype of ``values``.
    model : numpy.ndarray, shape [nmoment, ny, nx], dtype of ``values``
        Components are added to it in place (blob times amplitude), in the order made.
    gain : float
    niter : int
        Components to make at most.
    stop : float
        The cycle stops when the peak of ``|values[stop_plane, 0]| · weights[stop_plane]`` is
        below it (or the criterion's maximum is 0).
    weights : numpy.ndarray of the real dtype, shape [nplane, ny, nx], optional
        Window weights in [0, 1] per plane (0: never a component there).
    factors : numpy.ndarray of float, shape [nplane], optional
        Per-plane multipliers of the search criterion.
    stop_plane : int
    borders : sequence of int [nplane], optional
        No component of kind q within ``borders[q]`` pixels of the image's edges (as weights
        0 there, without weight arrays).
    criterion : callable (q, R [nmoment, n], out [n]), optional
        The search criterion's value before ``|·| · w · f`` (default: R itself, one moment).
    power : int
        1, or 2 for a criterion quadratic in the residuals.
    guard : float, optional
        The largest growth of ``criterion^(1/power)`` per unit moment-0 residual (default
        the largest factor, or 1).
    selection_size : int
        ``SELECTION_SIZE`` unless testing.

    Returns
    -------
    counts : numpy.ndarray of int, shape [nplane]
        Components made per kind.
    """
    nq, nm, ny, nx = values.shape
    if guard is None:
        guard = 1.0 if factors is None else float(np.max(factors))
    search = _Search(weights, borders, factors, stop_plane, criterion, power, guard)
    counts = np.zeros(nq, dtype=int)
    crit = np.empty((nq, ny, nx), np.abs(values[:1, 0, :1, :1]).dtype)
    if weights is not None:
        eligible = int(np.count_nonzero(weights > 0))
    else:
        eligible = sum(max(0, ny - 2 * h) * max(0, nx - 2 * h) for h in borders or [0] * nq)
    single = nq == 1 and factors is None and criterion is None
    stop_values = None if single else np.empty((ny, nx), crit.dtype)
    gather = OffsetKernels(comp.kernels, comp.centre, (ny, nx))
    subtract = ComponentSubtractor(comp, (ny, nx))
    block = padded_shape(ny, nx)[0]
    sidelobe = far_sidelobe(comp.psfs[0]) * guard
    done, cap, previous = 0, None, None
    while done < niter:
        for q in range(nq):
            w = None if weights is None else weights[q]
            search.plane(q, values[q], w, crit[q])
            if q == stop_plane and stop_values is not None:  # |R_s0,0| · w
                search.plane(q, values[q, :1], w, stop_values, plain=True)
            search.factor(q, crit[q])
        peak = float(crit.max())
        peak0 = peak if single else float(stop_values.max())
        if peak == 0.0 or peak0 < stop:
            break
        if previous is not None:  # did an unselected pixel outgrow the last loop's picks?
            masks, last, made = previous
            if float(np.max(crit, where=~masks, initial=0.0)) > last:
                cap = max(1, made // 2)
            elif cap is not None:
                cap *= 2
        if eligible <= selection_size:
            if weights is not None:
                masks = weights > 0
            else:
                masks = np.ones(crit.shape, bool)
                for q, h in enumerate(borders or [0] * nq):
                    _zero_border(masks[q], h)
            ends = _Ends()
        else:
            floor = stop / (1.0 + MARGIN) if single else 0.0
            t_sel = _threshold(crit, selection_size, peak, floor)
            masks = crit >= t_sel if t_sel > 0 else crit > 0
            ends = _Ends(
                level=(1.0 + MARGIN) * t_sel,
                outside=float(np.max(crit, where=~masks, initial=0.0)),
                sidelobe=sidelobe,
                out0=0.0
                if single
                else float(np.max(stop_values, where=~masks[stop_plane], initial=0.0)),
            )
        sel = _Selection(values, weights, masks, gather, block)
        limit = niter - done
        if ends.level > -np.inf:  # some pairs unselected: at most |S| / 8 components at first
            limit = min(limit, max(1, sel.y.size // 8) if cap is None else cap)
        picks, last = _loop(sel, gather, comp, search, gain, limit, stop, ends, single)
        previous = None if ends.level == -np.inf else (masks, last, len(picks))
        subtract(values, model, picks)
        for p, *_ in picks:
            counts[p] += 1
        done += len(picks)
    return counts
