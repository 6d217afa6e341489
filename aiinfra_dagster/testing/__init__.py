"""Helpers for tests and benchmarks, in one place: a real dagster-webserver subprocess (webserver), a tiny Llama
built offline (tiny_models), a small real vector index (retrieval_index), a topic classifier built in a second
(serving_models).

They ship in the wheel rather than under tests/ because benchmarks/ uses them too, run as plain scripts from any
working directory; the runtime code never imports this package (tests/unit/test_code_shape.py checks it).
"""
