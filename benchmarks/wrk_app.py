"""What figure 7 measures our endpoints against: a hello-world WSGI app (the server alone) and a bare Django view
(Django and the app's own middleware, on the API's path, with nothing behind it)."""

from django.http import HttpRequest, HttpResponse

BARE_PATH = "/_security/_bench/bare"


def hello(environ: dict, start_response) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok", content_type="text/plain")
