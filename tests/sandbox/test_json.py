"""The behaviour of :mod:`enstoolkit.sandbox._json` (pinned here; its docstrings are prose)."""

from __future__ import annotations

from starlette.responses import JSONResponse


def test_jsonresponse() -> None:
    """JSONResponse: Starlette's JSONResponse, rendered with orjson."""
    assert JSONResponse({"a": 1}).body == b'{"a":1}'


def test_jsonresponse_render() -> None:
    """JSONResponse.render: The body: ``content`` as compact UTF-8 JSON, by orjson."""
    assert JSONResponse(None).render({"ok": True, "ids": [1, 2]}) == b'{"ok":true,"ids":[1,2]}'
