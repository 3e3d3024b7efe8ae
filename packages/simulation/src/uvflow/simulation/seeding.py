"""Seeds and random generators: every random draw in uvflow.simulation goes through here.

Nothing uses numpy's global random state. A ``seed`` argument may be

- an ``int`` (or sequence of ints): the same value always gives the same numbers;
- a ``numpy.random.SeedSequence``: like an int, the same object (or an equal one: same
  ``entropy``, ``spawn_key`` and ``pool_size``) always gives the same numbers, however
  often it is reused: uvflow never spawns from it, only from a copy, so it is not
  changed (its ``n_children_spawned`` stays as it was);
- a ``numpy.random.Generator``: used as given, so it is consumed: reusing it continues
  its stream (different numbers), as numpy's own functions do;
- ``None``: fresh entropy from the operating system. The entropy is logged (DEBUG) so a
  run can be repeated with ``seed=<that entropy>``.

Independent streams for windows, antennas or directions come from
``SeedSequence.spawn`` on a fresh copy of the seed: child ``k`` of seed ``s`` is
``SeedSequence(s.entropy, spawn_key=s.spawn_key + (k,), pool_size=s.pool_size)``, the
same whatever else was drawn or spawned before and wherever it is computed, which is
what makes serial and Dask runs (and reruns) identical.
"""

from __future__ import annotations

import logging

import numpy as np

__all__ = ["SeedLike", "make_rng", "spawn_seeds"]

log = logging.getLogger(__name__)

SeedLike = int | np.random.SeedSequence | np.random.Generator | None


def _seed_sequence(seed) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        # A copy without spawned children: spawning from it leaves the caller's object
        # unchanged, so the same seed gives the same children on every use.
        return np.random.SeedSequence(
            seed.entropy, spawn_key=seed.spawn_key, pool_size=seed.pool_size
        )
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
    """A ``numpy.random.Generator`` (PCG64) from ``seed`` (see the module notes).

    Parameters
    ----------
    seed : int, sequence of int, numpy.random.SeedSequence, numpy.random.Generator or None
        A Generator is returned as it is; anything else seeds a new PCG64 generator.

    Returns
    -------
    numpy.random.Generator
    """
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.Generator(np.random.PCG64(_seed_sequence(seed)))


def spawn_seeds(seed: SeedLike, n: int) -> list:
    """``n`` independent child seeds of ``seed`` (SeedSequences, or Generators for a Generator).

    For an int or a SeedSequence the children depend only on (seed, position), so
    ``spawn_seeds(7, 4)[2]`` is the same in every process and every call, and a
    SeedSequence passed in is not changed (children are spawned from a copy of it).

    Parameters
    ----------
    seed : int, sequence of int, numpy.random.SeedSequence, numpy.random.Generator or None
        See the module notes. A Generator is spawned from directly (``Generator.spawn``), so
        it advances: calling again gives other children.
    n : int
        Number of children, >= 0.

    Returns
    -------
    list of numpy.random.SeedSequence (or of numpy.random.Generator for a Generator seed)
    """
    if n < 0:
        raise ValueError(f"number of seeds must be >= 0, got {n}")
    if isinstance(seed, np.random.Generator):
        return seed.spawn(n)
    return _seed_sequence(seed).spawn(n)
