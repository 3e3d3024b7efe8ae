# %% [markdown]
# # Bandpass calibration: solved B against the truth
#
# A bandpass (Jones type **B**) is a complex gain per antenna, receptor and channel. This
# script simulates a MeerKAT observation of a 10 Jy calibrator at the phase centre in
# linear polarisation over 32 channels, corrupts it with a known random B table
# (`uvflow.simulation.simulate_gaintable` on a table made with `jones_type='B'`), adds
# noise, solves for B with `uvflow.calibration.solve_gaintable`, and plots amplitude and
# phase against channel, solved against truth (`bandpass_calibration.png`; also the
# package's own `plot_gaintable_spectrum` of the solution,
# `bandpass_solution_spectrum.png`).
#
# Gains are only defined up to one phase per receptor and channel: the solver sets the
# reference antenna's phase to 0, so the truth is referred to the same antenna before
# comparing. With `normalise_gains=False` the amplitudes are absolute (the flux scale comes
# from the known model).
#
# Run: `python examples/bandpass_calibration.py [OUTDIR]` (default
# `$UVFLOW_EXAMPLE_OUTPUT` or `./example-output`).

# %%
from __future__ import annotations

import argparse
import os
import pathlib
import sys

import numpy as np

from uvflow.calibration import (
    apply_gaintable,
    create_gaintable_from_visibility,
    plot_gaintable_spectrum,
    solve_gaintable,
)
from uvflow.imaging import predict_dft
from uvflow.simulation import (
    add_noise,
    create_named_observation,
    create_skycomponent,
    simulate_gaintable,
)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="bandpass (B) calibration against the truth")
    p.add_argument(
        "outdir",
        nargs="?",
        default=os.environ.get("UVFLOW_EXAMPLE_OUTPUT", "example-output"),
        help="directory for the PNGs (default: $UVFLOW_EXAMPLE_OUTPUT or ./example-output)",
    )
    p.add_argument("--nchan", type=int, default=32, help="channels")
    p.add_argument("--ntimes", type=int, default=8, help="integrations")
    p.add_argument("--rmax", type=float, default=4000.0, help="antennas within this radius (m)")
    p.add_argument("--sigma", type=float, default=0.5, help="noise per visibility (Jy)")
    return p.parse_args(argv)


args = parse_args(None if "ipykernel" not in sys.modules else [])
outdir = pathlib.Path(args.outdir)
outdir.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## Observe a calibrator

# %%
frequency = np.linspace(0.9e9, 1.6e9, args.nchan)
vis = create_named_observation(
    "meerkat",
    rmax=args.rmax,
    times=np.linspace(-2, 2, args.ntimes) * np.pi / 12,
    frequency=frequency,
    channel_bandwidth=np.full(args.nchan, frequency[1] - frequency[0]),
    polarisation_frame="linear",
)
calibrator = create_skycomponent(vis.phasecentre, 10.0, vis.frequency, polarisation_frame="stokesI")
model = predict_dft(vis, [calibrator])  # XX = YY = 10 Jy, XY = YX = 0
nant = vis.configuration.xyz.shape[0]
print(f"{nant} antennas, {vis.vis.shape[0]} times, {args.nchan} channels, {vis.polarisation_frame}")

# %% [markdown]
# ## Corrupt with a known bandpass
#
# One B solution for the whole track (a 10⁵ s solution interval), independent per antenna,
# receptor and channel: 0.3 rad phase and 10 % amplitude errors.

# %%
true_b = create_gaintable_from_visibility(vis, timeslice=1e5, jones_type="B")
true_b = simulate_gaintable(true_b, phase_error=0.3, amplitude_error=0.1, seed=2024)
observed = add_noise(apply_gaintable(model, true_b), sigma=args.sigma, seed=7)
print(f"B table: gain {true_b.gain.shape} [ntime, nant, nchan, nrec, nrec]")

# %% [markdown]
# ## Solve

