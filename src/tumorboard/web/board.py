"""Placeholder: filled in by the board part of the web app."""

from fastapi import APIRouter

pages = APIRouter(tags=["board"])
api = APIRouter(tags=["board"])
