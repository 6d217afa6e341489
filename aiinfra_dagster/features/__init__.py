"""Chunk features: versioned definitions, a history table, point-in-time reads."""
