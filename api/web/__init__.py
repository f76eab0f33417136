"""The web dashboard: one page at `/` and its static files, run by the browser against /api/v1.

No build step: plain HTML, CSS and one script. Every value from the API is inserted as
text (never parsed as HTML), and the Content-Security-Policy allows only this origin's
scripts and styles, so a log line or a tag cannot run code in the page.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from api.text import TextCheckedRoute

STATIC = Path(__file__).parent / "static"

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False, route_class=TextCheckedRoute)


@router.get("/")
async def dashboard() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html", headers=HEADERS)


@router.get("/favicon.ico")
async def favicon() -> FileResponse:
    # Browsers and tools ask this path whatever the page links: the same SVG, not a 404.
    return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml",
                        headers={"Cache-Control": "max-age=86400"})


def install(app: FastAPI) -> None:
    """Serve the dashboard at `/`, its icon at `/favicon.ico` and its files under `/static`."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
