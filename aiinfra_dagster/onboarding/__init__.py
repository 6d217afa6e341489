"""A user's first contact: ``aiinfra init`` (a starter aiinfra.yaml for their folders) and ``aiinfra check``
(a dry run of the data stage, the template Q/A filters and the golden set on the current settings)."""
