"""The access log without query strings: Africa's Talking callbacks carry their secret token there."""

from __future__ import annotations

from aiohttp.abc import AbstractAccessLogger


class AccessLog(AbstractAccessLogger):
    def log(self, request, response, time: float) -> None:
        self.logger.info("%s %s %s %.1fms", request.method, request.path, response.status, time * 1000)
