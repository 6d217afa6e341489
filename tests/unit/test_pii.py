from __future__ import annotations

import time

import pytest

from aiinfra_dagster.data.pii import PII_TYPES, Redaction, count_pii, find_pii, redact_pii


def _only(text: str, kind: str) -> list[str]:
    return [m for k, m in find_pii(text) if k == kind]


# ----------------------------------------------------------------------------- email


@pytest.mark.parametrize(
    "email",
    ["jane.doe@example.com", "python-list@python.org", "steve+python@pearwood.info", "a_b@sub.domain.co.uk"],
)
def test_email_positive(email: str) -> None:
    text = f"Contact {email}, please."
    assert _only(text, "email") == [email]
    assert redact_pii(text).text == "Contact [EMAIL], please."


@pytest.mark.parametrize(
    "text",
    ["use the @decorator syntax", "git@ is not an address", "x @ y matrix product", "a@b"],
)
def test_email_negative(text: str) -> None:
    assert count_pii(text)["email"] == 0


# ----------------------------------------------------------------------------- phone


@pytest.mark.parametrize(
    "phone",
    ["+1 555-123-4567", "(555) 123-4567", "555.123.4567", "555-123-4567", "+44 20 7946 0958", "+1 (555) 123-4567"],
)
def test_phone_positive(phone: str) -> None:
    text = f"Call {phone} today."
    assert _only(text, "phone") == [phone]
    assert redact_pii(text, types=["phone"]).text == "Call [PHONE] today."


@pytest.mark.parametrize(
    "text",
    [
        "Python 3.11.7 was released",
        "on 2023-10-01 at 12:30:45",
        "pi is 3.14159265358979",
        "the sequence 1-2-3",
        "address 0x1234 in memory",
        "the number 123456",
        "0 1 1 2 3 5 8 13 21 34 55 89 144 233 377 610 987 1597",
        "PEP 8 and PEP 484",
        "ISBN 978-0-13-110362-7",
        "x = 1.5e10 + 2",
        "1234-567-8901",
    ],
)
def test_phone_negative(text: str) -> None:
    assert count_pii(text)["phone"] == 0


# ----------------------------------------------------------------------------- ip


@pytest.mark.parametrize(
    "ip",
    [
        "192.168.0.1",
        "127.0.0.1",
        "255.255.255.255",
        "2001:db8::1",
        "fe80::1234",
        "::1",
        "2001:0db8:0000:0000:0000:0000:0000:0001",
        "::ffff:192.0.2.1",
        "2001::",
    ],
)
def test_ip_positive(ip: str) -> None:
    text = f"connect to {ip} now"
    assert _only(text, "ip_address") == [ip]
    assert redact_pii(text).text == "connect to [IP_ADDRESS] now"


def test_ip_in_url_brackets_and_quotes() -> None:
    assert _only("http://[::1]:8080/ and '::1'", "ip_address") == ["::1", "::1"]


@pytest.mark.parametrize(
    "text",
    [
        "Python 3.11.7 is out",
        "version 1.2.3",
        "256.1.1.1 is not valid",
        "01.02.03.04",
        "the OID 1.3.6.1.4.1 is long",
        "Downloading novas-3.1.1.3.tar.gz (136kB)",
        "std::vector<int>",
        "at 12:30:45 today",
        "s[::2] reverses, s[1::2] takes odds, s[::-1]",
        "the empty :: alone",
        "socket.AF_INET6 family",
        "remove all countries with a rank higher than 50::\n\n   code",
        "in Python 2::\n",
        "MAC 00:1B:44:11:3A:B7",
        "Example::\n\n    face::\n",
    ],
)
def test_ip_negative(text: str) -> None:
    assert count_pii(text)["ip_address"] == 0


# ----------------------------------------------------------------------------- credentials


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("key id AKIAIOSFODNN7EXAMPLE in config", "AKIAIOSFODNN7EXAMPLE"),
        ("GITHUB ghp_" + "a1B2" * 9 + " leaked", "ghp_" + "a1B2" * 9),
        ("pat github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz here", None),
        ("slack xoxb-123456789012-abcdefABCDEF here", "xoxb-123456789012-abcdefABCDEF"),
        ("Authorization: Bearer abc.DEF-123_xyz~tok", "abc.DEF-123_xyz~tok"),
        (
            "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U ok",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        ),
    ],
)
def test_credential_tokens(text: str, secret: str | None) -> None:
    found = _only(text, "credential")
    assert len(found) == 1
    if secret is not None:
        assert found == [secret]
    assert "[CREDENTIAL]" in redact_pii(text).text


def test_private_key_block_is_redacted_whole() -> None:
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAK\n-----END RSA PRIVATE KEY-----"
    red = redact_pii(f"before\n{pem}\nafter")
    assert red.text == "before\n[CREDENTIAL]\nafter"
    assert red.counts["credential"] == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('password = "hunter2"', 'password = "[CREDENTIAL]"'),
        ("api_key: sk4f8a9b7c6d5e", "api_key: [CREDENTIAL]"),
        ("secret=s3cr3tP4ssw0rd", "secret=[CREDENTIAL]"),
        ("token='abc'", "token='[CREDENTIAL]'"),
        ("{'password': 'kadidd!ehopper'}", "{'password': '[CREDENTIAL]'}"),
        ('DB_PASSWORD="x y z"', 'DB_PASSWORD="[CREDENTIAL]"'),
        ("GITHUB_TOKEN=ghp_" + "z9" * 18, "GITHUB_TOKEN=[CREDENTIAL]"),
    ],
)
def test_credential_assignment_keeps_key(text: str, expected: str) -> None:
    red = redact_pii(text)
    assert red.text == expected
    assert red.counts["credential"] == 1


