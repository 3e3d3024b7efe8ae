"""WSClean's options of ``uvflow image`` beyond the common ones, with WSClean's meaning.

- ``-gridder NAME`` / ``-use-wgridder``: WSClean's gridder names; ``wgridder``,
  ``tuned-wgridder`` and ``wstacking`` are ducc0's w-corrected wgridder (uvflow's ``ng``);
  ``idg`` and ``direct-ft`` are not available (an error says so).
- ``-small-inversion`` / ``-no-small-inversion``: the gridder's small inversion (an image
  smaller than the field the gridder needs is cut from a larger one) on or off; uvflow's is
  exact to ``-accuracy`` either way, so this changes the time, not the image.
- ``-padding P``: accepted; ducc0 chooses its own grid oversampling for the requested
  ``-accuracy``, so the padding changes nothing (logged).
- ``-parallel-deconvolution N``: the facet-parallel minor cycle with facets of at most N
  pixels (the whole image cleaned).
- ``-multiscale-scale-bias B``: multi-scale's preference for small scales.
- ``-fit-spectral-pol N`` (with ``-join-channels``): N Taylor terms across the channels.
- ``-channel-range A B``: only channels A to B − 1 of each input.
- ``-intervals-out K``: K images, each of one K-th of the integrations (``<name>-t0000-…``).
- ``-save-source-list``: the clean components as ``<name>-sources.txt`` in WSClean's text
  format.
- ``-predict``: no imaging: the model images ``<name>[-NNNN|-MFS]-model.fits`` are
  predicted into MODEL_DATA.
- ``-continue``: the cleaning starts from ``<name>[-NNNN|-MFS]-model.fits``.
- ``-reuse-psf PREFIX`` / ``-reuse-dirty PREFIX``: the PSF / dirty images of an earlier run
  (``<PREFIX>[-NNNN|-MFS]-psf.fits``, ``-dirty.fits``) instead of computing them.
- ``-apply-primary-beam`` (``-primary-beam-limit L``): ``<name>[-MFS]-pb.fits``, the primary
  beam of the MS's telescope at each image's frequency (VLA, MeerKAT, SKA-Mid, SKA-Low:
  :mod:`uvflow.imaging.primary_beam`), and ``<name>[-MFS]-image-pb.fits`` (without
  cleaning ``-dirty-pb``), the image divided by it, NaN where the beam is below L.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .errors import CLIError

__all__ = [
    "add_wsclean_arguments",
    "resolve_wsclean",
    "parallel_facets",
    "read_products",
    "source_list",
]

log = logging.getLogger(__name__)

#: WSClean's gridder names → uvflow's gridder (None: not available)
GRIDDERS = {"wgridder": "ng", "tuned-wgridder": "ng", "wstacking": "ng", "idg": None,
            "direct-ft": None}  # fmt: skip


def add_wsclean_arguments(p) -> None:
    """The options of the module notes."""
    g = p.add_argument_group("WSClean options")
    g.add_argument("--use-wgridder", "-use-wgridder", action="store_true",
                   help="ducc0's wgridder (what uvflow always uses)")  # fmt: skip
    g.add_argument("--small-inversion", "-small-inversion", dest="small_inversion",
                   action="store_true", default=None, help="the gridder's small inversion on")  # fmt: skip
    g.add_argument("--no-small-inversion", "-no-small-inversion", dest="small_inversion",
                   action="store_false", help="the gridder's small inversion off")  # fmt: skip
    g.add_argument("--padding", "-padding", type=float, default=None, metavar="P",
                   help="accepted: ducc0 chooses its own padding for -accuracy")  # fmt: skip
    g.add_argument("--parallel-deconvolution", "-parallel-deconvolution", type=int,
                   default=None, metavar="N",
                   help="clean in facets of at most N pixels, in parallel")  # fmt: skip
    g.add_argument("--multiscale-scale-bias", "-multiscale-scale-bias", type=float,
                   default=None, metavar="B", help="multi-scale's small-scale bias (0.6)")  # fmt: skip
    g.add_argument("--fit-spectral-pol", "-fit-spectral-pol", type=int, default=None,
                   metavar="N", help="with -join-channels: N Taylor terms across channels")  # fmt: skip
    g.add_argument("--channel-range", "-channel-range", type=int, nargs=2, default=None,
                   metavar=("A", "B"), help="only channels A to B-1 of each input")  # fmt: skip
    g.add_argument("--intervals-out", "-intervals-out", type=int, default=None, metavar="K",
                   help="K images of consecutive time intervals (<name>-t0000-...)")  # fmt: skip
    g.add_argument("--save-source-list", "-save-source-list", action="store_true",
                   help="the components as <name>-sources.txt (WSClean's format)")  # fmt: skip
    g.add_argument("--predict", "-predict", action="store_true",
                   help="predict <name>-model.fits into MODEL_DATA; no imaging")  # fmt: skip
    g.add_argument("--continue", "-continue", dest="continue_", action="store_true",
                   help="start cleaning from <name>-model.fits")  # fmt: skip
    g.add_argument("--reuse-psf", "-reuse-psf", default=None, metavar="PREFIX",
                   help="take the PSF from <PREFIX>-psf.fits")  # fmt: skip
    g.add_argument("--reuse-dirty", "-reuse-dirty", default=None, metavar="PREFIX",
                   help="take the dirty image from <PREFIX>-dirty.fits")  # fmt: skip
    g.add_argument("--apply-primary-beam", "-apply-primary-beam", action="store_true",
                   help="also write <name>-pb.fits (the telescope's primary beam) and "
                   "<name>-image-pb.fits (the image divided by it)")  # fmt: skip
    g.add_argument("--primary-beam-limit", "-primary-beam-limit", type=float, default=0.005,
                   metavar="L", help="blank (NaN) the -pb image where the beam is below L "
                   "(default 0.005)")  # fmt: skip


def resolve_wsclean(args) -> None:
    """Check the options and turn them into uvflow's (in ``args``); CLIError if bad."""
    if args.gridder in GRIDDERS:
        mapped = GRIDDERS[args.gridder]
        if mapped is None:
            raise CLIError(f"-gridder {args.gridder} is not available in uvflow; use "
                           "-gridder wgridder (ducc0, to -accuracy)")  # fmt: skip
        args.gridder = mapped
    if args.use_wgridder:
        args.gridder = "ng"
    if args.padding is not None:
        if not args.padding >= 1.0:
            raise CLIError(f"-padding must be >= 1, got {args.padding}")
        log.info("-padding %g: ducc0 chooses its own padding for -accuracy %g; ignored",
                 args.padding, args.accuracy)  # fmt: skip
    checks = [
        (args.parallel_deconvolution is None or args.parallel_deconvolution >= 32,
         "-parallel-deconvolution must be >= 32 pixels"),
        (args.multiscale_scale_bias is None or 0 <= args.multiscale_scale_bias < 1,
         "-multiscale-scale-bias must be in [0, 1)"),
        (args.fit_spectral_pol is None or args.join_channels,
         "-fit-spectral-pol needs -join-channels"),
        (args.fit_spectral_pol is None or args.fit_spectral_pol >= 1,
         "-fit-spectral-pol must be >= 1"),
        (args.channel_range is None or 0 <= args.channel_range[0] < args.channel_range[1],
         "-channel-range A B needs 0 <= A < B"),
        (args.intervals_out is None or args.intervals_out >= 1, "-intervals-out must be >= 1"),
        (not (args.predict and args.continue_), "-predict and -continue exclude each other"),
        (not (args.intervals_out and args.intervals_out > 1 and (args.predict or args.continue_)),
         "-intervals-out cannot be combined with -predict or -continue"),
    ]  # fmt: skip
    for ok, message in checks:
        if not ok:
            raise CLIError(message)
    if args.fit_spectral_pol is not None:
        args.nmoment = args.fit_spectral_pol


