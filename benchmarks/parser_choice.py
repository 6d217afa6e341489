"""The Markdown and HTML parser choices, measured on the same inputs in one run.

    python benchmarks/parser_choice.py [--docs 300] [--pages 160] [--real 60] [--seed 0]

Markdown (``--docs`` generated documents: front matter, ATX/setext headings, emphasis and
links, nested lists, fences, GFM tables, quotes):
- markdown-it-py (CommonMark + ``table`` + front matter plugin): tokens only, and the whole
  ``parse_markdown`` (tokens -> Document with offsets);
- mistune 3 (AST renderer + table plugin): speed, and whether its AST says where a block is in
  the source (any line/position key) and whether it recognises front matter.

HTML (``--pages`` generated pages in five layouts: semantic HTML5, div soup with named classes,
Sphinx-like roles, unlabelled link bars, and short one-paragraph pages; each with navigation,
a sidebar, a footer and a cookie banner around the content), and up to ``--real`` pages of the
Python documentation's own HTML when it is installed (``python3.11-doc``):
- trafilatura ``extract(output_format="xml", include_formatting=True, include_tables=True,
  favor_recall=True)``;
- ``parse_html`` (selectolax/lexbor DOM and the rules in its docstring).
Printed per extractor: docs/s and MB/s (ratio to trafilatura), boilerplate phrases left per
page, share of the main text's sentences kept, headings/code blocks/tables kept, empty results.
"""

from __future__ import annotations

import argparse
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

WORDS = (
    "buffer socket parser encoder decoder iterator generator coroutine thread process queue lock event loop "
    "module package import path file stream handle record field value key index cache table column row "
    "schema query cursor connection timeout retry backoff token lexer grammar node tree graph edge vertex "
    "weight matrix vector tensor batch epoch gradient optimizer scheduler metric sample split shard replica "
    "checksum digest signature certificate cipher nonce payload header frame packet datagram endpoint route "
    "handler callback closure decorator descriptor attribute property method function argument parameter"
).split()
BOILERPLATE = {
    "nav": ["Pricing", "Careers", "Contact sales", "Sign in"],
    "header": ["Acme Cloud Platform", "Search the site"],
    "sidebar": ["Popular articles", "Recently updated", "Tag cloud"],
    "footer": ["Copyright 2026 Acme Corp", "Privacy policy", "Terms of service"],
    "cookie": ["We use cookies to improve your experience", "Accept all cookies"],
    "share": ["Share on Mastodon"],
}
PHRASES = [p for group in BOILERPLATE.values() for p in group]
PYDOC_HTML = Path("/usr/share/doc/python3.11/html")
PYDOC_BOILERPLATE = [
    "Table of Contents",
    "Previous topic",
    "Next topic",
    "This Page",
    "Report a Bug",
    "Show Source",
    "Copyright",
    "Quick search",
    "Theme",
]


def sentence(rng: random.Random, serial: list[int]) -> str:
    serial[0] += 1
    words = rng.choices(WORDS, k=rng.randint(8, 16))
    return f"{words[0].capitalize()} {' '.join(words[1:])} number {serial[0]}."


# --- Markdown -------------------------------------------------------------------------------
def markdown_doc(rng: random.Random, serial: list[int]) -> str:
    out = [f"---\ntitle: Guide {serial[0]}\nauthor: docs team\ntags: [a, b]\n---\n", f"# Guide {serial[0]}\n"]
    for s in range(rng.randint(3, 6)):
        out.append(f"## Section {s} *{rng.choice(WORDS)}*\n" if s % 2 else f"Section {s}\n----------\n")
        for _ in range(rng.randint(1, 3)):
            out.append(
                " ".join(sentence(rng, serial) for _ in range(3))
                .replace(" value ", " *value* ")
                .replace(" index ", " [index](https://example.org/i) ")
                + "\n"
            )
        choice = rng.randint(0, 4)
        if choice == 0:
            out.append(
                "```python\n"
                + "\n".join(f"x{i} = {rng.choice(WORDS)}({i})" for i in range(rng.randint(3, 12)))
                + "\n```\n"
            )
        elif choice == 1:
            out.append(
                "| name | value | notes |\n|---|---:|---|\n"
                + "".join(
                    f"| `{rng.choice(WORDS)}` | {i} | {sentence(rng, serial)} |\n" for i in range(rng.randint(2, 8))
                )
            )
        elif choice == 2:
            out.append(
                "".join(
                    f"- {sentence(rng, serial)}\n  - nested {rng.choice(WORDS)}\n" for _ in range(rng.randint(2, 6))
                )
            )
        elif choice == 3:
            out.append("> " + sentence(rng, serial) + "\n> " + sentence(rng, serial) + "\n")
        else:
            out.append("### Details\n\n1. first " + rng.choice(WORDS) + "\n2. second ![diagram](d.png)\n")
    return "\n".join(out)


