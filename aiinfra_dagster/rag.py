"""How an answer prompt is built from retrieved chunks: one place for evaluation and serving.

The shape is the one the model was fine-tuned on (`synthetic.training.chat_messages`:
system prompt, context + question, answer): chunk texts best first, separated by a
blank line, with no ids the model never saw in training (citations are returned
beside the answer, not inside the prompt).
"""

from __future__ import annotations

from collections.abc import Sequence

from aiinfra_dagster.synthetic.training import chat_messages

Messages = list[dict[str, str]]


def context_text(chunks: Sequence[tuple[str, str]]) -> str:
    """(chunk_id, text) pairs as the context block."""
    return "\n\n".join(text.strip() for _, text in chunks)


def answer_messages(question: str, chunks: Sequence[tuple[str, str]], system_prompt: str) -> Messages:
    """System + user turn (context when chunks are given, else the question alone), no reply yet."""
    return chat_messages(context_text(chunks), question, "", system_prompt)[:-1]
