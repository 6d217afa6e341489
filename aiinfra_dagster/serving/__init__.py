"""Serving: the Bento service (/ask, /search, /classify), its build, local process and k8s manifests, inference logs."""