def bench_markdown(docs: list[str]) -> None:
    import mistune
    from markdown_it import MarkdownIt
    from mdit_py_plugins.front_matter import front_matter_plugin

    from aiinfra_dagster.documents.markdown import parse_markdown

    md = MarkdownIt("commonmark").enable("table").use(front_matter_plugin)
    ast = mistune.create_markdown(renderer=None, plugins=["table"])
    megabytes = sum(len(d.encode()) for d in docs) / 1e6
    runs: dict[str, Callable[[str], object]] = {
        "mistune 3 AST": ast,
        "markdown-it-py tokens": md.parse,
        "parse_markdown (tokens -> Document)": parse_markdown,
    }
    print(f"\nMarkdown: {len(docs)} documents, {megabytes:.2f} MB")
    print(f"{'parser':38} {'docs/s':>9} {'MB/s':>7} {'vs mistune':>11}")
    base = None
    for name, run in runs.items():
        secs = timed(lambda run=run: [run(d) for d in docs])
        base = base or secs
        print(f"{name:38} {len(docs) / secs:9.0f} {megabytes / secs:7.2f} {base / secs:10.2f}x")
    keys: set[str] = set()
    stack = list(ast(docs[0]))  # type: ignore[arg-type]
    while stack:
        node = stack.pop()
        keys |= set(node)
        stack.extend(node.get("children") or [])
    positional = sorted(k for k in keys if re.search(r"line|pos|map|offset|span", k))
    print(f"mistune AST keys: {sorted(keys)}; source positions: {positional or 'none'}")
    first = ast(docs[0])[0]  # type: ignore[index]
    print(f"mistune reads the front matter as: {first.get('type')} (markdown-it-py: {md.parse(docs[0])[0].type})")


# --- HTML -----------------------------------------------------------------------------------
@dataclass
class Page:
    html: str
    sentences: list[str] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)
    code: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    """the header cell text of each table"""


def content(rng: random.Random, serial: list[int], page: Page, short: bool) -> str:
    title = f"Using the {rng.choice(WORDS)} {rng.choice(WORDS)} API {serial[0]}"
    page.headings.append(title)
    first = sentence(rng, serial)
    page.sentences.append(first)
    lead, rest = first.split(" ", 1)
    out = [f"<h1>{title}</h1>", f"<p><em>{lead}</em> {rest}</p>"]
    if short:
        return "\n".join(out)
    for s in range(rng.randint(2, 4)):
        h2 = f"Section {s} on {rng.choice(WORDS)} &amp; {rng.choice(WORDS)}"
        page.headings.append(h2.replace("&amp;", "&"))
        out.append(f"<section><h2>{h2}</h2>")
        for _ in range(rng.randint(1, 3)):
            texts = [sentence(rng, serial) for _ in range(rng.randint(2, 4))]
            page.sentences += texts
            out.append("<p>" + " ".join(texts[:-1]) + f"<br>\n{texts[-1]}</p>")
        if rng.random() < 0.7:
            lines = [
                f"{rng.choice(WORDS)}_{i} = load(&quot;{rng.choice(WORDS)}&quot;, retries={i})"
                for i in range(rng.randint(3, 10))
            ]
            page.code.append("\n".join(lines).replace("&quot;", '"'))
            out.append('<div class="highlight"><pre><code>' + "\n".join(lines) + "</code></pre></div>")
        if rng.random() < 0.6:
            header = f"{rng.choice(WORDS)} option {serial[0]}"
            page.tables.append(header)
            rows = "".join(
                f"<tr><td><code>{rng.choice(WORDS)}</code></td><td>{i * 10}</td><td>{rng.choice(WORDS)}</td></tr>"
                for i in range(rng.randint(2, 6))
            )
            out.append(
                f"<table><thead><tr><th>{header}</th><th>default</th><th>kind</th></tr></thead><tbody>{rows}</tbody></table>"
            )
        if rng.random() < 0.6:
            items = [sentence(rng, serial) for _ in range(3)]
            page.sentences += items
            out.append(f"<ul><li>{items[0]}<ul><li>{items[1]}</li></ul></li><li>{items[2]}</li></ul>")
        if rng.random() < 0.4:
            h3 = f"Details of {rng.choice(WORDS)} {serial[0]}"
            page.headings.append(h3)
            text = sentence(rng, serial)
            page.sentences.append(text)
            out.append(f"<h3>{h3}</h3><dl><dt>{rng.choice(WORDS)}</dt><dd>{text}</dd></dl>")
        out.append("</section>")
    return "\n".join(out)


