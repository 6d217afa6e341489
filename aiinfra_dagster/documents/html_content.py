"""Which part of an HTML page is its main content: the content root and the boilerplate under it.

Why a module: choosing what is content (landmarks, names, link density) is one concern; turning the
chosen elements into text and blocks (``html``, ``html_text``) is another.

The rules:
1. The content root is ``<main>``, else ``[role=main]``, else the only ``<article>``, else
   ``<body>`` (and ``<body>`` again when the root gives no block, e.g. an empty ``<main>``).
2. Never content: script/style/template/svg/iframe/media/forms and their controls, ``nav``,
   ``footer`` (except a quote's attribution), ``header`` outside an article when the root is
   ``<body>``, landmark roles (navigation, banner, contentinfo, complementary, search, dialog,
   menu), hidden elements, Sphinx/MkDocs header links ("¶"); ``aside`` too, except footnotes and
   notes (docutils renders footnotes as ``aside.footnote``) and, inside ``<main>``, an aside that
   is mostly not links (a reST sidebar, a callout).
3. Boilerplate by name: elements whose class/id says cookie/consent/GDPR (when short), a site
   header (class/id "header" without an h1/h2), or nav/menu/sidebar/breadcrumb/footer/toc/related/
   share/social/newsletter/pagination/... (unless the element is most of the page and not link
   text: a wrapper, not a menu). A ``<section>``'s id is not read: it comes from its heading
   ("cookie-objects" is content).
4. When the root is ``<body>`` (no landmarks at all): link lists (>= 3 links, >= 80% of the
   text in links, no headings/code inside) are navigation.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

_NEVER_CONTENT = frozenset(
    "script style noscript template svg iframe object embed canvas video audio picture source track map "
    "form button select input textarea "
    "dialog nav menu head title meta link base".split()
)
_LANDMARKS = (
    "[role=navigation i], [role=banner i], [role=contentinfo i], [role=complementary i], [role=search i], "
    "[role=dialog i], [role=alertdialog i], [role=menu i], [role=menubar i], [hidden], [aria-hidden=true i], "
    '[style*="display:none" i], [style*="display: none" i], a.headerlink'
)
_COOKIE_RE = re.compile(r"cookie|consent|gdpr|onetrust|cookiebot|cc-window|cc-banner")
_BOILERPLATE_NAMES = frozenset(
    "nav navbar navigation menu menubar sidebar sphinxsidebar breadcrumb breadcrumbs footer toc related share sharing "
    "social newsletter subscribe advert advertisement ads sponsor sponsored popup modal skip masthead topbar signup "
    "promo comments disqus pagination pager".split()
)
_NOTE_RE = re.compile(r"footnote|admonition|\bnote\b")
"""An ``<aside>`` that is part of the text: docutils/Sphinx footnotes (``aside.footnote``, ``role=note``),
admonitions."""
_NAME_SPLIT_RE = re.compile(r"[^a-z0-9]+")


def _content_root(tree: LexborHTMLParser, body: LexborNode) -> LexborNode:
    for selector in ("main", "[role=main i]"):
        node = tree.css_first(selector)
        if node is not None and not node.attributes.keys() & {"hidden"}:
            return node
    articles = tree.css("article")
    if len(articles) == 1:
        return articles[0]
    return body


def _skipped(root: LexborNode, *, body_root: bool) -> frozenset[int]:
    """``mem_id``s of the elements under ``root`` that are not content (rules 2-4 of the module docstring)."""
    skip: set[int] = set()
    root_id = root.mem_id
    for node in root.css(_LANDMARKS):
        if node.mem_id != root_id:
            skip.add(node.mem_id)
    for node in root.css("aside"):
        attrs = node.attributes
        if _NOTE_RE.search(f"{attrs.get('class') or ''} {attrs.get('role') or ''}".lower()):
            continue
        if not body_root and _link_chars(node) < 0.3 * _chars(node):
            continue  # inside the main content and mostly not links: a reST sidebar or a callout, not site navigation
        skip.add(node.mem_id)
    for node in root.css("footer"):
        if not _has_ancestor(node, "blockquote", root_id):
            skip.add(node.mem_id)
    if body_root:
        for node in root.css("header"):
            if not _has_ancestor(node, "article", root_id):
                skip.add(node.mem_id)
    root_chars = _chars(root) or 1
    for node in root.css(
        "div[class], div[id], section[class], section[id], ul[class], ul[id], ol[class], ol[id], span[id], p[id]"
    ):
        if node.mem_id == root_id:
            continue
        attrs = node.attributes
        classes = (attrs.get("class") or "").lower()
        # a section's id comes from its heading ("cookie-objects", "pagination"): it names content, not chrome
        name = (
            classes
            if node.tag == "section" or "section" in classes.split()
            else f"{classes} {(attrs.get('id') or '').lower()}"
        )
        if _COOKIE_RE.search(name):
            if _chars(node) < max(2000, root_chars // 3):
                skip.add(node.mem_id)
            continue
        tokens = _NAME_SPLIT_RE.split(name)
        if "header" in tokens and node.css_first("h1, h2") is None:
            skip.add(node.mem_id)  # a site header; a page header holds the page's h1/h2
        elif not _BOILERPLATE_NAMES.isdisjoint(tokens):
            chars = _chars(node)
            if chars < root_chars // 2 or _link_chars(node) > 0.5 * chars:
                skip.add(node.mem_id)
    if body_root:
        for node in _link_holders(root):
            if node.css_first("h1, h2, h3, pre") is not None:
                continue
            links = node.css("a")
            if len(links) < 3:
                continue
            chars = _chars(node)
            if chars and _link_chars(node, links) >= 0.8 * chars:
                skip.add(node.mem_id)
    return frozenset(skip)


def _link_holders(root: LexborNode) -> list[LexborNode]:
    """The lists, divs, paragraphs and tables up to four levels above a link (not ``root``), each once.

    Only these can be link bars; looking at every element instead costs a subtree query per
    element, quadratic on deeply nested markup."""
    seen = {root.mem_id}
    holders: list[LexborNode] = []
    for link in root.css("a"):
        node = link.parent
        for _ in range(4):
            if node is None:
                break
            if node.mem_id not in seen and node.tag in ("ul", "ol", "div", "p", "table"):
                holders.append(node)
            seen.add(node.mem_id)
            node = node.parent
    return holders


def _has_ancestor(node: LexborNode, tag: str, stop_id: int) -> bool:
    parent = node.parent
    while parent is not None and parent.mem_id != stop_id:
        if parent.tag == tag:
            return True
        parent = parent.parent
    return False


def _chars(node: LexborNode) -> int:
    """Non-space characters of the text under ``node``."""
    return len("".join(node.text(deep=True).split()))


def _link_chars(node: LexborNode, links: list[LexborNode] | None = None) -> int:
    return sum(_chars(a) for a in (links if links is not None else node.css("a")))
