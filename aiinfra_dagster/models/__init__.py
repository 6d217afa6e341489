"""Locating models offline: packages, local directories, or (when allowed) a hub."""
