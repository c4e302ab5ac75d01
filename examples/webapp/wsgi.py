"""The entry script a server loads with WSGIScriptAlias or uwsgi --wsgi-file.

Servers compile this file on every load and never cache it; everything it
imports is cached.
"""
from app import application  # noqa: F401
