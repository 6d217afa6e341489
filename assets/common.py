"""Conventions shared by every asset module."""

from __future__ import annotations

from aiinfra_dagster.markdown import markdown_table

OWNERS = ["team:ml-platform"]

__all__ = ["OWNERS", "markdown_table"]
