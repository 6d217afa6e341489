"""parse_html: main content without boilerplate, heading paths, typed blocks, offsets into the built text."""

from __future__ import annotations

import pytest

from aiinfra_dagster.documents.html import parse_html
from aiinfra_dagster.documents.model import Document, UnparseableDocument

BOILERPLATE_PAGE = (
    """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="description" content="How the connection pool works">
  <meta name="viewport" content="width=device-width">
  <title>Connection pooling | Acme Docs</title>
  <style>body { font-family: sans-serif }</style>
  <script>window.analytics = "tracking";</script>
</head>
<body>
  <a class="skip-link" href="#content">Skip to content</a>
  <header class="site-header">
    <a class="logo" href="/">Acme Docs</a>
    <nav><ul><li><a href="/pricing">Pricing</a></li><li><a href="/careers">Careers</a></li>"""
    """<li><a href="/blog">Blog</a></li></ul></nav>
    <form role="search"><input placeholder="Search the docs"></form>
  </header>
  <div class="breadcrumbs"><a href="/">Home</a> / <a href="/guides">Guides</a> / Pooling</div>
  <main id="content">
    <h1>Connection pooling</h1>
    <p>A pool keeps <em>database connections</em> open so that requests reuse them instead of reconnecting.</p>
    <h2>Configuration</h2>
    <p>Set the pool size with <code>max_size</code>; idle connections close after <strong>five minutes</strong>.</p>
    <table>
      <thead><tr><th>setting</th><th>default</th></tr></thead>
      <tbody><tr><td>max_size</td><td>10</td></tr><tr><td>idle_timeout</td><td>300</td></tr></tbody>
    </table>
    <h3>Example</h3>
    <pre><code>pool = Pool(max_size=10)
with pool.connection() as conn:
    conn.execute("SELECT 1 &lt; 2")</code></pre>
    <div class="share-buttons"><a href="https://social.example/share">Share on Mastodon</a></div>
  </main>
  <aside class="sidebar">
    <h3>Popular articles</h3>
    <ul><li><a href="/a">Sharding basics</a></li><li><a href="/b">Read replicas</a></li></ul>
  </aside>
  <footer><p>Copyright 2026 Acme Corp. <a href="/privacy">Privacy policy</a></p></footer>
  <div id="cookie-banner" class="cookie-consent">We use cookies to improve your experience. """
    """<button>Accept all</button></div>
</body>
</html>
"""
)

BOILERPLATE_WORDS = [
    "Copyright",
    "Privacy policy",
    "Pricing",
    "Careers",
    "Blog",
    "Skip to content",
    "Search the docs",
    "Guides",
    "Share on Mastodon",
    "Popular articles",
    "Sharding basics",
    "cookies",
    "Accept all",
    "tracking",
    "font-family",
]


def parsed(html: str) -> Document:
    doc = parse_html(html).validate()
    assert doc.format == "html"
    for block in doc.blocks():  # the text is built from the blocks: each block's slice is what a reader sees
        assert doc.text[block.start : block.end] == block.plain
    return doc


def path_of(doc: Document, block_text: str) -> tuple[str, ...]:
    found = [s.heading_path for s in doc.sections for b in s.blocks if block_text in b.plain]
    assert len(found) == 1, (block_text, found)
    return found[0]


def test_main_content_without_navigation_header_footer_sidebar_or_cookie_banner() -> None:
    doc = parsed(BOILERPLATE_PAGE)
    assert "A pool keeps database connections open so that requests reuse them instead of reconnecting." in doc.text
    assert "Set the pool size with max_size; idle connections close after five minutes." in doc.text
    for word in BOILERPLATE_WORDS:
        assert word not in doc.text, word
    assert doc.metadata == {"description": "How the connection pool works"}
    assert [b.kind for b in doc.blocks()] == ["paragraph", "paragraph", "table", "code"]


def test_title_is_the_title_element_or_the_first_h1() -> None:
    # <title> is the page's h1 plus a site suffix: the h1
    assert parsed(BOILERPLATE_PAGE).title == "Connection pooling"
    assert (
        parsed(
            "<html><head><title>Release notes 2.0</title></head><body><h1>What changed</h1><p>Much.</p></body></html>"
        ).title
        == "Release notes 2.0"
    )
    assert parsed("<title>Docs \u2014 Install</title><body><h1>Install</h1><p>x</p></body>").title == "Install"
    assert (
        parsed("<title>Introduction to Foo</title><body><h1>Introduction</h1><p>x</p></body>").title
        == "Introduction to Foo"
    )
    assert parsed("<body><h2>Intro</h2><p>Text.</p><h1>The h1</h1><p>More.</p></body>").title == "The h1"
    assert parsed("<body><p>No headings at all.</p></body>").title == ""


