"""Encoder objects: an encoding function with its arguments bound, for datasets.

``Encoder(*args, **kwargs)`` keeps ``enc_args`` and ``enc_kwargs``; calling it on a
datum ``x`` returns ``enc(x, *enc_args, **enc_kwargs)``. The subclasses bind the
functions of :mod:`snnc.encoding.encodings` (their equations are listed there):
``SingleEncoder`` → ``single``, ``RepeatEncoder`` → ``repeat``, ``BernoulliEncoder``
→ ``bernoulli``, ``PoissonEncoder`` → ``poisson``, ``PoissonProcessEncoder`` →
``poisson_process``, ``RankOrderEncoder`` →
``rank_order``; ``NullEncoder`` returns the datum itself. The arguments are checked
when the encoder is built (an unknown keyword or a time giving no step fails there,
not at the first sample).
"""
from __future__ import annotations

import inspect

from snnc.encoding import encodings
from snnc.errors import SnncError


class Encoder:
    """Base class: stores the encoding's arguments. A subclass sets ``enc`` (a function
    ``enc(datum, *args, **kwargs)``), as a class attribute ``function`` or on the
    instance after calling ``super().__init__``."""

    function = None

    def __init__(self, *args, **kwargs) -> None:
        self.enc_args = args
        self.enc_kwargs = kwargs
        function = type(self).function
        if function is not None:
            self.enc = function
            try:
                inspect.signature(function).bind(None, *args, **kwargs)
            except TypeError as error:
                raise SnncError(f"{type(self).__name__}: bad arguments for {function.__name__} "
                                f"({error})") from None

    def __call__(self, img):
        enc = getattr(self, "enc", None)
        if enc is None:
            raise SnncError(f"{type(self).__name__} has no encoding function: subclass Encoder "
                            "and set `enc`, or use one of snnc.encoding's encoders")
        return enc(img, *self.enc_args, **self.enc_kwargs)

    def __repr__(self) -> str:
        parts = [repr(arg) for arg in self.enc_args]
        parts += [f"{key}={value!r}" for key, value in self.enc_kwargs.items()]
        return f"{type(self).__name__}({', '.join(parts)})"


class NullEncoder(Encoder):
    """Returns the datum unchanged (the dataset default)."""

    def __init__(self) -> None:
        super().__init__()

    def __call__(self, img):
        return img


class _TimedEncoder(Encoder):
    def __init__(self, time, dt=1.0, **kwargs) -> None:
        super().__init__(time, dt=dt, **kwargs)
        encodings._steps(time, dt, type(self).__name__)


class SingleEncoder(_TimedEncoder):
    """:func:`~snnc.encoding.encodings.single`: one spike at t = 0 for the features above
    the ``1 - sparsity`` quantile."""

    function = staticmethod(encodings.single)

    def __init__(self, time, dt: float = 1.0, sparsity: float = 0.5, **kwargs) -> None:
        super().__init__(time, dt=dt, sparsity=sparsity, **kwargs)


class RepeatEncoder(_TimedEncoder):
    """:func:`~snnc.encoding.encodings.repeat`: the datum repeated ``time / dt`` times."""

    function = staticmethod(encodings.repeat)

    def __init__(self, time, dt: float = 1.0, **kwargs) -> None:
        super().__init__(time, dt=dt, **kwargs)


class BernoulliEncoder(_TimedEncoder):
    """:func:`~snnc.encoding.encodings.bernoulli` (keywords such as ``max_prob`` are
    passed on); ``time=None`` gives one sample of the datum's shape."""

    function = staticmethod(encodings.bernoulli)

    def __init__(self, time, dt: float = 1.0, **kwargs) -> None:
        if time is None:
            Encoder.__init__(self, time, dt=dt, **kwargs)
        else:
            super().__init__(time, dt=dt, **kwargs)


class PoissonEncoder(_TimedEncoder):
    """:func:`~snnc.encoding.encodings.poisson`: the datum read as firing rates in Hz."""

    function = staticmethod(encodings.poisson)

    def __init__(self, time, dt: float = 1.0, approx: bool = False, **kwargs) -> None:
        super().__init__(time, dt=dt, approx=approx, **kwargs)


class PoissonProcessEncoder(_TimedEncoder):
    """:func:`~snnc.encoding.encodings.poisson_process`: the datum read as firing rates
    in Hz, one Bernoulli draw per step (snnc's; BindsNET has no such encoder)."""

    function = staticmethod(encodings.poisson_process)


class RankOrderEncoder(_TimedEncoder):
    """:func:`~snnc.encoding.encodings.rank_order`: one spike per feature, brighter
    earlier."""

    function = staticmethod(encodings.rank_order)

    def __init__(self, time, dt: float = 1.0, **kwargs) -> None:
        super().__init__(time, dt=dt, **kwargs)
