"""PII redaction for documents before they are chunked, embedded or trained on.

Anything that reaches a vector index or a training set can be read back by a
model user, so personal data and secrets are replaced by typed placeholders
(``[EMAIL]``, ``[PHONE]``, ``[IP_ADDRESS]``, ``[CREDENTIAL]``) and counted, so a
pipeline can report how much it removed.

The patterns are tuned against technical documentation (the Python docs): a
regex that flags ``3.11.7``, ``2023-10-01``, ``s[::2]`` or ``password=None`` as
PII would make the counts useless, so every pattern is paired with negative
tests.  All patterns are precompiled, anchored on cheap literal prefixes or
word boundaries and free of nested unbounded quantifiers, so megabyte inputs
run in linear time.

Longer than 350 lines: one concern, the finders of four PII types whose matches are
merged (overlaps resolved, allowlist applied) in one place; each finder is a few
patterns with the exceptions that keep documentation text from matching, and
splitting them apart would scatter the pattern/exception pairs their tests pin down.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass

PII_TYPES: tuple[str, ...] = ("email", "phone", "ip_address", "credential")

_PLACEHOLDERS: dict[str, str] = {t: f"[{t.upper()}]" for t in PII_TYPES}

# When matches of different types overlap, the more specific type wins
# (a token that contains an email-like string is still a credential).
_PRIORITY: dict[str, int] = {"credential": 0, "email": 1, "ip_address": 2, "phone": 3}


@dataclass(frozen=True)
class Redaction:
    """Redacted text plus per-type counts, so callers can log what was removed."""

    text: str
    counts: dict[str, int]


# Patterns open with a literal or a character class and keep their lookbehind
# after the first character: sre can then skip ahead quickly instead of trying
# the lookbehind at every position of a multi-megabyte text.

# --------------------------------------------------------------------------- email

# Anchored on "@" (rare) and extended leftwards over the local part in Python.
_EMAIL_DOMAIN_RE = re.compile(r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])")
_EMAIL_LOCAL_RE = re.compile(r"[A-Za-z0-9._%+-]{1,65}\Z")
_EMAIL_MAX_LOCAL = 64

# --------------------------------------------------------------------------- phone

# International numbers must start with "+" and use separators, which rules out
# decimals, versions and dates; the digit count is checked afterwards.
_PHONE_INTL_RE = re.compile(
    r"\+(?<![\w+.]\+)"
    r"\d{1,3}"
    r"(?:[ .-]\(\d{1,4}\)|\(\d{1,4}\))?"
    r"(?:[ .-]\d{1,5}){1,5}"
    r"(?![\w]|[ .-]\d)"
)
# North-American style 3-3-4: "555-123-4567", "555.123.4567", "(555) 123-4567".
_PHONE_LOCAL_RE = re.compile(
    r"(?:\((?<![\w.+-]\()\d{3}\)[ ]?\d{3}[-. ]|\d(?<![\w.+-]\d)\d{2}(?P<sep>[-.])\d{3}(?P=sep))"
    r"\d{4}"
    r"(?![\w]|[.-]\d)"
)
# "555 123 4567": neighbouring digits (" 233 377 610 987 1597") mean a number
# sequence, not a phone, so spaced numbers must stand alone.
_PHONE_SPACED_RE = re.compile(r"\d(?<![\w.+-]\d)(?<!\d \d)\d{2} \d{3} \d{4}(?![\w]|[ .-]\d)")

# --------------------------------------------------------------------------- ip

# Dotted-quad candidate; octet ranges and leading zeros are checked in Python.
# A preceding "-" marks a package version ("novas-3.1.1.3.tar.gz"), not an address.
_IPV4_RE = re.compile(r"\d(?<![\w.-]\d)\d{0,2}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\w]|\.\d)")
# Loose IPv6 candidate; ipaddress.IPv6Address has the final word on validity.
_IPV6_RE = re.compile(
    r"(?<![\w:.-])"
    r"(?:[0-9A-Fa-f]{0,4}:){2,7}"
    r"(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{1,4})?"
    r"(?![\w:]|\.\w)"
)
_IPV6_ANCHOR_RE = re.compile(r":[0-9A-Fa-f]{0,4}:")
_IPV6_MAX_REACH = 48  # a candidate spans at most 7 * 5 + 15 characters
_HEX_COLON = frozenset("0123456789abcdefABCDEF:")

# --------------------------------------------------------------------------- credentials

# One pattern per token family so each starts with a literal prefix.
_CREDENTIAL_TOKEN_RES = tuple(
    re.compile(p + r"(?![\w-])")
    for p in (
        r"AKIA(?<![\w-]AKIA)[0-9A-Z]{16}",  # AWS access key id
        r"ASIA(?<![\w-]ASIA)[0-9A-Z]{16}",  # AWS temporary access key id
        r"gh(?<![\w-]gh)[pousr]_[A-Za-z0-9]{36,255}",  # GitHub tokens
        r"github_pat_(?<![\w-]github_pat_)[A-Za-z0-9_]{22,255}",  # GitHub fine-grained PAT
        r"xox(?<![\w-]xox)[abprs]-[A-Za-z0-9-]{10,250}",  # Slack tokens
        r"eyJ(?<![\w-]eyJ)[A-Za-z0-9_-]{8,4096}\.eyJ[A-Za-z0-9_-]{8,8192}\.[A-Za-z0-9_-]{0,4096}",  # JWT
    )
)
_PEM_RE = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY-----"
    r"[\s\S]{0,16384}?"
    r"-----END (?:[A-Z0-9]+ ){0,3}PRIVATE KEY-----"
)
_BEARER_RE = re.compile(
    r"\b(?i:Authorization)[\"']?[ \t]*[:=][ \t]*[\"']?(?i:Bearer)[ \t]+"
    r"(?P<value>[A-Za-z0-9\-._~+/]{8,4096}=*)"
)
# Key names that announce a secret; only the value after ":" / "=" is redacted.
_ASSIGN_KEYWORDS = r"passw(?:or)?d|passphrase|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key"
# Keywords are searched in the lowercased text (a fast case-sensitive scan); the
# full pattern is then matched at each hit.
_ASSIGN_KEYWORD_RE = re.compile(_ASSIGN_KEYWORDS)
_ASSIGN_RE = re.compile(
    rf"(?i:{_ASSIGN_KEYWORDS})"
    r"[\w-]{0,40}"
    r"[\"']?[ \t]*"
    r"(?::=|=(?!=)|:(?![:=]))"
    r"[ \t]*"
    r"(?:"
    r"[bBrRuU]{0,2}(?P<q>[\"'])(?P<qvalue>[^\"'\n]{0,256})(?P=q)"
    r"|(?P<uvalue>[A-Za-z0-9_\-./+=~!@#$%^&*?]{1,256})"
    r")"
)
_NON_SECRET_WORDS = frozenset(
    {"none", "null", "nil", "true", "false", "undefined", "yes", "no", "required", "optional"}
)
_IDENT_CHAIN_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_PLACEHOLDER_VALUE_RE = re.compile(r"[.*xX#_-]+|<[^>]*>|\{[^}]*\}|\$\{?\w+\}?|%\(\w+\)[sdr]|\[[A-Z_]+\]")


@dataclass(frozen=True)
class _Match:
    start: int
    end: int
    kind: str


def _iter_email(text: str) -> Iterator[tuple[int, int]]:
    for m in _EMAIL_DOMAIN_RE.finditer(text):
        at = m.start()
        local = _EMAIL_LOCAL_RE.search(text, max(0, at - _EMAIL_MAX_LOCAL - 1), at)
        if local is None or len(local.group()) > _EMAIL_MAX_LOCAL or not local.group()[0].isalnum():
            continue
        start = local.start()
        if start and (text[start - 1].isalnum() or text[start - 1] == "_"):
            continue  # part of a longer word: not an address boundary
        yield start, m.end()


def _iter_phone(text: str) -> Iterator[tuple[int, int]]:
    for m in _PHONE_INTL_RE.finditer(text):
        digits = sum(c.isdigit() for c in m.group())
        if 8 <= digits <= 15:
            yield m.span()
    for rx in (_PHONE_LOCAL_RE, _PHONE_SPACED_RE):
        for m in rx.finditer(text):
            yield m.span()


def _is_slice_context(text: str, start: int, end: int) -> bool:
    """``x[1::2]`` is a slice, not an address: '[' right after an expression."""
    if start < 2 or text[start - 1] != "[":
        return False
    before = text[start - 2]
    return before.isalnum() or before in "_)]'\""


def _at_line_end(text: str, pos: int) -> bool:
    rest = text[pos : pos + 64].lstrip(" \t")
    return not rest or rest[0] in "\r\n"


def _valid_octets(quad: str) -> bool:
    return all(len(o) == 1 or (o[0] != "0" and int(o) <= 255) for o in quad.split("."))


def _ipv6_candidates(text: str) -> Iterator[re.Match[str]]:
    """``_IPV6_RE.finditer`` without trying the pattern at every character.

    A candidate can only start where a run of hex digits and colons starts, and
    it contains ``:h:`` (two colons at most four hex digits apart), so the
    pattern is tried once per run that holds such an anchor.
    """
    end = 0
    last_start = -1
    for anchor in _IPV6_ANCHOR_RE.finditer(text):
        pos = anchor.start()
        if pos < end:
            continue
        start, limit = pos, max(0, pos - _IPV6_MAX_REACH)
        while start > limit and text[start - 1] in _HEX_COLON:
            start -= 1
        if start == limit and start > 0 and text[start - 1] in _HEX_COLON:
            continue  # the run starts too far left for a match from there to reach this anchor
        if start == last_start:
            continue
        last_start = start
        m = _IPV6_RE.match(text, start)
        if m is not None:
            end = m.end()
            yield m


def _iter_ip(text: str) -> Iterator[tuple[int, int]]:
    for m in _IPV4_RE.finditer(text):
        if _valid_octets(m.group()):
            yield m.span()
    for m in _ipv6_candidates(text):
        cand = m.group()
        if cand == "::" or not any(c.isdigit() for c in cand):
            continue
        if cand.endswith("::") and cand.count(":") == 2 and _at_line_end(text, m.end()):
            continue  # reST literal-block marker: "rank higher than 50::"
        if _is_slice_context(text, m.start(), m.end()):
            continue
        try:
            ipaddress.IPv6Address(cand)
        except ValueError:
            continue
        yield m.span()


def _is_secret_value(value: str, following: str) -> bool:
    """Decide whether an unquoted assignment value is a literal secret.

    Code samples assign variables (``password=password``), attributes
    (``token.NAME``), calls and sentinels far more often than literal secrets,
    so identifiers are only treated as secrets when they look random
    (letters mixed with digits, 8+ characters).
    """
    if not value or value.lower() in _NON_SECRET_WORDS:
        return False
    if following[:1] in ("(", "["):  # a call or subscript expression
        return False
    if _PLACEHOLDER_VALUE_RE.fullmatch(value):
        return False
    if value.replace(".", "", 1).isdigit():
        return False
    if _IDENT_CHAIN_RE.fullmatch(value):
        if "." in value:
            return False
        has_digit = any(c.isdigit() for c in value)
        has_alpha = any(c.isalpha() for c in value)
        return has_digit and has_alpha and len(value) >= 8
    return True


def _is_secret_literal(value: str) -> bool:
    """A quoted literal is a secret unless empty, a sentinel or a placeholder.

    A value that starts with punctuation or whitespace is really the gap
    between two string literals (``prompt='Password: ', x='y'``), not a value.
    """
    if not value or value != value.strip() or value[0] in ",;)]}+%":
        return False
    return value.lower() not in _NON_SECRET_WORDS and not _PLACEHOLDER_VALUE_RE.fullmatch(value)


def _iter_find(haystack: str, needle: str) -> Iterator[int]:
    pos = haystack.find(needle)
    while pos >= 0:
        yield pos
        pos = haystack.find(needle, pos + 1)


def _matches_at(pattern: re.Pattern[str], text: str, starts: Iterable[int]) -> Iterator[re.Match[str]]:
    """Like ``pattern.finditer`` but only tried at candidate positions, non-overlapping."""
    end = 0
    for start in starts:
        if start < end:
            continue
        m = pattern.match(text, start)
        if m is not None:
            end = m.end()
            yield m


def _iter_credential(text: str) -> Iterator[tuple[int, int]]:
    for pattern in _CREDENTIAL_TOKEN_RES:
        for m in pattern.finditer(text):
            yield m.span()
    for m in _PEM_RE.finditer(text):
        yield m.span()
    lowered = text.lower()
    if len(lowered) != len(text):  # rare non-ASCII case changes shift offsets: scan the original
        bearers: Iterable[re.Match[str]] = _BEARER_RE.finditer(text)
        assigns: Iterable[re.Match[str]] = _ASSIGN_RE.finditer(text)
    else:
        bearers = _matches_at(_BEARER_RE, text, _iter_find(lowered, "authorization"))
        assigns = _matches_at(_ASSIGN_RE, text, (m.start() for m in _ASSIGN_KEYWORD_RE.finditer(lowered)))
    for m in bearers:
        yield m.span("value")
    for m in assigns:
        if m.group("q") is not None:
            if _is_secret_literal(m.group("qvalue")):
                yield m.span("qvalue")
        else:
            end = m.end("uvalue")
            if _is_secret_value(m.group("uvalue"), text[end : end + 1]):
                yield m.span("uvalue")


_FINDERS: dict[str, Callable[[str], Iterator[tuple[int, int]]]] = {
    "email": _iter_email,
    "phone": _iter_phone,
    "ip_address": _iter_ip,
    "credential": _iter_credential,
}


def _check_types(types: Sequence[str]) -> tuple[str, ...]:
    unknown = [t for t in types if t not in _FINDERS]
    if unknown:
        raise ValueError(f"unknown PII types {unknown}; expected a subset of {PII_TYPES}")
    return tuple(dict.fromkeys(types))


def _find(text: str, types: tuple[str, ...], allowlist: Collection[str]) -> list[_Match]:
    """All non-overlapping matches; overlaps go to the longer, then more specific match."""
    allowed = frozenset(allowlist)
    found = [
        _Match(s, e, kind) for kind in types for s, e in _FINDERS[kind](text) if e > s and text[s:e] not in allowed
    ]
    found.sort(key=lambda m: (m.start, -(m.end - m.start), _PRIORITY[m.kind]))
    kept: list[_Match] = []
    for m in found:
        if kept and m.start < kept[-1].end:
            continue
        kept.append(m)
    return kept


def redact_pii(text: str, types: Sequence[str] = PII_TYPES, allowlist: Collection[str] = ()) -> Redaction:
    """Replace PII with typed placeholders; allowlisted exact strings survive."""
    kinds = _check_types(types)
    matches = _find(text, kinds, allowlist)
    counts = dict.fromkeys(kinds, 0)
    parts: list[str] = []
    pos = 0
    for m in matches:
        parts.append(text[pos : m.start])
        parts.append(_PLACEHOLDERS[m.kind])
        counts[m.kind] += 1
        pos = m.end
    parts.append(text[pos:])
    return Redaction(text="".join(parts), counts=counts)


def count_pii(text: str, types: Sequence[str] = PII_TYPES, allowlist: Collection[str] = ()) -> dict[str, int]:
    """Count PII without building the redacted text (for reporting/quality checks)."""
    kinds = _check_types(types)
    counts = dict.fromkeys(kinds, 0)
    for m in _find(text, kinds, allowlist):
        counts[m.kind] += 1
    return counts


def find_pii(text: str, types: Sequence[str] = PII_TYPES, allowlist: Collection[str] = ()) -> list[tuple[str, str]]:
    """``(type, matched_text)`` pairs, so reviewers can judge false positives."""
    kinds = _check_types(types)
    return [(m.kind, text[m.start : m.end]) for m in _find(text, kinds, allowlist)]
