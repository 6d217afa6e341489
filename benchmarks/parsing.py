"""Parse + chunk throughput per format, as a ratio to the bare parser call on the same files in the same run.

    python benchmarks/parsing.py [--repeat 3] [--python-docs 100]

For each format of the generated test corpora (tests/corpora.py: a Markdown handbook, man pages as plain text, an
HTML site, PDF manuals) and a sample of the real Python docs reST sources, it times:
- bare: only the library call, no document model (markdown-it-py ``parse``, docutils ``publish_doctree``,
  selectolax ``LexborHTMLParser(...).body.text()``, pypdf ``extract_text`` of every page, and for plain text, where
  no library exists, ``str.split`` on blank lines);
- ours: ``parse_document`` (sniffed format, the document model with offsets) + ``chunk_documents`` with the embedding
  model's tokenizer, i.e. what ``validated_documents`` and ``document_chunks`` do per document.
Prints documents/s and MB/s of both and ours/bare time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from timing import timed  # noqa: E402

from aiinfra_dagster.data.chunk_set import embedding_token_counter  # noqa: E402
from aiinfra_dagster.data.chunking import chunk_documents  # noqa: E402
from aiinfra_dagster.documents.formats import sniff_format  # noqa: E402
from aiinfra_dagster.documents.model import UnparseableDocument  # noqa: E402
from aiinfra_dagster.documents.parse import parse_document  # noqa: E402
from aiinfra_dagster.settings import load_settings  # noqa: E402
from tests.corpora import CORPORA  # noqa: E402

PYTHON_DOCS = Path("/usr/share/doc/python3.11/html/_sources/library")


def bare_markdown(content: bytes) -> object:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table").parse(content.decode())


def bare_rst(content: bytes) -> object:
    from docutils.core import publish_doctree

    return publish_doctree(content.decode(), settings_overrides={"report_level": 5, "halt_level": 5})


def bare_html(content: bytes) -> object:
    from selectolax.lexbor import LexborHTMLParser

    body = LexborHTMLParser(content.decode()).body
    return body.text() if body is not None else ""


def bare_pdf(content: bytes) -> object:
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(BytesIO(content)).pages]


def bare_text(content: bytes) -> object:
    return content.decode().split("\n\n")


BARE: dict[str, Callable[[bytes], object]] = {
    "markdown": bare_markdown,
    "rst": bare_rst,
    "html": bare_html,
    "pdf": bare_pdf,
    "text": bare_text,
}


def files_by_format(root: Path, python_docs: int) -> dict[str, list[tuple[str, bytes]]]:
    out: dict[str, list[tuple[str, bytes]]] = {}
    for name, make in sorted(CORPORA.items()):
        corpus = make(root / name)
        for path in sorted(p for g in corpus.globs for p in corpus.root.glob(g) if p.is_file()):
            rel, content = path.relative_to(corpus.root).as_posix(), path.read_bytes()
            fmt = sniff_format(rel, content)
            if fmt != "binary":
                out.setdefault(fmt, []).append((rel, content))
    if PYTHON_DOCS.is_dir() and python_docs:
        pages = sorted(PYTHON_DOCS.glob("*.rst.txt"))[:python_docs]
        out.setdefault("rst", []).extend((p.name, p.read_bytes()) for p in pages)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--python-docs", type=int, default=100, help="Python docs library pages added to reST (0: none)"
    )
    args = parser.parse_args()
    settings = load_settings(None, profile="quick")
    counter = embedding_token_counter(settings.models)

    def ours(files: list[tuple[str, bytes]], fmt: str) -> None:
        docs = []
        for rel, content in files:
            try:
                docs.append(parse_document(content, fmt, rel))  # type: ignore[arg-type]
            except UnparseableDocument:
                pass  # the encrypted and scanned PDFs: quarantined in a run, timed like any file here
        chunk_documents(docs, counter, settings.chunking.max_tokens, settings.chunking.min_tokens)

    def bare(files: list[tuple[str, bytes]], fmt: str) -> None:
        for _, content in files:
            try:
                BARE[fmt](content)
            except Exception:  # noqa: BLE001 - the bare call has no error handling of its own to measure
                pass

    with tempfile.TemporaryDirectory() as tmp:
        corpora = files_by_format(Path(tmp), args.python_docs)
    print(
        f"{'format':<9} {'docs':>5} {'MB':>6} | {'bare docs/s':>11} {'bare MB/s':>9} | "
        f"{'ours docs/s':>11} {'ours MB/s':>9} | ours/bare time"
    )
    for fmt, files in sorted(corpora.items()):
        megabytes = sum(len(c) for _, c in files) / 1e6
        bare_s = timed(lambda files=files, fmt=fmt: bare(files, fmt), args.repeat)
        ours_s = timed(lambda files=files, fmt=fmt: ours(files, fmt), args.repeat)
        print(
            f"{fmt:<9} {len(files):>5} {megabytes:>6.2f} | {len(files) / bare_s:>11.1f} {megabytes / bare_s:>9.2f} | "
            f"{len(files) / ours_s:>11.1f} {megabytes / ours_s:>9.2f} | {ours_s / bare_s:>6.2f}x"
        )


if __name__ == "__main__":
    main()
