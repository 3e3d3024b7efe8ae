"""Sub-minor loops: clean among the brightest pixels only, then subtract from the whole image once.

A CLEAN minor cycle here is a sequence of sub-minor loops (Clark 1980, A&A 89, 377; the
sub-minor loop of WSClean/Radler, Offringa & Smirnov 2017, MNRAS 471, 301). Each loop:

1. **Start from the exact planes.** The criterion ``c = |R_q| · w_q · f_q`` of every
   (plane, pixel) pair of the residual planes R (one plane for Högbom, one per scale for
   multi-scale CLEAN; w the window, f a per-plane factor). The minor cycle ends when the
   largest c is 0 or the stop plane's peak ``max |R_s0| · w_s0`` is below the threshold.
2. **Select.** When the window holds at most ``SELECTION_SIZE`` pairs, all of them: the loop
   is then the plain minor cycle, component for component, and runs to the end. Otherwise
   the pairs with ``c >= T_sel``: ``T_sel`` the ``SELECTION_SIZE``-th largest c, but at
   most ``(1 - MIN_DECREASE) · max c / (1 + MARGIN)`` (a loop lowers the peak by
   ``MIN_DECREASE`` at least) and, for Högbom, at least ``stop / (1 + MARGIN)`` (fainter
   pixels cannot become components before the next loop looks at them exactly).
3. **Clean among the selected pairs.** Pick the largest c among them; the component
   ``gain · R / coupling`` of that plane's kind; subtract it, times the kernel ``B[q, p]``
   at the offsets between the selected pixels, from every selected pair's value (the
   kernel's values at those offsets: the whole PSF, not a patch of it). The loop ends at
   niter components, when the stop rule holds (on the selected pairs, and the unselected
   part of the stop plane as it was at the start), or when the largest selected c falls
   below ``max(T_sub, c_out + s · sqrt(Σ_pos |A_pos|²))``: ``T_sub = (1 + MARGIN) · T_sel``;
   ``c_out`` the largest unselected c at the start; ``s`` the PSF's largest sidelobe beyond
   its main lobe (in criterion units) and ``A_pos`` the amplitude cleaned so far at each
   selected pair — what the loop's components may have added to an unselected pixel (the
   worst case for one position; about the largest of many positions' sidelobes adding at
   random). A loop also makes at most a cap of components: ``|S| / 8`` at first; halved
   after a loop some unselected pair outgrew the last pick (seen in the next loop's exact
   planes), doubled after one where none did.
4. **Subtract all the loop's components from the full planes at once**
   (:class:`~.subtract_components.ComponentSubtractor`): by FFT, the model increment
   convolved with ``psf ⊛ blob_q`` for every plane q, or patch by patch when the components
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
from .subtract_components import ComponentModel, ComponentSubtractor

__all__ = ["SELECTION_SIZE", "MARGIN", "MIN_DECREASE", "subminor_clean"]

SELECTION_SIZE = 16384  # (plane, pixel) pairs a sub-minor loop cleans among, at most (soft)
MARGIN = 0.1  # T_sub = (1 + MARGIN) · T_sel
MIN_DECREASE = 0.05  # a loop runs until the selected peak has fallen by this fraction at least


class _Gather:
    """``B[q, p][y' - y + cy, x' - x + cx]`` for arrays of pixels (y', x') and a pixel (y, x).

    Flat indices ``base(y', x') + offset(y, x)`` into the kernels, padded with zero columns
    (so that no x offset wraps into the next row) and a zero row above and below (taken with
    mode 'clip', rows beyond land on them) unless the kernels already reach every offset.
    """

    def __init__(self, kernels: np.ndarray, centre, shape):
        nq, nk, ky, kx = kernels.shape
        (cy, cx), (ny, nx) = centre, shape
        self.kernels, self._flat = kernels, {}
        self.covers = min(cy, ky - 1 - cy) >= ny - 1 and min(cx, kx - 1 - cx) >= nx - 1
        if self.covers:
            self.width, self.top, self.left = kx, cy, cx
            return
        self.pad = (max(0, nx - 1 - cx), max(0, nx - kx + cx))
        self.width, self.top, self.left = kx + sum(self.pad), cy + 1, cx + self.pad[0]

    def flat(self, q: int, p: int) -> np.ndarray:
        """Kernel ``B[q, p]`` flattened (padded first if need be; kept for the next call)."""
        if (q, p) not in self._flat:
            k = self.kernels[q, p]
            if not self.covers:
                k = np.pad(k, ((1, 1), self.pad))
            self._flat[(q, p)] = np.ascontiguousarray(k).ravel()
        return self._flat[(q, p)]

    def base(self, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        return y.astype(np.int64) * self.width + x

    def offset(self, y: int, x: int) -> int:
        return (self.top - y) * self.width + (self.left - x)


class _Selection:
    """The selected (plane, pixel) pairs, in the order of the plain cycle's peak search.

    Arrays over the pairs, plane by plane (``seg[q]`` the slice of plane q): ``y``, ``x``,
    ``v`` (the residual values), ``w`` (window weights or None), ``crit`` (the criterion) and
    ``base`` (gather indices). Within a plane the pairs are sorted by the peak tracker's
    tiles, then row-major within a tile, so that ties resolve as in the plain cycle.
    """

    def __init__(self, values, weights, masks, gather: _Gather, block: int):
        nq, ny, nx = values.shape
        nbx = -(-nx // block)
        ys, xs, self.seg, start = [], [], [], 0
        for q in range(nq):
            y, x = np.nonzero(masks[q])
            key = (
                ((y // block) * nbx + x // block) * block * block + (y % block) * block + x % block
            )
            order = np.argsort(key, kind="stable")
            ys.append(y[order])
            xs.append(x[order])
            self.seg.append(slice(start, start + y.size))
            start += y.size
        self.y, self.x = np.concatenate(ys), np.concatenate(xs)
        planes = np.repeat(np.arange(nq), [s.stop - s.start for s in self.seg])
        self.v = values[planes, self.y, self.x]
        self.w = None if weights is None else weights[planes, self.y, self.x]
        self.crit = np.empty(self.y.size, np.abs(self.v[:0]).dtype)
        self.base = gather.base(self.y, self.x)
        self.plane = planes


def _zero_border(plane: np.ndarray, h: int) -> None:
    if h > 0:
        plane[:h], plane[-h:], plane[:, :h], plane[:, -h:] = 0, 0, 0, 0


def _criterion(values, weights, borders, factors, stop_plane, out, stop_values) -> None:
    """``out = |values| · weights · factors`` per plane (0 within ``borders[q]`` pixels of the
    edges), and ``stop_values`` (an array [ny, nx] or None) ``= |values| · weights`` of the
    stop plane."""
    for q in range(values.shape[0]):
        np.abs(values[q], out=out[q])
        if weights is not None:
            out[q] *= weights[q]
        if borders is not None:
            _zero_border(out[q], borders[q])
        if q == stop_plane and stop_values is not None:
            stop_values[...] = out[q]
        if factors is not None:
            out[q] *= out.dtype.type(factors[q])


def _threshold(crit: np.ndarray, size: int, peak: float, floor: float) -> float:
    """T_sel: the ``size``-th largest criterion, clamped as the module docstring says."""
    flat = crit.ravel()
    # a lower bound from every 16th value (a view) keeps the exact partition small
    sample = flat[::16]
    rank = max(1, size // 8)  # about the 2·size-th largest value
    low = (
        float(np.partition(sample, sample.size - rank)[sample.size - rank])
        if rank < sample.size
        else 0.0
    )
    top = flat[flat >= low] if low > 0 else flat
    if top.size < size:
        top = flat
    t = float(np.partition(top, top.size - size)[top.size - size])
    t = min(t, peak * (1.0 - MIN_DECREASE) / (1.0 + MARGIN))
    return max(t, floor)


@dataclass
class _Ends:
    """When a sub-minor loop ends (besides niter and the stop rule).

    ``level``: T_sub. ``outside``: the largest criterion among the unselected pairs at the
    start; ``sidelobe``: the largest far sidelobe (beyond the main lobe) in criterion units.
    The loop also ends once its peak falls below ``outside + sidelobe · sqrt(Σ_pos |A_pos|²)``
    (A_pos the amplitude cleaned at each selected pair so far): what the components' far
    sidelobes may have added to an unselected pixel — exactly the worst case for one
    position, and about the typical maximum of many positions' sidelobes adding at random.
    ``out0``: the unselected part of the stop plane's peak at the start.
    """

    level: float = -np.inf
    outside: float = 0.0
    sidelobe: float = 0.0
    out0: float = 0.0


def _loop(sel, gather, comp, factors, gain, limit, stop, stop_plane, ends: _Ends, single):
    """The sub-minor loop over ``sel``: a list of (plane, y, x, amplitude), and the criterion
    of the last pick."""
    picks, last, asq = [], 0.0, 0.0
    v, crit, w, base = sel.v, sel.crit, sel.w, sel.base
    rdtype = crit.dtype
    idx = np.empty(v.size, np.int64)
    g = np.empty(v.size, comp.kernels.dtype)
    tmp = np.empty(v.size, v.dtype)
    cleaned = np.zeros(v.size, v.dtype)  # amplitude per selected pair
    s0 = sel.seg[stop_plane]
    tmp0 = np.empty(s0.stop - s0.start, crit.dtype)
    for q, seg in enumerate(sel.seg):  # the criterion of the selected pairs
        np.abs(v[seg], out=crit[seg])
        if w is not None:
            crit[seg] *= w[seg]
        if factors is not None:
            crit[seg] *= rdtype.type(factors[q])
    for _ in range(limit):
        k = int(np.argmax(crit))
        c = crit[k]
        if c == 0.0:
            break
        if single:
            peak0 = c
        else:  # the stop plane's peak: selected pairs now, the others as they were
            a = np.abs(v[s0], out=tmp0)
            if w is not None:
                a *= w[s0]
            peak0 = max(float(a.max()) if a.size else 0.0, ends.out0)
        if peak0 < stop:
            break
        if picks and c < max(ends.level, ends.outside + ends.sidelobe * np.sqrt(asq)):
            break
        last = float(c)
        p, y, x = int(sel.plane[k]), int(sel.y[k]), int(sel.x[k])
        amp = gain * v[k] / comp.coupling[p]
        picks.append((p, y, x, amp))
        asq += abs(cleaned[k] + amp) ** 2 - abs(cleaned[k]) ** 2
        cleaned[k] += amp
        off = gather.offset(y, x)
        for q, seg in enumerate(sel.seg):
            if seg.start == seg.stop:
                continue
            np.add(base[seg], off, out=idx[seg])
            np.take(gather.flat(q, p), idx[seg], out=g[seg], mode="clip")
            np.multiply(g[seg], amp, out=tmp[seg])
            np.subtract(v[seg], tmp[seg], out=v[seg])
            np.abs(v[seg], out=crit[seg])
            if w is not None:
                crit[seg] *= w[seg]
            if factors is not None:
                crit[seg] *= rdtype.type(factors[q])
    return picks, last


def subminor_clean(
    values: np.ndarray,
    weights: np.ndarray | None,
    factors: np.ndarray | None,
    comp: ComponentModel,
    model: np.ndarray,
    gain: float,
    niter: int,
    stop: float,
    stop_plane: int = 0,
    selection_size: int = SELECTION_SIZE,
    borders=None,
) -> np.ndarray:
    """Run a minor cycle as sub-minor loops (module docstring); update ``values`` and ``model``.

    Parameters
    ----------
    values : numpy.ndarray of float32/float64 or complex64/complex128, shape [nplane, ny, nx]
        The residual planes (exact: ``dirty - model ⊛ psf`` smoothed by each plane's blob);
        updated in place, exact again on return (to rounding).
    weights : numpy.ndarray of the real dtype, shape [nplane, ny, nx], or None
        Window weights in [0, 1] per plane (0: never a component there).
    factors : numpy.ndarray of float, shape [nplane], or None
        Per-plane multipliers of the search criterion.
    comp : ComponentModel
        Kernels in the real dtype of ``values``.
    model : numpy.ndarray, shape [ny, nx], dtype of ``values``
        Components are added to it in place (blob times amplitude), in the order made.
    gain : float
    niter : int
        Components to make at most.
    stop : float
        The cycle stops when the peak of ``|values[stop_plane]| · weights[stop_plane]`` is
        below it (or the criterion's maximum is 0).
    stop_plane : int
    selection_size : int
        ``SELECTION_SIZE`` unless testing.
    borders : sequence of int [nplane], optional
        No component of kind q within ``borders[q]`` pixels of the image's edges (as weights
        0 there, without weight arrays).

    Returns
    -------
    counts : numpy.ndarray of int, shape [nplane]
        Components made per kind.
    """
    nq, ny, nx = values.shape
    counts = np.zeros(nq, dtype=int)
    crit = np.empty((nq, ny, nx), np.abs(values[:1, :1, :1]).dtype)
    if weights is not None:
        eligible = int(np.count_nonzero(weights > 0))
    else:
        eligible = sum(max(0, ny - 2 * h) * max(0, nx - 2 * h) for h in borders or [0] * nq)
    single = nq == 1 and factors is None
    stop_values = None if single else np.empty((ny, nx), crit.dtype)
    gather = _Gather(comp.kernels, comp.centre, (ny, nx))
    subtract = ComponentSubtractor(comp, (ny, nx), values.dtype)
    block = padded_shape(ny, nx)[0]
    sidelobe = far_sidelobe(comp.psf) * (1.0 if factors is None else float(np.max(factors)))
    done, cap, previous = 0, None, None
    while done < niter:
        _criterion(values, weights, borders, factors, stop_plane, crit, stop_values)
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
        picks, last = _loop(sel, gather, comp, factors, gain, limit, stop, stop_plane, ends, single)
        previous = None if ends.level == -np.inf else (masks, last, len(picks))
        subtract(values, model, picks)
        for p, *_ in picks:
            counts[p] += 1
        done += len(picks)
    return counts
