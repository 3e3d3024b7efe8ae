"""The exception of uvflow.simulation: bad input to a simulation."""

from __future__ import annotations

__all__ = ["SimulationError"]


class SimulationError(ValueError):
    """A simulation was asked for with invalid input (the message says what is allowed)."""