# %%
solved = solve_gaintable(
    observed,
    modelvis=model,
    phase_only=False,
    jones_type="B",
    timeslice=1e5,
    normalise_gains=False,
    refant=0,
)
print(f"solved: gain {solved.gain.shape}, converged {bool(np.all(solved.meta['converged']))}")

# %% [markdown]
# ## Compare with the truth, referred to the reference antenna

# %%
g_true = true_b.gain[0, :, :, [0, 1], [0, 1]]  # [nrec, nant, nchan] diagonal gains
g_solved = solved.gain[0, :, :, [0, 1], [0, 1]]
ref = g_true[:, 0:1, :] / np.abs(g_true[:, 0:1, :])
g_true_ref = g_true * np.conj(ref)  # the truth with antenna 0's phase removed

amp_err = np.abs(g_solved) - np.abs(g_true_ref)
phase_err = np.angle(g_solved * np.conj(g_true_ref))
amp_rms_true = float(np.std(np.abs(g_true)))
phase_rms_true = float(np.std(np.angle(g_true_ref[:, 1:])))
print(f"corruption: amplitude rms {amp_rms_true:.4f}, phase rms {phase_rms_true:.4f} rad")
print(
    f"solution error: amplitude rms {np.sqrt(np.mean(amp_err**2)):.5f}, "
    f"phase rms {np.sqrt(np.mean(phase_err**2)):.5f} rad"
)
corrected = apply_gaintable(observed, solved, inverse=True)
residual = float(np.sqrt(np.mean(np.abs(corrected.vis - model.vis)[..., [0, 3]] ** 2)))
print(
    f"corrected XX/YY minus model: rms {residual:.4f} Jy (the noise alone: sigma per real and "
    f"imaginary part {args.sigma} Jy, so {np.sqrt(2) * args.sigma:.4f} Jy)"
)
# each gain is fitted to (nant - 1) baselines x ntimes of a 10 Jy source: its error is about
# sigma / (10 Jy * sqrt((nant - 1) * ntimes)) in amplitude, and the same in radians of phase
expected = args.sigma / (10.0 * np.sqrt((nant - 1) * args.ntimes))
print(f"expected error from the noise: ~{expected:.5f}")
print(
    f"RESULT amp_rms_error={np.sqrt(np.mean(amp_err**2)):.6f} "
    f"phase_rms_error={np.sqrt(np.mean(phase_err**2)):.6f} "
    f"amp_rms_true={amp_rms_true:.6f} phase_rms_true={phase_rms_true:.6f}"
)

# %% [markdown]
# ## Plot amplitude and phase against channel, solved against truth

# %%
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

channels = np.arange(args.nchan)
fig, axes = plt.subplots(2, 1, figsize=(9, 6), sharex=True, layout="constrained")
for k, ant in enumerate((1, nant // 2, nant - 1)):
    colour = f"C{k}"
    name = vis.configuration.names[ant]
    axes[0].plot(channels, np.abs(g_true_ref[0, ant]), "-", color=colour, label=f"{name} truth")
    axes[0].plot(
        channels, np.abs(g_solved[0, ant]), "o", color=colour, ms=4, label=f"{name} solved"
    )
    axes[1].plot(channels, np.angle(g_true_ref[0, ant]), "-", color=colour)
    axes[1].plot(channels, np.angle(g_solved[0, ant]), "o", color=colour, ms=4)
axes[0].set_ylabel("|B| (receptor X)")
axes[1].set_ylabel("phase of B (rad)")
axes[1].set_xlabel("channel")
axes[0].legend(ncol=3, fontsize=8)
axes[0].set_title(
    f"Bandpass: solved (dots) vs truth (lines); phases relative to {vis.configuration.names[0]}"
)
path = outdir / "bandpass_calibration.png"
fig.savefig(path, dpi=100)
print(f"wrote {path}")
path = plot_gaintable_spectrum(
    solved, outdir / "bandpass_solution_spectrum.png", antennas=[1, 2, 3]
)
print(f"wrote {path}")
