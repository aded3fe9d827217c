"""snnc.nir: NIR interchange (the Neuromorphic Intermediate Representation, ``nir``).

* :func:`export` / :func:`write`: an snnc ``Network`` as a ``nir.NIRGraph`` (HDF5 file);
* :func:`load`: a ``nir.NIRGraph`` or HDF5 file as a ``Network``, to run with
  ``one_step=True`` (NIR's edges are instantaneous).

How NIR's ODEs become snnc's per-step updates (forward Euler with step ``dt``), and
what is refused, is in docs/nir.md. ``nir`` is an optional extra: ``snnc[nir]``.
"""
from snnc.nir.export import export, write
from snnc.nir.load import load

__all__ = ["export", "load", "write"]
