"""Webhook endpoints over HTTP (httpx): an endpoint URL's form and the addresses
its host resolves to, checked when it is registered and again at every attempt,
and the attempt itself, made to the very address that was checked.

NOTE: an attempt resolves the host once, refuses it if any address is of a kind
not allowed (server-side request forgery: loopback, private, link-local, ...;
domain/webhooks.py), and connects to one of those addresses with the URL's host
kept in ``Host`` and in TLS (SNI and the certificate check): a name that
resolves elsewhere by the time of the connection (DNS rebinding) cannot lead it
anywhere else. Redirects are not followed and no proxy from the environment is
used, for the same reason.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import certifi
import httpx

from seatledger.domain.errors import InvalidInput
from seatledger.domain.webhooks import MAX_URL_LENGTH, address_refusal

USER_AGENT = "seatledger-webhooks/1"

# host, port -> the host's addresses (IP address strings, in the resolver's order)
Resolve = Callable[[str, int], list[str]]


def system_resolve(host: str, port: int) -> list[str]:
    """The host's addresses as the system resolver gives them (an IP address:
    itself); socket.gaierror when it has none."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def endpoint_url(url: str) -> httpx.URL:
    """An endpoint URL as attempts will use it: http or https, a host, a port
    in range, at most MAX_URL_LENGTH characters, no spaces or control
    characters. InvalidInput naming ``url`` otherwise."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"url is over {MAX_URL_LENGTH} characters", field="url")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise InvalidInput("url has spaces or control characters", field="url")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as wrong:
        raise InvalidInput(f"url is not a URL: {wrong}", field="url") from None
    if parsed.scheme not in ("http", "https"):
        raise InvalidInput("url must be an http:// or https:// URL", field="url")
    if not parsed.raw_host:
        raise InvalidInput("url has no host", field="url")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise InvalidInput(f"url's port {parsed.port} is not a TCP port", field="url")
    return parsed


def _host_and_port(url: httpx.URL) -> tuple[str, int]:
    return url.raw_host.decode("ascii"), url.port or (443 if url.scheme == "https" else 80)


class Refused(Exception):
    """An endpoint that may not be reached (the reason is the message)."""


class WebhookAddresses:
    """Resolves endpoint hosts and judges their addresses: ``allowed`` is the
    kinds of non-public address allowed (SEATLEDGER_WEBHOOK_ALLOW_PRIVATE)."""

    def __init__(self, allowed: frozenset[str] = frozenset(), *, resolve: Resolve = system_resolve):
        self.allowed = allowed
        self.resolve = resolve

    def addresses(self, url: httpx.URL) -> list[str]:
        """Every address of the URL's host, if each may be reached; Refused
        with the reason otherwise (or when the host does not resolve)."""
        host, port = _host_and_port(url)
        try:
            found = self.resolve(host, port)
        except (OSError, UnicodeError) as failure:
            raise Refused(f"the host {host} does not resolve ({failure})") from None
        if not found:
            raise Refused(f"the host {host} does not resolve")
        for address in found:
            refusal = address_refusal(address, self.allowed)
            if refusal is not None:
                if address == host:
                    raise Refused(f"{address} is {refusal}")
                raise Refused(f"the host {host} resolves to {address}, {refusal}")
        return found

    def check(self, url: str) -> str:
        """The URL, if an endpoint may be registered at it (its form, then its
        addresses); InvalidInput naming ``url`` otherwise."""
        parsed = endpoint_url(url)
        try:
            self.addresses(parsed)
        except Refused as refused:
            raise InvalidInput(f"url refused: {refused}", field="url") from None
        return url


@dataclass(frozen=True)
class Outcome:
    """What an attempt got: the answer's status, or why there was none."""

    status_code: int | None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class HttpxSender:
    """Makes attempts: one POST, within ``timeout`` seconds all told (DNS,
    connection, TLS, the answer's status line and headers; the answer's body
    is not read). Never raises: every failure is an Outcome."""

    def __init__(self, addresses: WebhookAddresses) -> None:
        self.addresses = addresses
        self._tls = ssl.create_default_context(cafile=certifi.where())

    def send(self, url: str, *, headers: dict[str, str], body: bytes, timeout: float) -> Outcome:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # no event loop in this thread: the attempt runs here
            return self._run(url, headers, body, timeout)
        # called from a thread that runs an event loop (asyncio.run would refuse):
        # the attempt runs on a thread of its own, this one waits for it
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="webhook-attempt") as pool:
            return pool.submit(self._run, url, headers, body, timeout).result()

    def _run(self, url: str, headers: dict[str, str], body: bytes, timeout: float) -> Outcome:
        try:
            return asyncio.run(self._send(url, headers, body, timeout))
        except Exception as failure:  # pragma: no cover - a bug, recorded as the attempt's error
            return Outcome(None, f"{type(failure).__name__}: {failure}")

    async def _send(
        self, url: str, headers: dict[str, str], body: bytes, timeout: float
    ) -> Outcome:
        try:
            async with asyncio.timeout(timeout):
                return await self._post(url, headers, body, timeout)
        except TimeoutError:
            return Outcome(None, f"no answer within {timeout:g} s")
        except InvalidInput as wrong:
            return Outcome(None, wrong.message)
        except Refused as refused:
            return Outcome(None, f"refused: {refused}")

    async def _post(
        self, url: str, headers: dict[str, str], body: bytes, timeout: float
    ) -> Outcome:
        parsed = endpoint_url(url)
        addresses = await asyncio.to_thread(self.addresses.addresses, parsed)
        host, _ = _host_and_port(parsed)
        request_headers = {
            **headers,
            "Host": parsed.netloc.decode("ascii"),
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }
        extensions = {"sni_hostname": host} if parsed.scheme == "https" else {}
        failure: Exception | None = None
        async with httpx.AsyncClient(
            verify=self._tls, trust_env=False, follow_redirects=False, timeout=timeout
        ) as client:
            for address in addresses:  # the first that takes the connection
                try:
                    async with client.stream(
                        "POST",
                        parsed.copy_with(host=address),
                        headers=request_headers,
                        content=body,
                        extensions=extensions,
                    ) as answer:
                        code = answer.status_code
                        return Outcome(code, None if 200 <= code < 300 else f"answered {code}")
                except httpx.ConnectError as refused:
                    failure = refused
                except httpx.TimeoutException:
                    return Outcome(None, f"no answer within {timeout:g} s")
                except httpx.HTTPError as broken:
                    return Outcome(None, f"{type(broken).__name__}: {broken}")
        return Outcome(None, f"could not connect: {failure}")
