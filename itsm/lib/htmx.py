"""htmx helpers (as NetBox's utilities/htmx.py): one view answers a full page or a fragment."""

from django.http import HttpRequest


def htmx_partial(request: HttpRequest) -> bool:
    """True when the request wants only a fragment: an htmx request that is not a boosted navigation."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted
