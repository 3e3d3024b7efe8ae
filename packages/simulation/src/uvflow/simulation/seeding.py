"""Seeds and random generators: every random draw in uvflow.simulation goes through here.

Nothing uses numpy's global random state. A ``seed`` argument may be

- an ``int`` (or sequence of ints): the same value always gives the same numbers;
- a ``numpy.random.SeedSequence`` or ``numpy.random.Generator``: used as given;
- ``None``: fresh entropy from the operating system. The entropy is logged (DEBUG) so a
  run can be repeated with ``seed=<that entropy>``.

Independent streams for windows, antennas or directions come from
``SeedSequence.spawn``: child ``k`` of seed ``s`` is the same whatever else is drawn and
wherever it is computed, which is what makes serial and Dask runs identical.
"""

from __future__ import annotations

import logging

import numpy as np

__all__ = ["SeedLike", "make_rng", "spawn_seeds"]

log = logging.getLogger(__name__)

SeedLike = int | np.random.SeedSequence | np.random.Generator | None


def _seed_sequence(seed) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if seed is None:
        ss = np.random.SeedSequence()
        log.debug("fresh random entropy %d (pass it as seed= to repeat this run)", ss.entropy)
        return ss
    if isinstance(seed, (bool, float)) or (isinstance(seed, (int, np.integer)) and seed < 0):
        raise TypeError(
            f"seed {seed!r} not allowed; use a non-negative int, a numpy SeedSequence or "
            "Generator, or None"
        )
    try:
        return np.random.SeedSequence(seed)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"seed {seed!r} not allowed; use a non-negative int, a numpy SeedSequence or "
            "Generator, or None"
        ) from exc


def make_rng(seed: SeedLike) -> np.random.Generator:
    """A ``numpy.random.Generator`` (PCG64) from ``seed`` (see the module notes)."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.Generator(np.random.PCG64(_seed_sequence(seed)))


def spawn_seeds(seed: SeedLike, n: int) -> list:
    """``n`` independent child seeds of ``seed`` (SeedSequences, or Generators for a Generator).

    For an int the children depend only on (seed, n's position), so ``spawn_seeds(7, 4)[2]``
    is the same in every process and every call.
    """
    if n < 0:
        raise ValueError(f"number of seeds must be >= 0, got {n}")
    if isinstance(seed, np.random.Generator):
        return seed.spawn(n)
    return _seed_sequence(seed).spawn(n)
