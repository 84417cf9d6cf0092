"""Fast JSON responses for the sandbox (orjson), so that the emulator is not the bottleneck."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse as _StarletteJSON


class JSONResponse(_StarletteJSON):
    """Starlette's JSONResponse, rendered with orjson."""

    def render(self, content: Any) -> bytes:
        """The body: ``content`` as compact UTF-8 JSON, by orjson."""
        return orjson.dumps(content)
