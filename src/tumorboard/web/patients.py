"""Placeholder: filled in by the patients part of the web app."""

from fastapi import APIRouter

pages = APIRouter(tags=["patients"])
api = APIRouter(tags=["patients"])