def nav_links(names: list[str]) -> str:
    return "".join(f'<li><a href="/{n.lower().replace(" ", "-")}">{n}</a></li>' for n in ["Home", "Docs", *names])


def html_page(rng: random.Random, serial: list[int], layout: str) -> Page:
    page = Page("")
    main = content(rng, serial, page, short=layout == "short")
    b = BOILERPLATE
    sidebar_links = "".join(f'<li><a href="/p/{i}">{rng.choice(WORDS)} {rng.choice(WORDS)}</a></li>' for i in range(8))
    head = f"<!DOCTYPE html><html><head><title>{page.headings[0]} | {b['header'][0]}</title></head><body>"
    cookie_text = f"{b['cookie'][0]}. <a href='/privacy'>Learn more</a> <button>{b['cookie'][1]}</button>"
    footer_text = f"{b['footer'][0]}. <a href='/privacy'>{b['footer'][1]}</a> · <a href='/terms'>{b['footer'][2]}</a>"
    sidebar_text = (
        f"<h3>{b['sidebar'][0]}</h3><ul>{sidebar_links}</ul><h3>{b['sidebar'][1]}</h3><ul>{sidebar_links}</ul>"
        f"<p>{b['sidebar'][2]}: python, io, net</p>"
    )
    share = f"<a href='https://mastodon.example/share'>{b['share'][0]}</a>"
    if layout in ("semantic", "short"):
        body = (
            f"<header><a class='logo' href='/'>{b['header'][0]}</a><form><input placeholder='{b['header'][1]}'></form>"
            f"<nav><ul>{nav_links(b['nav'])}</ul></nav></header>"
            f"<main><article>{main}<div class='share-buttons'>{share}</div></article></main>"
            f"<aside>{sidebar_text}</aside><footer>{footer_text}</footer>"
            f"<div class='cookie-banner' id='cookie-consent'>{cookie_text}</div>"
        )
    elif layout == "divs":
        body = (
            f"<div id='header'><div class='site-name'>{b['header'][0]}</div><div class='search'>{b['header'][1]}</div>"
            f"<div class='menu'><ul>{nav_links(b['nav'])}</ul></div></div>"
            f"<div class='container'><div id='content'>{main}<div class='social-share'>{share}</div></div>"
            f"<div class='sidebar'>{sidebar_text}</div></div>"
            f"<div id='footer'>{footer_text}</div><div class='cc-window'>{cookie_text}</div>"
        )
    elif layout == "sphinx":
        body = (
            f"<div class='related' role='navigation'><h3>Navigation</h3><ul>{nav_links(b['nav'])}</ul></div>"
            f"<div class='document'><div class='documentwrapper'><div class='body' role='main'>{main}</div></div></div>"
            f"<div class='sphinxsidebar' role='navigation'><p>{b['header'][0]}</p>{sidebar_text}"
            f"<div role='search'>{b['header'][1]}</div></div>"
            f"<div class='footer'>{footer_text} {share}</div><div id='consent-popup'>{cookie_text}</div>"
        )
    else:  # "plain": nothing labelled; navigation is only recognisable as lists of links
        links = " | ".join(f"<a href='/{n}'>{n}</a>" for n in ["Home", "Docs", *b["nav"]])
        body = (
            f"<div><b>{b['header'][0]}</b></div><div>{links}</div><div>{main}</div>"
            f"<div><ul>{sidebar_links}</ul></div><div>{share} <a href='/a'>RSS</a> <a href='/b'>Atom</a></div>"
            f"<p><small>{footer_text}</small></p><div class='cc-window'>{cookie_text}</div>"
        )
    page.html = head + body + "</body></html>"
    return page