def parallel_facets(size: int | None, npixel: int) -> int:
    """Facets per axis for ``-parallel-deconvolution size`` on an ``npixel`` image (1: none)."""
    if not size:
        return 1
    return max(1, -(-int(npixel) // int(size)))


def _product_path(prefix: str, kind: str, channel) -> Path:
    tag = (
        "" if channel is None else f"-{channel}" if isinstance(channel, str) else f"-{channel:04d}"
    )
    return Path(f"{prefix}{tag}-{kind}.fits")


def read_products(prefix: str, kind: str, templates: list, option: str) -> list:
    """Per band, the ``kind`` image an earlier run wrote (its channels), on the band's grid.

    One band: ``<prefix>-<kind>.fits``; several: ``<prefix>-NNNN-<kind>.fits`` per output
    channel. Each must have the band template's size.
    """
    from uvflow.datamodels import import_image_from_fits

    nchan = sum(t.nchan for t in templates)
    out, k = [], 0
    for template in templates:
        planes = []
        for _ in range(template.nchan):
            path = _product_path(prefix, kind, None if nchan == 1 else k)
            if not path.is_file():
                raise CLIError(f"{option}: {path} does not exist (written by an earlier run "
                               "with the same -name, -size and -channels-out?)")  # fmt: skip
            image = import_image_from_fits(path)
            if image.data.shape[-2:] != template.data.shape[-2:]:
                raise CLIError(f"{option}: {path} is {image.nx} x {image.ny} pixels; the image "
                               f"is {template.nx} x {template.ny}")  # fmt: skip
            planes.append(np.asarray(image.data[0], dtype=np.float64))
            k += 1
        data = np.stack(planes)[:, : template.npol]
        out.append(template.replace(data=data, wcs=template.wcs.deepcopy()))
    return out


def source_list(model, reference_frequency: float) -> str:
    """The components of a model image [1, npol, ny, nx] (Jy/pixel) in WSClean's text format.

    Every nonzero pixel of the first plane is a point component of Stokes I flux (its
    value), at the pixel's direction; WSClean's header line names the columns.
    """
    from astropy import units as u

    plane = np.asarray(model.data[0, 0])
    ys, xs = np.nonzero(plane)
    lines = [
        "Format = Name, Type, Ra, Dec, I, SpectralIndex, LogarithmicSI, "
        f"ReferenceFrequency='{reference_frequency:.6f}', MajorAxis, MinorAxis, Orientation"
    ]
    if ys.size:
        sky = model.pixel_to_sky(xs, ys)
        ras = sky.ra.to_string(unit=u.hourangle, sep=":", precision=3, pad=True)
        decs = sky.dec.to_string(unit=u.deg, sep=".", precision=3, pad=True, alwayssign=True)
        for i, (ra, dec, flux) in enumerate(zip(ras, decs, plane[ys, xs])):
            lines.append(f"s0c{i},POINT,{ra},{dec},{float(flux)!r},[],false,"
                         f"{reference_frequency:.6f},,,")  # fmt: skip
    return "\n".join(lines) + "\n"
