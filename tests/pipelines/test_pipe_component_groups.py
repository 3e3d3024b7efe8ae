"""Clean components grouped into sources without scipy, against the scipy definition."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from uvflow.pipelines.cli.component_groups import component_groups, disc_offsets


def _scipy_groups(mask: np.ndarray, link: float) -> np.ndarray:
    """What find_sources computed before: labels of the mask dilated by the disc, 4-connected."""
    r = int(np.ceil(link / 2))
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    labels, _ = ndimage.label(ndimage.binary_dilation(mask, structure=np.hypot(xx, yy) <= link / 2))
    return labels[np.nonzero(mask)]


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two labellings of the same items make the same groups (numbers aside)."""
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


@pytest.mark.parametrize("link", [1.5, 2.0, 3.3, 5.0, 8.7])
@pytest.mark.parametrize("seed", range(4))
def test_groups_equal_the_dilated_mask_labels(link, seed):
    """Sparse, clustered and edge-touching components: exactly scipy's partition."""
    rng = np.random.default_rng(seed)
    ny, nx = 80 + 5 * seed, 64
    mask = rng.random((ny, nx)) < (0.01, 0.03, 0.08, 0.2)[seed]
    mask[:3, :3] = True  # a cluster at the corner
    mask[ny // 2, :: int(link) + 1] = True  # a chain near the linking length
    ys, xs = np.nonzero(mask)
    ours = component_groups(ys, xs, mask.shape, link)
    assert _same_partition(ours, _scipy_groups(mask, link))
    assert ours.min() == 0 and ours.max() + 1 == len(set(ours.tolist()))


def test_no_components_and_one():
    assert component_groups(np.zeros(0, int), np.zeros(0, int), (4, 4), 2.0).size == 0
    assert component_groups(np.array([2]), np.array([3]), (4, 4), 2.0).tolist() == [0]


def test_disc_offsets():
    assert sorted(map(tuple, disc_offsets(2.0).tolist())) == [
        (-1, 0), (0, -1), (0, 0), (0, 1), (1, 0)
    ]  # fmt: skip