def test_headings_h1_to_h3_give_nested_paths_and_are_lines_not_blocks() -> None:
    html = """<body><article>
      <h1>Guide</h1><p>Intro.</p>
      <h3>Deep detail</h3><p>Directly under the h1.</p>
      <h2>Install</h2><p>Install text.</p>
      <h3>From <code>source</code></h3><p>Source text.</p>
      <h2>Usage</h2><p>Usage text.</p>
    </article></body>"""
    doc = parsed(html)
    assert path_of(doc, "Intro.") == ("Guide",)
    assert path_of(doc, "Directly under the h1.") == ("Guide", "Deep detail")
    assert path_of(doc, "Install text.") == ("Guide", "Install")
    assert path_of(doc, "Source text.") == ("Guide", "Install", "From source")
    assert path_of(doc, "Usage text.") == ("Guide", "Usage")
    assert all(b.kind == "paragraph" for b in doc.blocks())
    assert doc.text.startswith("Guide\n\nIntro.\n\nDeep detail\n\nDirectly under the h1.\n\nInstall\n\n")


def test_pre_code_is_a_verbatim_code_block() -> None:
    doc = parsed(BOILERPLATE_PAGE)
    [code] = [b for b in doc.blocks() if b.kind == "code"]
    assert code.plain == 'pool = Pool(max_size=10)\nwith pool.connection() as conn:\n    conn.execute("SELECT 1 < 2")'
    assert path_of(doc, "pool = Pool") == ("Connection pooling", "Configuration", "Example")
    with_breaks = parsed("<pre><span>first()</span><br>&nbsp;&nbsp;second()<br/>third()\n</pre>")
    assert [b.plain for b in with_breaks.blocks()] == ["first()\n  second()\nthird()"]


def test_table_with_th_and_td_is_a_table_block_header_first() -> None:
    doc = parsed(BOILERPLATE_PAGE)
    [table] = [b for b in doc.blocks() if b.kind == "table"]
    assert table.plain == "setting | default\nmax_size | 10\nidle_timeout | 300"
    with_caption = parsed(
        "<table><caption>Limits</caption><tr><th>a</th><th>b</th></tr><tr><td>1</td><td><p>2</p></td></tr></table>"
    )
    assert [(b.kind, b.plain) for b in with_caption.blocks()] == [("paragraph", "Limits"), ("table", "a | b\n1 | 2")]


def test_page_with_only_navigation_is_unparseable() -> None:
    html = """<html><head><title>Site map</title></head><body>
      <header><a href="/">Acme</a></header>
      <nav><ul><li><a href="/a">Docs</a></li><li><a href="/b">Blog</a></li></ul></nav>
      <footer>Copyright 2026 Acme Corp</footer>
      <script>console.log("hi")</script>
    </body></html>"""
    with pytest.raises(UnparseableDocument, match="HTML page has no main text content"):
        parse_html(html)


@pytest.mark.parametrize(
    "html",
    [
        "",
        "<html></html>",
        "<body>   </body>",
        "<body><img src='logo.png' alt='Logo'></body>",
        "<script>only()</script>",
        "<body><h1>Just a heading</h1></body>",
    ],
)
def test_pages_without_text_blocks_are_unparseable(html: str) -> None:
    with pytest.raises(UnparseableDocument):
        parse_html(html)


def test_entities_br_and_whitespace() -> None:
    doc = parsed(
        "<p>Fish &amp; chips&nbsp;&mdash; &#8220;quoted&#8221;,\n   spread\tout"
        "<br>second line<br/>third &lt;tag&gt;</p>"
    )
    [para] = doc.blocks()
    assert para.plain == "Fish & chips \u2014 \u201cquoted\u201d, spread out\nsecond line\nthird <tag>"


def test_nested_lists_are_one_list_block_with_every_item() -> None:
    html = """<body><ul>
      <li>Install <a href="/x">the package</a>
        <ol><li>with pip</li><li>or from <em>source</em></li></ol>
      </li>
      <li><p>Configure</p><p>with a file</p></li>
      <li>Run</li>
    </ul><p>After the list.</p></body>"""
    doc = parsed(html)
    assert [(b.kind, b.plain) for b in doc.blocks()] == [
        ("list", "- Install the package\n- with pip\n- or from source\n- Configure with a file\n- Run"),
        ("paragraph", "After the list."),
    ]


def test_list_items_holding_code_keep_the_code_verbatim() -> None:
    html = "<ul><li><p>Create the pool:</p><pre>pool = Pool()\n  # indented</pre></li><li>Use it.</li></ul>"
    doc = parsed(html)
    assert [(b.kind, b.plain) for b in doc.blocks()] == [
        ("list", "- Create the pool:"),
        ("code", "pool = Pool()\n  # indented"),
        ("list", "- Use it."),
    ]


def test_definition_lists_and_quotes() -> None:
    html = (
        """<body>
      <dl><dt>timeout</dt><dd>Seconds to wait.</dd>"""
        """<dt>retries</dt><dd><p>How often to retry.</p><pre>retries=3</pre></dd></dl>
      <blockquote><p>Errors should never pass silently.</p><p>Unless explicitly silenced.</p></blockquote>
    </body>"""
    )
    doc = parsed(html)
    assert [(b.kind, b.plain) for b in doc.blocks()] == [
        ("paragraph", "timeout"),
        ("paragraph", "Seconds to wait."),
        ("paragraph", "retries"),
        ("paragraph", "How often to retry."),
        ("code", "retries=3"),
        ("quote", "Errors should never pass silently.\nUnless explicitly silenced."),
    ]


