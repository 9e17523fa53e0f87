"""Placeholder: filled in by the cohort part of the web app."""

from fastapi import APIRouter

pages = APIRouter(tags=["cohort"])
api = APIRouter(tags=["cohort"])
