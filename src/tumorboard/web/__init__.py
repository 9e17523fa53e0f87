"""The browser tumour board (``tumorboard serve``): pages and a JSON API over a workspace."""

from tumorboard.web.app import create_app

__all__ = ["create_app"]
