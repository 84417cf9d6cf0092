"""Default clients: the real accounts when credentials are set, else the embedded sandbox.

Example:
    >>> import os
    >>> from enstoolkit.config import connect
    >>> conn = connect(environ={})          # no credentials: the sandbox
    >>> conn.describe()
    'ENS: the enstoolkit sandbox (synthetic data). Encharge: the enstoolkit sandbox (synthetic data).'
"""

from __future__ import annotations

import atexit
import datetime as dt
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..encharge import EnchargeClient
from ..ens import ENSClient
from ..errors import ConfigurationError
from ..inputs.arguments import is_loopback

if TYPE_CHECKING:
    from ..sandbox import Sandbox

__all__ = ["Connection", "connect", "default_sandbox"]

_lock = threading.Lock()
_sandbox: Sandbox | None = None
_spec: tuple[int, int, object] | None = None


def default_sandbox(supporters: int = 5000, seed: int = 0, variant: str | None = None) -> Sandbox:
    """The process's shared sandbox, started on first use and stopped at exit.

    ``variant`` chooses the account's shapes (see :mod:`enstoolkit.sandbox.variants`); asking
    for a different size, seed or variant than the running one starts a new sandbox.

    Example:
        >>> default_sandbox() is default_sandbox()
        True
    """
    global _sandbox
    from ..sandbox import Sandbox, Variant  # the [sandbox] extra, loaded only when it is needed

    global _spec
    spec = (supporters, seed, Variant.of(variant))
    with _lock:
        if _sandbox is not None and _spec != spec:
            _sandbox.stop()  # another account was asked for
            _sandbox = None
        if _sandbox is None:
            _sandbox = Sandbox(supporters=supporters, seed=seed, variant=spec[2]).start()
            _spec = spec
            atexit.register(_sandbox.stop)
        return _sandbox


@dataclass
class Connection:
    """The clients a notebook or panel works with, and where they point.

    Attributes:
        ens, encharge: the clients.
        sandbox: the sandbox they use, or ``None`` for real accounts.

    Example:
        >>> conn = connect(environ={})
        >>> conn.ens_real, conn.encharge_real, conn.sandbox is not None
        (False, False, True)
    """

    ens: ENSClient
    encharge: EnchargeClient
    sandbox: Sandbox | None
    ens_real: bool
    encharge_real: bool

    def describe(self) -> str:
        """One line saying what the clients talk to (never a key or a port).

        Example:
            >>> connect(environ={}).describe()
            'ENS: the enstoolkit sandbox (synthetic data). Encharge: the enstoolkit sandbox (synthetic data).'
        """
        sandbox = "the enstoolkit sandbox (synthetic data)"
        ens = "your account" if self.ens_real else sandbox
        enc = "your account" if self.encharge_real else sandbox
        return f"ENS: {ens}. Encharge: {enc}."

    def today(self) -> dt.date:
        """Today's date as ENS's clock has it (the ``Date`` of its answers): the sandbox's own date on the sandbox.

        Example:
            >>> connect(environ={}).today()
            datetime.date(2026, 10, 1)
        """
        if self.ens.server_clock.now_ms() is None:
            self.ens.get_fields()  # one answer gives the server's clock (and the fields are needed anyway)
        now = self.ens.server_clock.now_ms()
        if now is None:
            return dt.date.today()
        return dt.datetime.fromtimestamp(now[0] / 1000, dt.UTC).date()

    def close(self) -> None:
        """Close both clients.

        Example:
            >>> conn = connect(environ={})
            >>> conn.ens.get_fields().height > 0
            True
            >>> conn.close()
        """
        self.ens.close()
        self.encharge.close()


def connect(*, supporters: int = 5000, seed: int = 0, variant: str | None = None,
            environ: Mapping[str, str] | None = None) -> Connection:
    """Clients for ENS and Encharge: from ``ENS_API_KEY`` and ``ENCHARGE_API_KEY`` when both are set, else a sandbox.

    One key without the other raises :class:`ConfigurationError` naming the missing one: the
    notebooks compare the two systems, and a real account beside the sandbox's made-up people
    would give a wrong answer.

    ``supporters``, ``seed`` and ``variant`` describe the sandbox, when one is used.
    ``ENS_DATE_ORDER`` ("dmy" or "mdy") says how the ENS account writes slash dates, for the
    files whose dates read both ways (see :mod:`enstoolkit.schemas.date_order`); ``ENS_TIMEZONE`` the zone of the
    export files' times (US/Eastern unless set: :func:`enstoolkit.ens.readers.reporting_zone`).

    Example:
        >>> conn = connect(environ={})
        >>> conn.sandbox is not None
        True
    """
    env = os.environ if environ is None else environ
    ens_key, enc_key = env.get("ENS_API_KEY"), env.get("ENCHARGE_API_KEY")
    order = env.get("ENS_DATE_ORDER") or None
    zone = env.get("ENS_TIMEZONE") or None
    if _points_at_loopback(env.get("ENS_BASE_URL")) or _points_at_loopback(env.get("ENCHARGE_BASE_URL")):
        # a sandbox started elsewhere (e.g. by `enstoolkit demo`): use it, and say so
        ens = ENSClient(ens_key, env.get("ENS_BASE_URL"), date_order=order, timezone=zone) if ens_key else None
        encharge = EnchargeClient(enc_key, env.get("ENCHARGE_BASE_URL")) if enc_key else None
        if ens is not None and encharge is not None:
            return Connection(ens, encharge, None, False, False)
    if bool(ens_key) != bool(enc_key):
        given, missing = ("ENS_API_KEY", "ENCHARGE_API_KEY") if ens_key else ("ENCHARGE_API_KEY", "ENS_API_KEY")
        raise ConfigurationError(
            f"{given} is set but {missing} is not: set {missing} too, or unset {given} to work on the sandbox "
            "(one real account beside a synthetic one would compare real people with made-up ones)")
    sandbox = None if (ens_key and enc_key) else default_sandbox(supporters, seed, variant)
    if ens_key:
        ens = ENSClient(ens_key, env.get("ENS_BASE_URL"), date_order=order, timezone=zone)
    else:
        assert sandbox is not None
        ens = ENSClient(sandbox.ens_api_key, sandbox.ens_url, date_order=order, timezone=zone)
    if enc_key:
        encharge = EnchargeClient(enc_key, env.get("ENCHARGE_BASE_URL"))
    else:
        assert sandbox is not None
        encharge = EnchargeClient(sandbox.encharge_api_key, sandbox.encharge_url)
    return Connection(ens, encharge, sandbox, bool(ens_key), bool(enc_key))


def _points_at_loopback(url: str | None) -> bool:
    from urllib.parse import urlsplit

    return bool(url) and is_loopback(urlsplit(url or "").hostname or "")
