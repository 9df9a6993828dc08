"""`/docs`: the API's interactive documentation, with Swagger UI served from this server.

The assets come from the `swagger-ui-bundle-v2` package (Swagger UI 5, which reads the OpenAPI
3.1 document FastAPI writes), so the page works offline and behind networks that block CDNs.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from swagger_ui_bundle import swagger_ui_path

router = APIRouter(include_in_schema=False)

ASSETS = Path(str(swagger_ui_path))
PREFIX = "/static/docs"


@router.get("/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title="Tradepoint API",
        swagger_js_url=f"{PREFIX}/swagger-ui-bundle.js",
        swagger_css_url=f"{PREFIX}/swagger-ui.css",
        swagger_favicon_url=f"{PREFIX}/favicon-32x32.png",
    )
