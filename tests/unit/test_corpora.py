"""The generated test corpora themselves: deterministic, the right shape, and golden answers a reader can find."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pypdf import PdfReader
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from aiinfra_dagster.labels.functions import compile_keywords
from aiinfra_dagster.settings import load_settings
from tests.corpora import CORPORA, ENCRYPTED_PDF, PDF_PASSWORD, SCANNED_PDF, Corpus

# name -> (min documents, max documents)
DOCUMENT_BOUNDS = {
    "markdown-handbook": (20, 40),
    "man-pages": (25, 40),
    "html-site": (15, 40),
    "pdf-manual": (4, 8),
}
QUARANTINED = {SCANNED_PDF, ENCRYPTED_PDF}


@pytest.fixture(scope="module", params=sorted(CORPORA))
def corpus(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    name = request.param
    return CORPORA[name](tmp_path_factory.mktemp(name) / name)


def normalised(text: str) -> str:
    return " ".join(text.split())


def visible_text(path: Path) -> str:
    """What a reader sees of a document: Markdown without emphasis and link targets, HTML main content, PDF text."""
    if path.suffix == ".pdf":
        return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".md":
        text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)
        return re.sub(r"\*\*|\*|`", "", text)
    if path.suffix == ".html":
        # A browser separates cells, items and paragraphs; inline elements (code, links) run on with their text.
        tree = HTMLParser(re.sub(r"</(?:p|li|dt|dd|td|th|h\d|pre)>", lambda m: m.group(0) + " ", text))
        root = tree.css_first("main") or tree.css_first("article") or tree.css_first("div.content")
        assert root is not None, f"{path.name}: no main content element"
        return root.text(separator="")
    return text


def readable_documents(corpus: Corpus) -> list[Path]:
    return [p for p in corpus.documents() if p.name not in QUARANTINED]


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", sorted(CORPORA))
def test_generation_is_deterministic(name: str, tmp_path: Path) -> None:
    first = CORPORA[name](tmp_path / "a")
    second = CORPORA[name](tmp_path / "b")
    assert first.documents(), name
    assert tree(tmp_path / "a") == tree(tmp_path / "b")
    assert first.golden_path.read_bytes() == second.golden_path.read_bytes()


def test_document_count_and_size(corpus: Corpus) -> None:
    low, high = DOCUMENT_BOUNDS[corpus.name]
    documents = corpus.documents()
    assert low <= len(documents) <= high, [p.name for p in documents]
    assert sum(p.stat().st_size for p in documents) < 600_000
    assert corpus.golden_path not in documents


def test_documents_have_several_paragraphs_of_prose(corpus: Corpus) -> None:
    for path in readable_documents(corpus):
        sentences = re.findall(r"[A-Z][^.?!]{30,}[.?!]", normalised(visible_text(path)))
        assert len(sentences) >= 6, f"{path.name}: {len(sentences)} sentences of prose"


def test_golden_pairs_are_well_formed_and_spread(corpus: Corpus) -> None:
    pairs = corpus.golden()
    assert 20 <= len(pairs) <= 25
    assert len({p["question"] for p in pairs}) == len(pairs)
    readable = {str(p.relative_to(corpus.root)) for p in readable_documents(corpus)}
    for pair in pairs:
        assert set(pair) == {"question", "answer", "source"}
        assert pair["question"].endswith("?"), pair
        assert pair["answer"].endswith("."), pair
        assert len(pair["answer"]) <= 400, pair
        assert pair["source"] in readable, pair  # exists, is ingested and is not a file to be quarantined
    assert len({p["source"] for p in pairs}) >= min(12, len(readable))


def test_golden_answers_are_found_in_their_source(corpus: Corpus) -> None:
    texts: dict[str, str] = {}
    for pair in corpus.golden():
        source = pair["source"]
        if source not in texts:
            texts[source] = normalised(visible_text(corpus.root / source))
        lead = normalised(pair["answer"])[:60]
        assert lead in texts[source], f"{source}: {lead!r}"


def test_classes_have_descriptions_and_keywords_found_in_documents(corpus: Corpus) -> None:
    assert len(corpus.classes) == 6 == len(set(corpus.classes))
    assert set(corpus.descriptions) == set(corpus.classes) == set(corpus.keyword_functions)
    texts = [visible_text(p) for p in readable_documents(corpus)]
    for label in corpus.classes:
        assert corpus.descriptions[label].endswith(".")
        keywords = corpus.keyword_functions[label]
        assert 4 <= len(keywords) <= 10, label
        pattern = compile_keywords(keywords)
        hits = sum(1 for text in texts if pattern.search(text))
        assert hits >= 2, f"{label}: keywords found in {hits} document(s)"
        for keyword in keywords:
            assert any(compile_keywords([keyword]).search(text) for text in texts), f"{label}: {keyword!r} never occurs"


def test_settings_point_the_platform_at_the_corpus(corpus: Corpus, tmp_path: Path) -> None:
    settings = load_settings(None, profile="quick", storage={"home": str(tmp_path / "home")}, **corpus.settings())
    assert [(s.kind, s.path, s.globs) for s in settings.sources] == [("directory", str(corpus.root), corpus.globs)]
    assert settings.golden.kind == "files" and settings.golden.paths == [str(corpus.golden_path)]
    assert settings.labels.reference == "none" and settings.labels.classes == corpus.classes
    assert settings.labels.keyword_functions == corpus.keyword_functions


def test_markdown_handbook_shape(tmp_path: Path) -> None:
    corpus = CORPORA["markdown-handbook"](tmp_path / "handbook")
    texts = {str(p.relative_to(corpus.root)): p.read_text(encoding="utf-8") for p in corpus.documents()}
    with_front_matter = [rel for rel, text in texts.items() if text.startswith("---\n")]
    assert len(with_front_matter) >= 0.8 * len(texts)
    assert all(re.search(r"^title: .+\nowner: .+\ntags: \[", texts[rel], re.M) for rel in with_front_matter)
    no_front_matter = [rel for rel, text in texts.items() if not text.startswith("---\n")]
    assert any(re.search(r"^# ", texts[rel], re.M) for rel in no_front_matter)
    assert not re.search(r"^#+ ", texts["README.md"], re.M)  # a README without any heading
    everything = "\n".join(texts.values())
    for feature in (
        r"^### ",
        r"^\|---",
        r"^```shell$",
        r"^```yaml$",
        r"^- ",
        r"^1\. ",
        r"\]\([^)]+\.md\)",
        r"\*\*\w",
        r"\*\w+\*",
    ):
        assert re.search(feature, everything, re.M), feature


def test_man_pages_shape(tmp_path: Path) -> None:
    corpus = CORPORA["man-pages"](tmp_path / "man")
    for path in corpus.documents():
        rel = str(path.relative_to(corpus.root))
        match = re.fullmatch(r"man(\d)/([\w.-]+)\.(\d)\.txt", rel)
        assert match and match.group(1) == match.group(3), rel
        lines = path.read_text(encoding="utf-8").splitlines()
        ref = f"{match.group(2).upper()}({match.group(1)})"
        assert re.fullmatch(rf"{re.escape(ref)} {{2,}}Strata [\w' ]+ {{2,}}{re.escape(ref)}", lines[0]), lines[0]
        headings = [line for line in lines if re.fullmatch(r"[A-Z][A-Z ]+", line)]
        assert headings[:2] == ["NAME", "SYNOPSIS"] and headings[-1] == "SEE ALSO", rel
        body = [line for line in lines[1:-1] if line.strip() and line not in headings]
        assert all(line.startswith("   ") for line in body), rel  # prose at 7, sub-headings at 3, tags at 7
        assert not any(re.search(r"\w-$", line) for line in body), rel  # no word reads as hyphenated at a line end
    everything = "\n".join(p.read_text(encoding="utf-8") for p in corpus.documents())
    for feature in (r"^RETURN VALUE$", r"^ERRORS$", r"^OPTIONS$", r"^EXAMPLES$", r"^ {3}[A-Z][a-z]", r"^ {7}-\w, --\w"):
        assert re.search(feature, everything, re.M), feature


def test_html_site_boilerplate_and_layouts(tmp_path: Path) -> None:
    corpus = CORPORA["html-site"](tmp_path / "site")
    layouts = set()
    for path in corpus.documents():
        tree = HTMLParser(path.read_text(encoding="utf-8"))
        for selector in ("nav", "header.site-header", "aside.sidebar", "footer", "#cookie-banner", "script", "style"):
            assert tree.css_first(selector) is not None, (path.name, selector)
        assert tree.css_first("footer").text().count("\u00a9") == 1
        layouts.add("main" if tree.css_first("main") else "article" if tree.css_first("article") else "div")
    assert layouts == {"main", "article", "div"}
    pages = "\n".join(p.read_text(encoding="utf-8") for p in corpus.documents())
    for feature in ("<dl>", "<table>", "<pre><code", "<ol>", "<ul>", "<h3>", "&quot;", "&nbsp;"):
        assert feature in pages, feature


def test_pdf_manual_has_outlines_and_files_to_quarantine(tmp_path: Path) -> None:
    corpus = CORPORA["pdf-manual"](tmp_path / "pdf")
    for path in readable_documents(corpus):
        reader = PdfReader(path)
        assert not reader.is_encrypted
        assert len(reader.outline) >= 3, path.name
        assert all(page.extract_text().strip() for page in reader.pages), path.name
    assert len(PdfReader(corpus.root / "HX-40_operator_manual.pdf").pages) >= 12

    locked = PdfReader(corpus.root / ENCRYPTED_PDF)
    assert locked.is_encrypted
    assert not locked.decrypt("")  # the empty user password does not open it
    assert PdfReader(corpus.root / ENCRYPTED_PDF).decrypt(PDF_PASSWORD)

    scanned = PdfReader(corpus.root / SCANNED_PDF)
    assert not scanned.is_encrypted and len(scanned.pages) == 1
    assert not "".join(page.extract_text() for page in scanned.pages).strip()
    assert not any(g["source"] in QUARANTINED for g in corpus.golden())
