"""Proxies in CPython: through the one the environment names, as a browser
goes through the system's, or the one ``proxy=`` names.

``proxy=True`` (the default) follows the environment, in websockets' order
(:func:`websockets.proxy.get_proxy`, on top of ``urllib.request``'s reading
of the variables, upper- or lower-case): ``WSS_PROXY`` / ``WS_PROXY``, then
``SOCKS_PROXY``, then ``HTTPS_PROXY``, then for ``ws:`` ``HTTP_PROXY``; and
then, as curl does, ``ALL_PROXY`` when none of those is set. A host that
``NO_PROXY`` lists (``urllib.request.proxy_bypass``: host names, domain
suffixes, ``*``) is reached directly. ``proxy=None`` connects directly; a
URL connects through that proxy, whatever the environment says.

A proxy is ``http://[user:password@]host[:port]`` (an HTTP ``CONNECT``
tunnel, with Basic credentials from the URL) or ``socks5://``,
``socks5h://`` (the proxy resolves the host name), ``socks4://``,
``socks4a://`` (through python-socks: ``pip install 'pyws_shim[socks]'``).
An ``https://`` proxy (TLS to the proxy itself) is not supported: the
connection fails, saying so.

:func:`open_tunnel` returns a connected socket: the backend hands it to
``loop.create_connection(sock=...)``, which runs TLS (for ``wss:``) and the
WebSocket handshake through the tunnel. Whatever goes wrong on the way (the
proxy refuses the connection, answers ``407``, closes, or is not a proxy) is
raised from here; the backend fails the WebSocket connection with it as the
cause, so ``ConnectionClosed.__cause__`` says what happened.
"""

from __future__ import annotations

import asyncio
import socket
import urllib.request
from typing import Literal

from websockets.exceptions import InvalidProxyMessage, InvalidProxyStatus, ProxyError
from websockets.http11 import Response
from websockets.proxy import Proxy, get_proxy, parse_proxy, prepare_connect_request
from websockets.streams import StreamReader
from websockets.uri import WebSocketURI

__all__ = ["ProxySetting", "open_tunnel", "proxy_for"]

ProxySetting = str | Literal[True] | None
"""``proxy=``: ``True`` (the environment's), ``None`` (direct) or a proxy URL."""

_SOCKS = {"socks5h": (5, True), "socks5": (5, False), "socks4a": (4, True), "socks4": (4, False)}


def proxy_for(uri: WebSocketURI, setting: ProxySetting) -> str | None:
    """The proxy URL to go through for ``uri`` (``None``: connect directly)."""
    if setting is not True:
        return setting
    proxy = get_proxy(uri)
    if proxy is None and not urllib.request.proxy_bypass(f"{uri.host}:{uri.port}"):
        proxy = urllib.request.getproxies().get("all")  # ALL_PROXY
    return proxy


async def open_tunnel(
    uri: WebSocketURI, setting: ProxySetting, *, user_agent: str | None
) -> socket.socket | None:
    """A socket connected to ``uri``'s host and port through the proxy that
    ``setting`` selects, or ``None`` when the connection is direct.

    ``user_agent`` goes in the ``CONNECT`` request, as browsers send theirs.
    """
    url = proxy_for(uri, setting)
    if url is None:
        return None
    proxy = parse_proxy(url)
    if proxy.scheme in _SOCKS:
        return await _socks(proxy, uri)
    if proxy.scheme == "http":
        return await _http_connect(proxy, uri, user_agent)
    raise ProxyError(
        f"{proxy.scheme}:// proxies are not supported (only http://, socks5://, "
        f"socks5h://, socks4:// and socks4a://): {url}"
    )


async def _http_connect(proxy: Proxy, uri: WebSocketURI, user_agent: str | None) -> socket.socket:
    """RFC 9110 9.3.6: ``CONNECT host:port``; any 2xx answer opens the tunnel."""
    loop = asyncio.get_running_loop()
    sock = await _tcp(proxy.host, proxy.port)
    try:
        await loop.sock_sendall(sock, prepare_connect_request(proxy, uri, user_agent))
        reader = StreamReader()
        parser = Response.parse(reader.read_line, reader.read_exact, reader.read_to_eof, proxy=True)
        while True:
            data = await loop.sock_recv(sock, 4096)
            if data:
                reader.feed_data(data)
            else:
                reader.feed_eof()
            try:
                next(parser)
            except StopIteration as done:
                response: Response = done.value
                break
            except EOFError as exc:
                raise InvalidProxyMessage(
                    "the proxy closed the connection without answering CONNECT"
                ) from exc
            except Exception as exc:
                raise InvalidProxyMessage(
                    "did not receive a valid HTTP response from the proxy"
                ) from exc
        if not 200 <= response.status_code < 300:
            raise InvalidProxyStatus(response)
        if reader.buffer:
            # The server speaks only once the WebSocket handshake is sent.
            raise InvalidProxyMessage("the proxy sent data after its response to CONNECT")
    except BaseException:
        sock.close()
        raise
    return sock


async def _socks(proxy: Proxy, uri: WebSocketURI) -> socket.socket:
    try:
        from python_socks import ProxyType
        from python_socks.async_.asyncio import Proxy as SocksProxy
    except ImportError as exc:
        raise ProxyError(
            f"a {proxy.scheme}:// proxy needs python-socks: pip install 'pyws_shim[socks]'"
        ) from exc
    version, remote_dns = _SOCKS[proxy.scheme]
    socks = SocksProxy(
        ProxyType.SOCKS5 if version == 5 else ProxyType.SOCKS4,
        proxy.host,
        proxy.port,
        proxy.username,
        proxy.password,
        remote_dns,
    )
    # python-socks raises ProxyConnectionError (an OSError) when the proxy
    # cannot be reached and ProxyError when it refuses; both are the cause.
    return await socks.connect(uri.host, uri.port)


async def _tcp(host: str, port: int) -> socket.socket:
    """A non-blocking socket connected to ``host:port`` (each address in turn)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    errors: list[OSError] = []
    for family, kind, protocol, _, address in infos:
        sock = socket.socket(family, kind, protocol)
        try:
            sock.setblocking(False)
            await loop.sock_connect(sock, address)
        except OSError as exc:
            sock.close()
            errors.append(exc)
        except BaseException:
            sock.close()
            raise
        else:
            return sock
    if len(errors) == 1:
        raise errors[0]
    raise OSError(f"cannot connect to the proxy at {host}:{port}: {errors}")
