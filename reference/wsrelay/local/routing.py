"""Route selection, as notebook 01 imports it: ``from wsrelay.local.routing import select_route``.

The rules live in :mod:`wsrelay.local.apigateway.routing`; this name is kept so the
workbook's import keeps working.
"""

from __future__ import annotations

from wsrelay.local.apigateway.routing import gateway_error_frame, select_route

__all__ = ["gateway_error_frame", "select_route"]
