"""The API reference pages, ``/docs`` (Swagger UI) and ``/redoc``, with no CDN.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, so offline they are
blank. These are the same pages with the scripts served by Podium from the
``fastapi-standalone-docs`` package (Swagger UI: Apache-2.0, ReDoc: MIT; the
licence files are served beside them under ``/docs-assets/``).
"""

from __future__ import annotations

from pathlib import Path

import fastapi_standalone_docs
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"
ASSETS_DIR = Path(next(iter(fastapi_standalone_docs.__path__))) / "static"


def install_docs(app: FastAPI, *, openapi_url: str = "/openapi.json") -> None:
    """Serve ``/docs``, ``/redoc`` and their assets; create the app with ``docs_url=None``."""
    app.mount(ASSETS, StaticFiles(directory=ASSETS_DIR), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} · API reference",
            swagger_js_url=f"{ASSETS}/swagger/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/fastapi/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} · API reference",
            redoc_js_url=f"{ASSETS}/redoc/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS}/fastapi/favicon.png",
            with_google_fonts=False,
        )
