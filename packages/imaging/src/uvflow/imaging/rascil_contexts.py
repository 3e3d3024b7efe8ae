"""RASCIL's imaging context names, and the ducc0 gridder each one means in uvflow.

RASCIL chose among several imaging algorithms by ``context``; some handled the w-term by
projection, time slices or image-plane facets. uvflow grids with ducc0's wgridder, which
corrects the w-term exactly by w-stacking to the requested ``epsilon`` at any field size,
so every RASCIL context maps to a ducc0 gridder here; faceting is the separate ``facets``
keyword (with any context). A RASCIL name that is not also an installed gridder is replaced
by its ducc0 gridder, logged once per process:

=================== ======== ===========================================================
RASCIL context      gridder  why
=================== ======== ===========================================================
'2d'                '2d'     the same (no w-correction)
'ng', 'wstack'      'ng'     the same (ducc0, w-stacking)
'timeslice'         'ng'     w-stacking corrects w at every time: no time slicing needed
'wprojection'       'ng'     w-stacking in place of w-projection kernels
'wprojectwstack'    'ng'     the same
'facets'            '2d'     2D facets: give ``facets=N`` (each facet about its centre)
'facets_wstack'     'ng'     facets with w-correction: give ``facets=N``
'facets_timeslice'  'ng'     the same
'facets_wprojection' 'ng'    the same
=================== ======== ===========================================================
"""

from __future__ import annotations

import logging

__all__ = ["RASCIL_CONTEXTS", "gridder_name"]

log = logging.getLogger(__name__)

#: RASCIL context -> (uvflow gridder, what uvflow does instead)
RASCIL_CONTEXTS = {
    "timeslice": ("ng", "ducc0's w-stacking corrects the w-term at every time to epsilon, "
                  "so no time slicing is needed"),
    "wprojection": ("ng", "ducc0's w-stacking corrects the w-term to epsilon in place of "
                    "w-projection kernels"),
    "wprojectwstack": ("ng", "ducc0's w-stacking corrects the w-term to epsilon"),
    "facets": ("2d", "image-plane facets are the facets keyword (facets=N), with any context"),
    "facets_wstack": ("ng", "image-plane facets are the facets keyword (facets=N); ducc0 "
                      "corrects the w-term of each facet"),
    "facets_timeslice": ("ng", "image-plane facets are the facets keyword (facets=N); "
                         "ducc0 corrects the w-term of each facet"),
    "facets_wprojection": ("ng", "image-plane facets are the facets keyword (facets=N); "
                           "ducc0 corrects the w-term of each facet"),
}  # fmt: skip

_LOGGED: set = set()


def gridder_name(context: str, installed) -> str:
    """The gridder to build for ``context``: itself when installed, else its RASCIL mapping.

    Parameters
    ----------
    context : str
        A gridder name or a RASCIL context name.
    installed : collection of str
        The installed gridders (an installed plugin of a RASCIL name wins).

    Returns
    -------
    str
        ``context`` unchanged when it is installed or not a RASCIL name (an unknown name is
        then refused by the plugin loader, listing what is installed).
    """
    if context in installed or context not in RASCIL_CONTEXTS:
        return context
    gridder, why = RASCIL_CONTEXTS[context]
    if context not in _LOGGED:
        _LOGGED.add(context)
        log.info("context %r (RASCIL) runs as gridder %r: %s", context, gridder, why)
    return gridder
