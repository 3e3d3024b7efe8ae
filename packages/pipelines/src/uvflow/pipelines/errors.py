"""Exceptions of uvflow.pipelines (``ValueError`` subclasses naming what was wrong and what is allowed)."""

from __future__ import annotations

__all__ = ["PipelineError", "CheckpointError", "RESTART_HINT"]

#: how to start afresh when a checkpoint cannot be resumed (the end of those messages)
RESTART_HINT = "give --checkpoint-restart (checkpoint_restart=True) to start afresh"


class PipelineError(ValueError):
    """Bad input to a pipeline (the message says what was wrong and what is allowed)."""


class CheckpointError(PipelineError):
    """A checkpoint directory that cannot be resumed by this pipeline run."""
