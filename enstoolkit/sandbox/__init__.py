"""A faithful local emulator of the ENS and Encharge APIs on loopback.

One HTTP server (Starlette on uvicorn, in a background thread) serves ENS under
``/ens/service`` and Encharge under ``/v1``, with seeded, deterministic synthetic data and a clock that
starts at a fixed moment and then runs (:class:`~enstoolkit.sandbox.clock.SandboxClock`). It is what
the demo, the notebooks and every test run against. It needs the ``[sandbox]`` extra.
"""

from .clock import SandboxClock
from .core import Sandbox
from .data import DEFAULT_NOW
from .faults import Faults
from .variants import PRESETS, Variant

__all__ = ["DEFAULT_NOW", "PRESETS", "Faults", "Sandbox", "SandboxClock", "Variant"]
