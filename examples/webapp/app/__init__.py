"""A small WSGI application: the example tree for `pycache compile`."""

from app.routes import ROUTES

__all__ = ["application"]


def application(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    handler = ROUTES.get(path)
    if handler is None:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]
    status, body = handler(environ)
    start_response(status, [("Content-Type", "text/html; charset=utf-8")])
    return [body.encode("utf-8")]
