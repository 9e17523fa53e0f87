"""Placeholder: filled in by the followup part of the web app."""

from fastapi import APIRouter

pages = APIRouter(tags=["followup"])
api = APIRouter(tags=["followup"])
