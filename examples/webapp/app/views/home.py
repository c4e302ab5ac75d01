import html


def index(environ):
    """Greets the visitor by the name in the query string."""
    query = environ.get("QUERY_STRING", "")
    params = dict(part.split("=", 1) for part in query.split("&") if "=" in part)
    name = html.escape(params.get("name", "world"))
    assert name, "the name cannot be empty"
    return "200 OK", f"<h1>Hello, {name}!</h1>"
