"""Labeling functions: versions follow code and parameters, votes stay inside the class list."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aiinfra_dagster.labels.functions import (
    ABSTAIN,
    ChunkView,
    LabelingFunction,
    apply_functions,
    generic_labeling_functions,
    heading_class_function,
    keyword_labeling_functions,
    labeling_function,
)
from aiinfra_dagster.python_docs.evaluate_corpus import chunk_page
from aiinfra_dagster.python_docs.labeling import CHAPTER_KEYWORDS, python_labeling_functions

PY_DOCS = Path("/usr/share/doc/python3.11/html/_sources")
ALL_CLASSES = list(CHAPTER_KEYWORDS)
NET = "Networking and Interprocess Communication"
TEXT = "Text Processing Services"
SUPERSEDED = "Superseded Modules"


def chunk(text: str, section: str = "", path: str = "library/x.rst.txt") -> ChunkView:
    return ChunkView(chunk_id="c", path=path, section=section, text=text)


def says_networking(c: ChunkView) -> str | None:
    return NET if "socket" in c.text else ABSTAIN


def says_networking_louder(c: ChunkView) -> str | None:
    return NET if "socket" in c.text.lower() else ABSTAIN


def test_version_follows_code_and_parameters() -> None:
    a = labeling_function("net", says_networking)
    assert a.version == labeling_function("net", says_networking).version
    assert len(a.version) == 12 and int(a.version, 16) >= 0
    assert labeling_function("net", says_networking_louder).version != a.version
    assert labeling_function("net", says_networking, {"k": 1}).version != a.version
    assert (
        labeling_function("net", says_networking, {"k": 1}).version
        != labeling_function("net", says_networking, {"k": 2}).version
    )
    # Helpers the LF calls can be declared so editing them changes the version too.
    assert labeling_function("net", says_networking, depends=(says_networking_louder,)).version != a.version


def test_keyword_spec_versions_change_only_for_the_edited_label() -> None:
    spec_a = {"Networking": ["socket", "tcp"], "Text": ["regex", r"re\.compile\("]}
    spec_b = {"Networking": ["socket", "tcp", "udp"], "Text": ["regex", r"re\.compile\("]}
    a = {lf.name: lf for lf in keyword_labeling_functions(spec_a)}
    b = {lf.name: lf for lf in keyword_labeling_functions(spec_b)}
    assert sorted(a) == ["kw_networking", "kw_text"]
    assert a["kw_networking"].version != b["kw_networking"].version
    assert a["kw_text"].version == b["kw_text"].version
    assert keyword_labeling_functions(spec_a, min_hits=2)[0].version != a["kw_networking"].version


def test_keyword_matching_rules() -> None:
    lfs = {
        lf.name: lf
        for lf in keyword_labeling_functions({"Net work": ["tcp", "network socket"], "Text": [r"re\.\w+\("]})
    }
    net, text = lfs["kw_net_work"], lfs["kw_text"]
    assert net.apply(chunk("Open a TCP connection")) == "Net work"
    assert net.apply(chunk("run tcpdump")) is ABSTAIN  # plain words match whole words only
    assert net.apply(chunk("a network\n  socket")) == "Net work"  # any whitespace between words
    assert net.apply(chunk("nothing here", section="TCP servers")) == "Net work"  # headings count
    assert text.apply(chunk("call re.sub(p, r, s)")) == "Text"
    assert text.apply(chunk("the re module")) is ABSTAIN
    two_hits = keyword_labeling_functions({"Net": ["tcp"]}, min_hits=2)[0]
    assert two_hits.apply(chunk("tcp")) is ABSTAIN
    assert two_hits.apply(chunk("tcp and tcp")) == "Net"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"Net": "socket"}, "must be a list"),
        ({"Net": []}, "must not be empty"),
        ({"Net": ["(unclosed"]}, "bad keyword regex"),
        ({"Data types": ["a"], "data-types": ["b"]}, "share the LF name"),
    ],
)
def test_bad_keyword_specs(spec: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        keyword_labeling_functions(spec)


def test_default_lfs_vote_on_typical_python_docs_text() -> None:
    lfs = {lf.name: lf for lf in python_labeling_functions(ALL_CLASSES)}
    sock = chunk("Use :mod:`socket` and :mod:`selectors` to accept TCP connections on a socket.")
    assert lfs["module_roles"].apply(sock) == NET
    assert lfs["topic_networking_and_interprocess_communication"].apply(sock) == NET
    assert lfs["heading_topic"].apply(chunk("", section=":mod:`re` --- Regular expression operations")) == TEXT
    assert lfs["import_statements"].apply(chunk(">>> import re\n>>> re.compile('a+')")) == TEXT
    assert lfs["qualified_references"].apply(chunk("See :func:`re.sub` and :func:`re.match`.")) == TEXT
    assert lfs["module_directive"].apply(chunk(".. module:: optparse\n   :synopsis: old")) == SUPERSEDED
    assert lfs["deprecation_removal"].apply(chunk(".. deprecated-removed:: 3.11 3.13")) == SUPERSEDED
    # A tie between two chapters is not forced either way.
    assert lfs["module_roles"].apply(chunk("Compare :mod:`re` with :mod:`socket`.")) is ABSTAIN
    assert all(lf.apply(chunk("Nothing specific is said here.")) is ABSTAIN for lf in lfs.values())


def test_default_lfs_never_read_the_path() -> None:
    """The page name would be a lookup of the answer, not a heuristic about the text."""
    lfs = python_labeling_functions(ALL_CLASSES)
    text = "Use :mod:`socket` to open TCP connections; see :func:`ssl.wrap_socket` and :mod:`select`."
    at_socket = [lf.apply(chunk(text, path="library/socket.rst.txt")) for lf in lfs]
    at_json = [lf.apply(chunk(text, path="library/json.rst.txt")) for lf in lfs]
    assert at_socket == at_json
    assert NET in at_socket


def test_default_lfs_emit_only_allowed_classes_on_real_pages() -> None:
    allowed = [TEXT, "Data Types", "Concurrent Execution"]
    lfs = python_labeling_functions(allowed)
    names = {lf.name for lf in lfs}
    assert "topic_text_processing_services" in names
    assert "topic_networking_and_interprocess_communication" not in names
    assert "deprecation_removal" not in names  # its class is not in the list
    views = []
    for page in ("re", "socket", "threading", "optparse", "collections"):
        text = (PY_DOCS / f"library/{page}.rst.txt").read_text(encoding="utf-8")
        views += [chunk(body, section) for section, body in chunk_page(text)[:40]]
    emitted = {lf.apply(v) for lf in lfs for v in views} - {None}
    assert emitted and emitted <= set(allowed)
    votes = apply_functions(lfs, views, allowed)
    assert votes.shape == (len(views), len(lfs))
    assert votes.min() >= -1 and votes.max() < len(allowed)
    # The chunks of re.rst mostly get "Text Processing Services" when anything fires.
    re_rows = votes[:40]
    assert (re_rows == 0).sum() > (re_rows > 0).sum()


def test_default_lf_versions_are_stable_and_names_unique() -> None:
    first = python_labeling_functions(ALL_CLASSES)
    second = python_labeling_functions(ALL_CLASSES)
    assert [(lf.name, lf.version) for lf in first] == [(lf.name, lf.version) for lf in second]
    assert len({lf.name for lf in first}) == len(first)
    # The class list is a parameter of the multi-class LFs, so it changes their version.
    narrower = {lf.name: lf.version for lf in python_labeling_functions(ALL_CLASSES[:-1])}
    assert narrower["heading_topic"] != {lf.name: lf.version for lf in first}["heading_topic"]


def test_apply_functions_matrix() -> None:
    classes = ["a", "b", "c"]
    lfs = [
        LabelingFunction("first_letter", lambda c: c.text[0] if c.text[0] in "abc" else None, "v1"),
        LabelingFunction("always_c", lambda c: "c", "v1"),
        LabelingFunction("never", lambda c: ABSTAIN, "v1"),
    ]
    views = [chunk("apple"), chunk("banana"), chunk("zebra")]
    votes = apply_functions(lfs, views, classes)
    assert votes.dtype.kind == "i"
    np.testing.assert_array_equal(votes, [[0, 2, -1], [1, 2, -1], [-1, 2, -1]])
    assert apply_functions(lfs, [], classes).shape == (0, 3)


def test_apply_functions_rejects_unknown_labels_and_duplicate_names() -> None:
    rogue = LabelingFunction("rogue", lambda c: "d", "v1")
    with pytest.raises(ValueError, match="'rogue' emitted 'd'"):
        apply_functions([rogue], [chunk("x")], ["a", "b"])
    with pytest.raises(ValueError, match="unique"):
        apply_functions([rogue, rogue], [chunk("x")], ["a", "d"])
    with pytest.raises(ValueError, match="classes must be unique"):
        apply_functions([rogue], [chunk("x")], ["d", "d"])


def test_heading_class_votes_the_one_class_its_heading_names() -> None:
    lf = heading_class_function(["Incident response", "Security", "C++ builds"], {"Security": ["vault", "secrets"]})
    assert lf.apply(chunk("x", section="Handbook > Incident Response > Paging")) == "Incident response"
    assert lf.apply(chunk("x", section="Storing secrets")) == "Security"  # a class keyword in the heading
    assert lf.apply(chunk("x", section="Faster C++ builds")) == "C++ builds"  # names are literal, not regexes
    assert lf.apply(chunk("vault", section="Overview")) is ABSTAIN  # the text is the keyword LFs' business
    assert lf.apply(chunk("x", section="Security incident response")) is ABSTAIN  # two classes named: abstain
    other = heading_class_function(["Incident response", "Security"], {"Security": ["vault"]})
    assert other.version != lf.version


def test_generic_functions_come_from_the_users_classes_and_keywords() -> None:
    lfs = generic_labeling_functions(["Databases", "Security"], {"Security": ["vault"], "Unknown": ["x"]})
    assert [lf.name for lf in lfs] == ["kw_security", "heading_class"]
    votes = apply_functions(lfs, [chunk("Rotate the vault token.", section="Databases")], ["Databases", "Security"])
    assert votes.tolist() == [[1, 0]]
    assert generic_labeling_functions([], {"Security": ["vault"]}) == []