@dataclass
class Extracted:
    text: str = ""
    headings: list[str] = field(default_factory=list)
    code: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    """each table's text"""


def via_trafilatura(html: str) -> Extracted:
    import trafilatura
    from lxml import etree

    xml = trafilatura.extract(
        html, output_format="xml", include_formatting=True, include_tables=True, favor_recall=True
    )
    if not xml:
        return Extracted()
    root = etree.fromstring(xml.encode())
    text = lambda el: " ".join("".join(el.itertext()).split())  # noqa: E731
    code = ["".join(el.itertext()).rstrip("\n") for el in root.iter("code") if "\n" in "".join(el.itertext()).strip()]
    return Extracted(
        " ".join("".join(root.itertext()).split()),
        [text(h) for h in root.iter("head")],
        code,
        [text(t) for t in root.iter("table")],
    )


def via_selectolax(html: str) -> Extracted:
    from aiinfra_dagster.documents.html import parse_html
    from aiinfra_dagster.documents.model import UnparseableDocument

    try:
        doc = parse_html(html)
    except UnparseableDocument:
        return Extracted()
    blocks = doc.blocks()
    return Extracted(
        " ".join(doc.text.split()),
        sorted({h for s in doc.sections for h in s.heading_path}),
        [b.plain for b in blocks if b.kind == "code"],
        [" ".join(b.plain.split()) for b in blocks if b.kind == "table"],
    )


EXTRACTORS: dict[str, Callable[[str], Extracted]] = {"trafilatura": via_trafilatura, "selectolax": via_selectolax}


def bench_generated(pages: list[tuple[str, Page]]) -> None:
    megabytes = sum(len(p.html.encode()) for _, p in pages) / 1e6
    print(f"\nHTML, generated: {len(pages)} pages ({megabytes:.2f} MB), layouts {sorted({lay for lay, _ in pages})}")
    print(
        f"{'extractor':12} {'docs/s':>8} {'MB/s':>6} {'speed':>7} {'boilerplate':>12} "
        f"{'sentences':>10} {'headings':>9} {'code':>6} {'tables':>7} {'empty':>6}"
    )
    base = None
    per_layout: dict[str, dict[str, list[float]]] = {}
    for name, extract in EXTRACTORS.items():
        began = time.perf_counter()
        results = [extract(p.html) for _, p in pages]
        secs = time.perf_counter() - began
        base = base or secs
        left = kept = total = heads = heads_total = code = code_total = tables = tables_total = empty = 0
        for (layout, page), out in zip(pages, results, strict=True):
            empty += not out.text
            found = sum(phrase in out.text for phrase in PHRASES)
            left += found
            per_layout.setdefault(layout, {}).setdefault(name, []).append(found)
            kept += sum(s in out.text for s in page.sentences)
            total += len(page.sentences)
            heads += sum(h in out.headings for h in page.headings)
            heads_total += len(page.headings)
            code += sum(any(c in got for got in out.code) for c in page.code)
            code_total += len(page.code)
            tables += sum(any(t in got for got in out.tables) for t in page.tables)
            tables_total += len(page.tables)
        print(
            f"{name:12} {len(pages) / secs:8.0f} {megabytes / secs:6.2f} {base / secs:6.1f}x {left / len(pages):12.2f} "
            f"{kept / total:10.1%} {heads / heads_total:9.1%} {code / max(code_total, 1):6.1%} "
            f"{tables / max(tables_total, 1):7.1%} {empty:6d}"
        )
    print(
        "boilerplate phrases left per page, by layout: "
        + "; ".join(
            f"{layout}: " + ", ".join(f"{name} {sum(v) / len(v):.2f}" for name, v in by_name.items())
            for layout, by_name in sorted(per_layout.items())
        )
    )