def test_sphinx_object_descriptions_become_api_blocks() -> None:
    html = (
        """<html><head><title>json — JSON encoder and decoder — Python 3.11 documentation</title></head><body>
      <div class="related" role="navigation"><h3>Navigation</h3><ul><li><a href="index.html">index</a></li></ul></div>
      <div class="document"><div class="body" role="main"><section>
        <h1><code>json</code> — JSON encoder and decoder<a class="headerlink" href="#json">¶</a></h1>
        <dl class="py function">
          <dt class="sig sig-object py" id="json.dumps"><span class="sig-prename descclassname">json.</span>"""
        """<span class="sig-name descname">dumps</span>(<em>obj</em>, <em>*</em>, <em>indent=None</em>)"""
        """<a class="headerlink" href="#json.dumps">¶</a></dt>
          <dd><p>Serialize <em>obj</em> to a JSON formatted <code>str</code>.</p></dd>
        </dl>
        <p>Text after the function.</p>
      </section></div></div>
      <div class="sphinxsidebar" role="navigation"><h3>Previous topic</h3><p><a href="a.html">netrc</a></p></div>
      <div class="footer">&copy; Copyright 2001-2024, Python Software Foundation.</div>
    </body></html>"""
    )
    doc = parsed(html)
    assert doc.title == "json — JSON encoder and decoder"
    api, body, after = doc.blocks()
    assert api.kind == "api" and api.plain == "json.dumps(obj, *, indent=None)"
    assert api.api is not None and (api.api.kind, api.api.name, api.api.signature) == (
        "function",
        "json.dumps",
        api.plain,
    )
    assert body.plain == "Serialize obj to a JSON formatted str." and body.api == api.api
    assert after.api is None
    assert "¶" not in doc.text and "Previous topic" not in doc.text and "Copyright" not in doc.text


def test_page_without_main_uses_the_body_and_drops_link_bars() -> None:
    html = (
        """<html><body>
      <div><a href="/">Home</a> | <a href="/docs">Docs</a> | """
        """<a href="/pricing">Pricing</a> | <a href="/careers">Careers</a></div>
      <div id="header"><span>Acme</span></div>
      <div class="content"><h1>Caching</h1><p>The cache keeps recent results in memory for a minute.</p></div>
      <div id="footer">Copyright 2026 Acme</div>
    </body></html>"""
    )
    doc = parsed(html)
    assert [b.plain for b in doc.blocks()] == ["The cache keeps recent results in memory for a minute."]
    assert doc.sections[0].heading_path == ("Caching",)


def test_malformed_html_is_read_as_a_browser_would() -> None:
    html = (
        "<div><p>Unclosed <b>bold <i>both</b> text<p>Second<ul><li>one<li>two<ul><li>two.a</ul><li>three</ul>"
        "<table><tr><th>h<th>k<tr><td>1<td>2</table></span></div></div>"
    )
    doc = parsed(html)
    assert [(b.kind, b.plain) for b in doc.blocks()] == [
        ("paragraph", "Unclosed bold both text"),
        ("paragraph", "Second"),
        ("list", "- one\n- two\n- two.a\n- three"),
        ("table", "h | k\n1 | 2"),
    ]


def test_deeply_nested_markup_does_not_hit_the_recursion_limit() -> None:
    depth = 5000
    doc = parsed("<div>" * depth + "<p>deep <b>text</b></p>" + "</div>" * depth)
    assert [b.plain for b in doc.blocks()] == ["deep text"]


def test_empty_main_falls_back_to_the_body() -> None:
    doc = parsed("<body><main></main><div><p>Rendered outside main.</p></div><footer>Copyright</footer></body>")
    assert [b.plain for b in doc.blocks()] == ["Rendered outside main."]


def test_footnotes_and_sections_named_like_boilerplate_are_content() -> None:
    """docutils renders footnotes as <aside class="footnote">; a section's id comes from its heading."""
    html = (
        """<body><div role="main">
      <section id="cookie-objects"><h2>Cookie Objects</h2><p>A cookie object is a dictionary of morsels.</p></section>
      <section id="navigation"><h2>Navigation</h2><p>Keyboard shortcuts move between panes.</p></section>
      <p>See the RFC.<a class="footnote-reference" href="#f1">1</a></p>
      <aside class="footnote-list brackets">"""
        """<aside class="footnote brackets" id="f1" role="note"><p>RFC 6265, HTTP State Management.</p></aside></aside>
    </div><aside class="sidebar"><a href="/a">Other page</a> <a href="/b">Another</a></aside></body>"""
    )
    doc = parsed(html)
    assert [b.plain for b in doc.blocks()] == [
        "A cookie object is a dictionary of morsels.",
        "Keyboard shortcuts move between panes.",
        "See the RFC.1",
        "RFC 6265, HTTP State Management.",
    ]
    assert path_of(doc, "morsels") == ("Cookie Objects",)
    assert "Other page" not in doc.text
