"""A small HTTP client for the CLI: key resolution, JSON calls, and an SSE follower."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from evalpod.settings import get_settings

TERMINAL = {"validation_failed", "succeeded", "failed", "killed", "cancelled"}
QUIET_S = 1.5


class ClientError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        super().__init__(f"{status} {error.get('code', '')}: {error.get('message', body)}")
        self.status = status
        self.body = body


def api_key() -> str:
    key = os.environ.get("EVALPOD_API_KEY")
    if key:
        return key.strip()
    path: Path = get_settings().admin_key_path
    if not path.exists():
        raise ClientError(401, {"error": {"code": "UNAUTHORIZED",
                                          "message": f"no EVALPOD_API_KEY and no {path}"}})
    return path.read_text().strip()


@dataclass
class SseEvent:
    event: str
    data: str
    id: str | None


class Client:
    def __init__(self, base_url: str | None = None, key: str | None = None) -> None:
        self.base_url = (base_url or os.environ.get("EVALPOD_URL", "http://127.0.0.1:8000"))
        self.headers = {"Authorization": f"Bearer {key or api_key()}"}
        self.http = httpx.Client(base_url=self.base_url, headers=self.headers, timeout=30)

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.http.request(method, "/api/v1" + path, **kwargs)
        body = response.json() if response.content else {}
        if response.status_code >= 400:
            raise ClientError(response.status_code, body)
        return dict(body)


    def follow_logs(self, evaluation_id: str, *, follow: bool = True) -> Iterator[SseEvent]:
        """Yield log events until `end`; reconnects with Last-Event-ID after a drop.

        With `follow=False`, stop once the stream has been quiet for a moment: that is
        everything logged so far.
        """
        last_id: str | None = None
        timeout = None if follow else httpx.Timeout(10.0, read=QUIET_S)
        for _attempt in range(20):
            headers = {"Last-Event-ID": last_id} if last_id else {}
            try:
                with self.http.stream("GET", f"/api/v1/evaluations/{evaluation_id}/logs",
                                      headers=headers, timeout=timeout) as response:
                    if response.status_code >= 400:
                        response.read()
                        raise ClientError(response.status_code, response.json())
                    for event in parse_sse(response.iter_lines()):
                        if event.id:
                            last_id = event.id
                        yield event
                        if event.event == "end":
                            return
            except httpx.ReadTimeout:
                if not follow:
                    return
            except httpx.TransportError:
                time.sleep(0.5)


def parse_sse(lines: Iterator[str]) -> Iterator[SseEvent]:
    event, event_id = "message", None
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                yield SseEvent(event, "\n".join(data), event_id)
            event, data, event_id = "message", [], None
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                event = value
            elif field == "data":
                data.append(value)
            elif field == "id":
                event_id = value
