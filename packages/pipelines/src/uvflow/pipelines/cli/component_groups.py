"""Clean components grouped into sources, in numpy only (the products need no scipy).

Two components belong to one source when the discs of diameter ``link`` pixels round them
overlap or touch (share a pixel or a pixel edge): exactly the 4-connected regions of the
component mask dilated by that disc, as ``scipy.ndimage.label(binary_dilation(...))``
finds them, but computed on the components alone — the pairs whose offset lies in the
set of offsets that connect two discs, then connected components by hooking and pointer
jumping — so its cost grows with the components, not the image.
"""

from __future__ import annotations

import numpy as np

__all__ = ["disc_offsets", "component_groups"]


def disc_offsets(link: float) -> np.ndarray:
    """The integer offsets (dy, dx) of the disc ``hypot(dy, dx) <= link / 2``: int [m, 2]."""
    r = int(np.ceil(link / 2))
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    keep = np.hypot(xx, yy) <= link / 2
    return np.stack([yy[keep], xx[keep]], axis=1)


def _connecting_offsets(link: float) -> np.ndarray:
    """Offsets p_j − p_i (half of them: the other half are their negatives) at which the
    discs round p_i and p_j share a pixel or are 4-neighbours: disc ⊕ disc ⊕ cross."""
    disc = disc_offsets(link)
    cross = np.array([[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1]])
    total = (disc[:, None, :] + disc[None, :, :]).reshape(-1, 2)
    total = np.unique((total[:, None, :] + cross[None, :, :]).reshape(-1, 2), axis=0)
    positive = (total[:, 0] > 0) | ((total[:, 0] == 0) & (total[:, 1] > 0))
    return total[positive]


def component_groups(ys: np.ndarray, xs: np.ndarray, shape, link: float) -> np.ndarray:
    """The source each component belongs to.

    Parameters
    ----------
    ys, xs : numpy.ndarray of int, shape [n]
        The components' pixels (distinct).
    shape : (int, int)
        The image's (ny, nx).
    link : float
        The discs' diameter in pixels (> 0).

    Returns
    -------
    numpy.ndarray of int, shape [n]
        Group numbers 0, 1, … in the order of each group's first component.
    """
    n = ys.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    ny, nx = shape
    index = np.full((ny, nx), -1, dtype=np.int64)
    index[ys, xs] = np.arange(n)
    first, second = [], []
    for dy, dx in _connecting_offsets(link):
        ty, tx = ys + dy, xs + dx
        inside = (ty >= 0) & (ty < ny) & (tx >= 0) & (tx < nx)
        other = np.full(n, -1, dtype=np.int64)
        other[inside] = index[ty[inside], tx[inside]]
        hit = other >= 0
        first.append(np.nonzero(hit)[0])
        second.append(other[hit])
    a, b = np.concatenate(first), np.concatenate(second)
    parent = np.arange(n)
    while True:  # hook every edge's larger root onto the smaller, then compress the paths
        ra, rb = parent[a], parent[b]
        lo, hi = np.minimum(ra, rb), np.maximum(ra, rb)
        if not np.any(lo != hi):
            break
        np.minimum.at(parent, hi, lo)
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
    _, groups = np.unique(parent, return_inverse=True)
    return groups.reshape(-1)
