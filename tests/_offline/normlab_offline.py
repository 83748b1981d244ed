"""Block network access from Python code: only loopback and Unix-domain sockets may connect.

The course must run without a network (a classroom, a train, a locked-down JupyterHub), so the test
suite runs every notebook kernel with this guard installed. :func:`install` wraps
``socket.socket.connect``/``connect_ex``/``sendto``/``sendmsg`` and ``socket.getaddrinfo``:

* AF_UNIX sockets and the loopback addresses (127.0.0.0/8, ::1) are allowed, so Jupyter, ZeroMQ, a
  local browser test and Docker's socket keep working;
* any other address, and resolving any host name other than ``localhost``, raises
  :class:`NetworkBlockedError` (a subclass of ``OSError``, like a real network failure) *before*
  a packet is sent.

Everything that talks to the network from Python (urllib, http.client, requests, asyncio, ssl)
goes through these calls. The hygiene test separately forbids shell escapes and ``subprocess`` in
notebooks, which is how a notebook could reach the network without Python sockets.
"""

from __future__ import annotations

import ipaddress
import socket

__all__ = ["NetworkBlockedError", "install", "installed", "is_allowed_address", "is_allowed_host"]

_MARK = "_normlab_offline"
LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


class NetworkBlockedError(OSError):
    """Raised instead of opening a connection to a non-loopback address."""


def is_allowed_host(host) -> bool:
    """Whether resolving ``host`` stays on this machine (no DNS query leaves it)."""
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).strip().rstrip(".").lower()
    if host in ("",) or host in LOCAL_NAMES or host.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return True  # a literal address needs no DNS; connect() decides whether it may be used


def is_allowed_address(family, address) -> bool:
    """Whether a socket of ``family`` may connect/send to ``address``."""
    if family == getattr(socket, "AF_UNIX", object()) or isinstance(address, (str, bytes)):
        return True  # Unix-domain socket path
    if not isinstance(address, tuple) or not address:
        return False
    host = address[0]
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).split("%")[0]
    if host.lower() in LOCAL_NAMES:
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def _blocked(what) -> NetworkBlockedError:
    return NetworkBlockedError(f"network access is blocked in NormLab tests (NORMLAB_OFFLINE=1): {what!r}")


def installed() -> bool:
    return getattr(socket.socket.connect, _MARK, False)


def install() -> None:
    """Install the guard in this process (idempotent)."""
    if installed():
        return
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex
    original_sendto = socket.socket.sendto
    original_sendmsg = getattr(socket.socket, "sendmsg", None)
    original_getaddrinfo = socket.getaddrinfo

    def connect(self, address):
        if not is_allowed_address(self.family, address):
            raise _blocked(address)
        return original_connect(self, address)

    def connect_ex(self, address):
        if not is_allowed_address(self.family, address):
            raise _blocked(address)
        return original_connect_ex(self, address)

    def sendto(self, data, *args):
        address = args[-1]
        if not is_allowed_address(self.family, address):
            raise _blocked(address)
        return original_sendto(self, data, *args)

    def sendmsg(self, buffers, ancdata=(), flags=0, address=None):
        if address is not None and not is_allowed_address(self.family, address):
            raise _blocked(address)
        if address is None:
            return original_sendmsg(self, buffers, ancdata, flags)
        return original_sendmsg(self, buffers, ancdata, flags, address)

    def getaddrinfo(host, *args, **kwargs):
        if not is_allowed_host(host):
            raise socket.gaierror(socket.EAI_NONAME, f"name resolution is blocked in NormLab tests: {host!r}")
        return original_getaddrinfo(host, *args, **kwargs)

    for wrapper in (connect, connect_ex, sendto, sendmsg, getaddrinfo):
        setattr(wrapper, _MARK, True)
    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.socket.sendto = sendto
    if original_sendmsg is not None:
        socket.socket.sendmsg = sendmsg
    socket.getaddrinfo = getaddrinfo
