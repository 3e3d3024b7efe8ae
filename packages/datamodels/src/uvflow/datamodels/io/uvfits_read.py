"""Read UVFITS (AIPS random-groups, AIPS Memo 117) into block-layout Visibility.

:func:`read_uvfits` is the index and chunks of :mod:`uvflow.datamodels.io.uvfits_chunks`
loaded in this process: the random parameters and tables, then each source × IF's groups
(the memory-mapped file read in group chunks). The antenna, source and frequency tables
are read by :mod:`uvflow.datamodels.io.uvfits_tables`.

Conventions and how they are converted to uvflow's (the MS's, DESIGN §3)
--------------------------------------------------------------------------
*uvw.* UU, VV, WW are in light-seconds (astropy applies PSCAL/PZERO); × c gives metres.
For a group with BASELINE = 256·a1 + a2 the file's vector is ``XYZ(a1) − XYZ(a2)``: on the
real VLA file 3C273XC1.fits the file's uvw equal *minus* the hour-angle uvw of
``XYZ(a2) − XYZ(a1)`` to 6e-4 of the baseline length (plus sign: 200 %). uvflow's baseline
(a1, a2) is ``XYZ(a2) − XYZ(a1)``, so **uvw = −uvw_file**.

*Phase sign.* The file's model is ``V_file^p(u_file) = Σ_k P_k exp(+2πi u_file·l_k)``
(P the product's Stokes combination, e.g. RL = Q + iU, as uvflow's): a dirty image made
from (uvw_file, V_file) with uvflow's adjoint ``exp(−2πi u·l)`` puts the 3C273 jet's hot
spot at 21″, position angle 221° (its known place, PA ≈ 222°); flipping only one of uvw
or the phase mirrors it to PA 41°. uvflow's model is ``V^p(u) = Σ_k P_k exp(+2πi u·l_k)``
with ``u = −u_file``, so

    V^p(u) = Σ_k P_k exp(−2πi u_file·l_k) = conj(Σ_k conj(P_k) exp(+2πi u_file·l_k))
           = conj(V_file^p̄),

where p̄ is the product whose Stokes combination is conj(P): RR, LL, XX, YY, I, Q, U, V
are their own (real combinations), RL ↔ LR and XY ↔ YX exchange. **So uvw = −uvw_file and
vis = conj(vis_file) with the cross hands exchanged** — the Hermitian transpose of each
2×2 coherency: the file's (a1, a2) row is uvflow's baseline (a2, a1). Both flips together
change no Stokes-I image (the pair (u, V) → (−u, V*) is the same Hermitian sample), but
the baseline direction matters to calibration, and without the exchange of RL and LR the
sign of Stokes U (the polarisation angle) would flip. pyuvdata also flips uvw and
conjugates; AIPS Memo 117 states it as the opposite baseline vector and phase sign.

*Time.* DATE parameters (often two, summed, e.g. integer JD + fraction) are Julian days in
the AN table's TIMSYS (IAT/TAI for old VLA files; UTC if absent), converted to MJD
seconds UTC with astropy.

*Antennas.* From the AN table
(:func:`~uvflow.datamodels.io.uvfits_tables.antenna_configuration`).

*Phase centre and uvw frame.* SU table RAEPO/DECEPO (multi-source files), else the RA/DEC
axes' CRVAL, at the SU EPOCH or the header's EQUINOX/EPOCH (1950 → FK4 B1950; 2000 → J2000,
taken as ICRS; other values → FK5 at that Julian equinox), converted to ICRS. AIPS gives
uvw in the mean frame of that epoch; uvflow's are J2000 (the MS convention), so uvw are
turned by :func:`~uvflow.datamodels.io.uvfits_tables.uvw_to_j2000` (the frame rotation, w kept on the source, u and v turned
by the change of position angle). On 3C273XC1.fits (EPOCH 1950) a rotation about w fitted
between the file's uvw and rigorous uvw from the antennas leaves −6.8″ for B1950, −95″ for
the true frame of date and −128″ for J2000: the file's uvw are B1950, and read back they
match rigorous J2000 uvw to 3e-5 of the baseline (tests/datamodels/test_dm_uvfits_3c273.py,
which also shows that the file's uvw belong to 5 s, half its 10 s averaging, before each
time stamp; the reader leaves that as it is).
"""

from __future__ import annotations

import os

from ..visibility import Visibility
from .uvfits_chunks import uvfits_index
from .uvfits_tables import UVFITSError

__all__ = ["read_uvfits"]


def read_uvfits(
    path,
    field=None,
    spw=None,
    channels=None,
    pol=None,
    include_autocorrelations: bool = False,
    diameter=None,
) -> list[Visibility]:
    """Read a UVFITS file into a list of Visibility, one per source × IF.

    Parameters
    ----------
    path : str or os.PathLike
    field : int, str or list of those, optional
        Source ids (SU table ``ID. NO.``, 1-based; a single-source file has id 1) or names.
    spw : int or list of int, optional
        IF indices (0-based).
    channels : slice or int array, optional
    pol : str or PolarisationFrame, optional
        Convert to this frame; default the file's products in uvflow order (RR LL RL LR →
        circular RR RL LR LL).
    include_autocorrelations : bool
    diameter : float or array, optional
        Dish diameters in metres; default from the AN table, else the known array's.

    Returns
    -------
    list of Visibility
        complex64 ``vis`` converted to MS conventions (module docstring: uvw = −uvw_file
        turned from the file's epoch to J2000, vis = conj(vis_file)), ``weight`` = ``|w|``
        of the COMPLEX axis's third element, flagged where w ≤ 0; time MJD seconds UTC;
        ``meta['uvfits_groups']`` int64 [ntime, nbaseline] the group index of each cell
        (−1 where filled), ``meta['uvfits_equinox']`` the epoch of the file's coordinates.

    Raises
    ------
    UVFITSError
        Not a random-groups UVFITS file, no AN table, unknown source/IF, several subarrays.
    PolarisationError
        ``pol`` cannot be formed from the file's products.

    See Also
    --------
    uvflow.datamodels.io.uvfits_index : the same reading, as chunks that load where they run.
    """
    parts = uvfits_index(path, field=field, spw=spw, pol=pol, diameter=diameter,
                         include_autocorrelations=include_autocorrelations)  # fmt: skip
    out = [part.chunk(channels=channels).load() for part in parts]
    if not out:
        raise UVFITSError(
            f"{os.fspath(path)!r}: the selection (field={field!r}, spw={spw!r}) holds no data"
        )
    return out
