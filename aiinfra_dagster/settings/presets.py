"""The profiles' presets: what `quick` (tests), `demo` (README command 1) and `full` change from the defaults."""

from __future__ import annotations

from typing import Any

PROFILE_PRESETS: dict[str, dict[str, Any]] = {
    "quick": {
        # The FAQ pages hold the golden answers: without them retrieval and the gate would measure nothing.
        # pydoc_fallback: where python3.11-doc could not be installed, both read pydoc_data.topics (with a warning).
        "sources": [
            {"name": "python-faq", "kind": "python_docs", "globs": ["faq/*.rst.txt"], "pydoc_fallback": True},
            {
                "name": "python-docs",
                "kind": "python_docs",
                "exclude": ["faq/*"],
                "max_documents": 30,
                "pydoc_fallback": True,
            },
        ],
        "golden": {"max_pairs": 20},
        "chunking": {"max_tokens": 128, "dedup_num_perm": 64},
        "synthetic": {"generator": "template", "max_chunks": 300},
        "training": {"max_steps": 4, "max_seq_length": 128, "save_steps": 2},
        "classifier": {"max_train_examples": 200, "max_length": 64},
        "evaluation": {
            "max_questions": 6,
            "max_new_tokens": 16,
            "top_k": 2,
            "max_prompt_tokens": 256,
            "bootstrap_resamples": 200,
        },
        # Tests: tiny generations, and a free port per deployment (several test homes serve at once).
        "serving": {"max_new_tokens": 8, "log_flush_seconds": 0.5, "port": 0},
    },
    "demo": {
        # A stable third of the docs (changelogs and the removed distutils left out) plus the FAQ:
        # embedding all ~16k chunks alone takes ~10 minutes on 2 cores; `full` takes everything.
        # pydoc_fallback: where python3.11-doc could not be installed, both read pydoc_data.topics (with a warning).
        "sources": [
            {"name": "python-faq", "kind": "python_docs", "globs": ["faq/*.rst.txt"], "pydoc_fallback": True},
            {
                "name": "python-docs",
                "kind": "python_docs",
                "globs": ["**/*.rst.txt"],
                "exclude": ["faq/*", "whatsnew/*", "distutils/*"],
                "max_documents": 160,
                "sample": "hash",
                "pydoc_fallback": True,
            },
        ],
        "synthetic": {"generator": "llm", "max_chunks": 100},
        # SmolLM2-135M LoRA costs ~8-10 s per step of 2 examples on 2 CPU cores.
        "training": {"max_steps": 16, "max_seq_length": 384, "save_steps": 4},
        "classifier": {"max_train_examples": 800, "max_length": 128},
        # 24 golden pairs x (base, candidate) x (closed-book, grounded), 48 new tokens, 512-token prompts:
        # ~2.5 min on 2 cores (a grounded batch of 8 takes ~17 s; the whole FAQ would take ~15 min).
        "evaluation": {"max_questions": 24, "max_new_tokens": 48, "max_prompt_tokens": 512},
    },
    "full": {
        "sources": [{"name": "python-docs", "kind": "python_docs"}],
        "chunking": {"max_tokens": 384, "dedup_num_perm": 256},
        "synthetic": {"generator": "llm", "questions_per_chunk": 2},
        "k8s": {"enabled": True},
    },
}