@pytest.mark.parametrize(
    "text",
    [
        "os.environ['PASSWORD']",
        "password = os.environ['PASSWORD']",
        "def login(user, password=None): ...",
        "self.password = password",
        "conn.login(password=password)",
        "token.NAME and token.OP",
        "tok = token.NAME",
        "token = tokenize.generate_tokens(f.readline)",
        "password = getpass.getpass()",
        "passwd=''",
        "use_token=True, secret=False",
        "def getpass(prompt='Password: ', stream=None):",
        'tn.read_until(b"Password: ")',
        "if password == 'x':",
        "password: once a connection is established",
        ":token:`~python-grammar:expression`",
        "password = '<your password>'",
        "api_key = '...'",
        "token := next(it)",
        "token = 1",
    ],
)
def test_credential_negatives_in_doc_text(text: str) -> None:
    assert count_pii(text)["credential"] == 0, find_pii(text)


def test_doc_text_negatives_have_no_pii_at_all() -> None:
    text = (
        "Use :func:`os.getpid` and ``socket.AF_INET6``.  Python 3.11.7 follows PEP 8.\n"
        "Released 2023-10-01 at 12:30:45; sequence 1-2-3; value 0x1234 or 123456.\n"
        "In C++ ``std::vector`` differs.  Slices like ``s[::2]``::\n\n"
        "   >>> token.NAME\n   >>> password = None\n   >>> f(password=password)\n"
    )
    assert count_pii(text) == dict.fromkeys(PII_TYPES, 0)


# ----------------------------------------------------------------------------- api


def test_counts_have_every_requested_type_and_count_correctly() -> None:
    text = "a@example.com b@example.org 10.0.0.1 555-123-4567 password='pw1' AKIAIOSFODNN7EXAMPLE"
    red = redact_pii(text)
    assert isinstance(red, Redaction)
    assert red.counts == {"email": 2, "phone": 1, "ip_address": 1, "credential": 2}
    assert count_pii(text) == red.counts
    assert count_pii(text, types=["email"]) == {"email": 2}
    assert count_pii("nothing here", types=["phone", "email"]) == {"phone": 0, "email": 0}


def test_types_filter_leaves_other_kinds_alone() -> None:
    text = "mail a@example.com from 10.0.0.1"
    assert redact_pii(text, types=["ip_address"]).text == "mail a@example.com from [IP_ADDRESS]"


def test_allowlist_keeps_exact_matches() -> None:
    text = "docs@python.org and jane@example.com, 127.0.0.1 and 10.1.2.3"
    red = redact_pii(text, allowlist={"docs@python.org", "127.0.0.1"})
    assert red.text == "docs@python.org and [EMAIL], 127.0.0.1 and [IP_ADDRESS]"
    assert red.counts == {"email": 1, "phone": 0, "ip_address": 1, "credential": 0}


def test_unknown_type_rejected() -> None:
    with pytest.raises(ValueError, match="ssn"):
        redact_pii("x", types=["ssn"])


def test_overlapping_matches_are_counted_once() -> None:
    # The JWT-like token contains digits that could look like other PII; one credential wins.
    text = "token = 'ghp_" + "1" * 36 + "'"
    assert count_pii(text) == {"email": 0, "phone": 0, "ip_address": 0, "credential": 1}


def test_large_input_is_linear_time() -> None:
    block = (
        "Some prose about sockets, socket.AF_INET6 and 3.11.7 with a@example.com.\n"
        "password = None  # no secret; 192.168.0.1 and 2001:db8::1 ---- ::: ... @@@ \n"
    )
    adversarial = "a" * 50_000 + "@" + "b." * 20_000 + " " + ":" * 20_000 + "1." * 20_000 + "+1 " * 5_000
    text = block * 20_000 + adversarial  # ~3.2 MB
    start = time.perf_counter()
    counts = count_pii(text)
    elapsed = time.perf_counter() - start
    assert counts["email"] >= 20_000
    assert counts["ip_address"] >= 40_000
    assert elapsed < 10, elapsed


def test_redaction_is_idempotent() -> None:
    text = (
        'password = "hunter2", api_key: sk4f8a9b7c6d5e, token=ghp_' + "a1" * 18 + "\n"
        "Authorization: Bearer abcdefgh12345678 a@example.com +1 555-123-4567 10.0.0.1 ::1\n"
    )
    once = redact_pii(text)
    assert once.counts == {"email": 1, "phone": 1, "ip_address": 2, "credential": 4}
    assert count_pii(once.text) == dict.fromkeys(PII_TYPES, 0)
    assert redact_pii(once.text).text == once.text
