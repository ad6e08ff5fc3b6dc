"""Request hygiene that applies to every view."""

from django.http import HttpRequest, HttpResponse, JsonResponse


class RejectNulBytesMiddleware:
    """A NUL byte in the URL or the query string is never valid input, and PostgreSQL refuses it in any query
    (psycopg2 raises before sending). Answer 400 here instead of letting a view turn it into a 500. Form and
    JSON bodies need no such guard: Django's and DRF's character fields refuse NUL with a field error."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or any("\x00" in k or "\x00" in v for k, v in request.GET.items()):
            message = "The address contains a NUL character."
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=400)
            return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