def bench_pydoc(limit: int) -> None:
    from selectolax.lexbor import LexborHTMLParser

    files = sorted((PYDOC_HTML / "library").glob("*.html"))[:limit] if PYDOC_HTML.is_dir() else []
    if not files:
        print(f"\nHTML, Python docs: {PYDOC_HTML} not installed, skipped")
        return
    pages = [f.read_text(encoding="utf-8") for f in files]
    megabytes = sum(len(p.encode()) for p in pages) / 1e6
    expected: list[tuple[list[str], list[str], list[str]]] = []  # headings, code blocks, first table rows in role=main
    for html in pages:
        main = LexborHTMLParser(html).css_first("[role=main]")
        expected.append(
            (
                [squeeze(h.text(deep=True)) for h in main.css("h1, h2, h3, h4, h5, h6")],
                [pre.text(deep=True).rstrip("\n") for pre in main.css("pre")],
                [
                    squeeze(t.css_first("tr").text(deep=True))
                    for t in main.css("table.docutils")
                    if t.css_first("tr") is not None
                ],
            )
        )
    totals = [sum(len(e[i]) for e in expected) for i in range(3)]
    print(
        f"\nHTML, Python docs: {len(pages)} pages of {PYDOC_HTML / 'library'} ({megabytes:.2f} MB; "
        f"{totals[0]} headings, {totals[1]} code blocks, {totals[2]} tables in their role=main)"
    )
    print(
        f"{'extractor':12} {'docs/s':>8} {'MB/s':>6} {'speed':>7} {'boilerplate':>12} "
        f"{'headings':>9} {'code':>6} {'tables':>7} {'empty':>6}"
    )
    base = None
    for name, extract in EXTRACTORS.items():
        began = time.perf_counter()
        results = [extract(p) for p in pages]
        secs = time.perf_counter() - began
        base = base or secs
        left = sum(sum(phrase in out.text for phrase in PYDOC_BOILERPLATE) for out in results)
        kept = [0, 0, 0]
        for out, (headings, code, tables) in zip(results, expected, strict=True):
            got_headings = {squeeze(h) for h in out.headings}
            got_tables = [squeeze(t) for t in out.tables]
            kept[0] += sum(h in got_headings for h in headings)
            kept[1] += sum(any(c in got for got in out.code) for c in code)
            kept[2] += sum(any(t in got for got in got_tables) for t in tables)
        print(
            f"{name:12} {len(pages) / secs:8.1f} {megabytes / secs:6.2f} {base / secs:6.1f}x {left / len(pages):12.2f} "
            + " ".join(f"{k / max(t, 1):{w}.1%}" for k, t, w in zip(kept, totals, (9, 6, 7), strict=True))
            + f" {sum(not out.text for out in results):6d}"
        )
    print(
        f"(boilerplate: {', '.join(PYDOC_BOILERPLATE)}; "
        "a table is kept when its first row's cells are in an extracted table)"
    )


def squeeze(text: str) -> str:
    """Text without whitespace, headerlink marks or cell separators, to compare extractors' outputs."""
    return re.sub(r"[\s¶|]+", "", text)


def timed(run: Callable[[], object], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - began)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=300, help="generated Markdown documents")
    parser.add_argument("--pages", type=int, default=160, help="generated HTML pages")
    parser.add_argument("--real", type=int, default=60, help="Python documentation HTML pages, when installed")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng, serial = random.Random(args.seed), [0]
    bench_markdown([markdown_doc(rng, serial) for _ in range(args.docs)])
    layouts = ["semantic", "divs", "sphinx", "plain", "short"]
    bench_generated(
        [(layouts[i % len(layouts)], html_page(rng, serial, layouts[i % len(layouts)])) for i in range(args.pages)]
    )
    bench_pydoc(args.real)


if __name__ == "__main__":
    main()
