import copy
import json
import re
from collections import Counter

import pytest

from {{ cookiecutter.package_name }}.data.pii import (
    PII_TYPES,
    Finding,
    apply_policy,
    iban_ok,
    luhn_ok,
    redact,
    scan,
)

# Token-shaped fixtures are assembled from parts so that no complete key appears in the source.
GITHUB = "ghp_" + "A1b2C3d4E5" * 3 + "f6G7h8"
SLACK = "xoxb-" + "1234567890-abcdefghij"
OPENAI = "sk-" + "proj-" + "a1B2c3D4e5F6g7H8i9J0"
GOOGLE = "AIza" + "Sy" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"
STRIPE = "sk_" + "live_" + "4eC39HqLyjWDarjtT1zdp7dc"
JWT = "eyJhbGciOiJIUzI1NiJ9" + ".eyJzdWIiOiIxIn0" + ".c2lnbmF0dXJlMTIz"
PEM = "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK\n-----END RSA PRIVATE KEY-----"


def found(text, types=PII_TYPES):
    return [(f.type, f.text) for f in scan(text, types)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("mail jane.doe+tag@example.co.uk.", [("email", "jane.doe+tag@example.co.uk")]),
        (
            "cc: ops@mail-1.example.org, bob@x.io",
            [("email", "ops@mail-1.example.org"), ("email", "bob@x.io")],
        ),
        ("call +44 20 7946 0958 today", [("phone", "+44 20 7946 0958")]),
        ("US office +1 (555) 123-4567.", [("phone", "+1 (555) 123-4567")]),
        ("mobile +919876543210", [("phone", "+919876543210")]),
        ("Paris +33 6 12 34 56 78", [("phone", "+33 6 12 34 56 78")]),
        ("Tel:020 7946 0958 at 10:00", [("phone", "020 7946 0958")]),
        # the "00" call prefix instead of "+"
        ("Berlin 0049-30-1234567", [("phone", "0049-30-1234567")]),
        ("Paris 0033 1 23 45 67 89", [("phone", "0033 1 23 45 67 89")]),
        # a bare national number, where a word says it is a phone
        ("please call me on 4155550134", [("phone", "4155550134")]),
        ("Mobile: 07911123456.", [("phone", "07911123456")]),
        ("desk (555) 123-4567 or 555.123.4567", [("phone", "(555) 123-4567"), ("phone", "555.123.4567")]),
        (
            "London 020 7946 0958, Lyon 06 12 34 56 78",
            [("phone", "020 7946 0958"), ("phone", "06 12 34 56 78")],
        ),
        ("host 236.215.29.176.", [("ip_address", "236.215.29.176")]),
        ("v6 2001:db8::8a2e:370:7334 up", [("ip_address", "2001:db8::8a2e:370:7334")]),
        (
            "full 2001:0db8:85a3:0000:0000:8a2e:0370:7334",
            [("ip_address", "2001:0db8:85a3:0000:0000:8a2e:0370:7334")],
        ),
        (
            "mapped ::ffff:192.0.2.1 and fe80::1",
            [("ip_address", "::ffff:192.0.2.1"), ("ip_address", "fe80::1")],
        ),
        ("visa 4111 1111 1111 1111", [("credit_card", "4111 1111 1111 1111")]),
        ("visa 4111-1111-1111-1111", [("credit_card", "4111-1111-1111-1111")]),
        ("mc 5555555555554444", [("credit_card", "5555555555554444")]),
        (
            "amex 378282246310005 / 3782 822463 10005",
            [("credit_card", "378282246310005"), ("credit_card", "3782 822463 10005")],
        ),
        ("pay DE89 3704 0044 0532 0130 00 now", [("iban", "DE89 3704 0044 0532 0130 00")]),
        ("pay GB82WEST12345698765432", [("iban", "GB82WEST12345698765432")]),
        # a short token after the IBAN joins the greedy match; the valid prefix is still found
        ("AT61 1904 3002 3457 3201 EUR", [("iban", "AT61 1904 3002 3457 3201")]),
        ("to AT611904300234573201 EURO by Friday", [("iban", "AT611904300234573201")]),
        ("ref ID12 AT61 1904 3002 3457 3201", [("iban", "AT61 1904 3002 3457 3201")]),
        ("aws AKIAIOSFODNN7EXAMPLE", [("secret", "AKIAIOSFODNN7EXAMPLE")]),
        (f"token {GITHUB}", [("secret", GITHUB)]),
        (f"token github_pat_{'a1B2' * 6}", [("secret", f"github_pat_{'a1B2' * 6}")]),
        (f"slack {SLACK}", [("secret", SLACK)]),
        (f"OPENAI_API_KEY={OPENAI}", [("secret", OPENAI)]),
        (f"google {GOOGLE}", [("secret", GOOGLE)]),
        (f"stripe {STRIPE}", [("secret", STRIPE)]),
        (f"Bearer {JWT}", [("secret", JWT)]),
        (f"key:\n{PEM}\nend", [("secret", PEM)]),
        ("-----BEGIN OPENSSH PRIVATE KEY-----", [("secret", "-----BEGIN OPENSSH PRIVATE KEY-----")]),
        # a key cut short: no END line, and the body is the secret
        (f"{PEM.split(chr(10) + '-----END')[0]}\nq83hdkf83hfkd93kfhs==\nThen it stopped.",
         [("secret", f"{PEM.split(chr(10) + '-----END')[0]}\nq83hdkf83hfkd93kfhs==")]),
        # secrets by the name they are assigned to; the value is the finding, the name stays
        ("password=hunter2", [("secret", "hunter2")]),
        ('{"db_pass": "s3cr3t-Value"}', [("secret", "s3cr3t-Value")]),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
         [("secret", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")]),
        ("X-Api-Key: 9f8e7d6c5b4a", [("secret", "9f8e7d6c5b4a")]),
        ("secret: 'correct horse battery'", [("secret", "correct horse battery")]),
        ('{"accessToken": "s3cr3tValue99", "x": 1}', [("secret", "s3cr3tValue99")]),
        ("clientSecret=Zx81kd02kfj", [("secret", "Zx81kd02kfj")]),
    ],
)  # fmt: skip
def test_each_type_is_detected(text, expected):
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112 fails Luhn",
        "order 4111111111111112",
        "iban DE88 3704 0044 0532 0130 00 has wrong check digits",
        "released in 2024, planned for 2026",
        "upgrade to 1.2.3 or v10.4.1",
        "scanner level 7/10 means UNSAFE",
        "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "md5 d41d8cd98f00b204e9800998ecf8427e",
        "hxxps://go-shorty[.]killcod3[.]com/x",
        "defanged 192[.]168[.]1[.]5 and user[@]example[.]com",
        "seen 2026-11-21 at 10:15:30",
        "2026-11-21T10:15:30Z",
        "meeting 01.11.2026 12:30",
        "log 17:10:06 26833 18:16:14 and 12:555 123 4567",  # clock times around numbers
        "epoch ms 1763700000000",
        "uuid 550e8400-e29b-41d4-a716-446655440000",
        "mac 00:1a:2b:3c:4d:5e",
        "std::vector and x[::2] and a::b",
        "1.2.3.4.5 is a version, not an address",
        "Password: required; max_tokens: 2048; compass: north-west; bypass_cache=true",
        "order 4155550134 shipped, invoice 07911123456, ticket 2125550199 (call back later)",
        "offsets 0012 3456 7890 1234 and hex 0011 2233 4455 6677",
        "/var/log/auth.log:2024-03-01T12:00:00+00:00 sshd; PWD=/home/deploy; auth.py:123: KeyError",
        "token.go:118: panic; auth_method=ldap-v3; pass_rate: 0.95; token_count: 1.5k",
        "password_policy: min-12-chars; hotKey: ctrl-c; primaryKey: user_id",
        "iban DE00 5666 8960 7268 2057 94 has check digits 00",
        "password=${DB_PASSWORD} token = os.environ['T'] passport: X1234567 token_count: 12345",
        "My password is hunter2? No: key=value pairs are fine, author: Jane",
        "pip install sk-learn; a task-based plan",
        "the ghost_writer wrote AKIA",
        "score +5 points, C++ 17",
    ],
)
def test_no_false_positive(text):
    assert scan(text) == []


def test_finding_offsets_and_order():
    text = "x 4111 1111 1111 1111 y bob@x.io"
    assert scan(text) == [
        Finding("credit_card", 2, 21, "4111 1111 1111 1111"),
        Finding("email", 24, 32, "bob@x.io"),
    ]


def test_overlap_keeps_higher_priority_type():
    # The phone-shaped digit groups inside an IBAN and the IPv4 tail of an IPv6 are not reported again.
    assert found("DE89 3704 0044 0532 0130 00") == [("iban", "DE89 3704 0044 0532 0130 00")]
    assert found("addr ::ffff:192.0.2.1") == [("ip_address", "::ffff:192.0.2.1")]


def test_checksums():
    assert luhn_ok("4111111111111111") is True
    assert luhn_ok("4111111111111112") is False
    assert iban_ok("DE89 3704 0044 0532 0130 00") is True
    assert iban_ok("DE88 3704 0044 0532 0130 00") is False
    assert iban_ok("DE89") is False


def test_redact_exact_strings():
    text = "Mail bob@x.io or call +44 20 7946 0958 from 10.0.0.1 with card 4111-1111-1111-1111."
    assert redact(text, scan(text)) == (
        "Mail [EMAIL] or call [PHONE] from [IP_ADDRESS] with card [CREDIT_CARD]."
    )
    text = "IBAN GB82WEST12345698765432, key AKIAIOSFODNN7EXAMPLE"
    assert redact(text, scan(text)) == "IBAN [IBAN], key [SECRET]"
    assert redact("nothing here", []) == "nothing here"


def test_redact_rejects_overlapping_findings():
    with pytest.raises(ValueError, match="overlap"):
        redact("abcdef", [Finding("email", 0, 4, "abcd"), Finding("phone", 2, 6, "cdef")])


def test_types_filter_excludes_ip_addresses():
    text = "Refang 236.215.29.176 and mail soc@example.com"
    assert found(text, ("email", "phone", "credit_card", "iban", "secret")) == [("email", "soc@example.com")]
    assert found(text, ["ip_address"]) == [("ip_address", "236.215.29.176")]
    assert found(text, ()) == []


def test_unknown_type_names_the_allowed_ones():
    with pytest.raises(ValueError, match="unknown PII type.*'ip'.*allowed: email, phone, ip_address"):
        scan("x", ("email", "ip"))


ROW = {
    "id": "raw:1",
    "messages": [
        {"role": "user", "content": "Mail bob@x.io about 236.215.29.176"},
        {"role": "assistant", "content": "236.215.29.176"},
    ],
    "meta": {"bucket": "ioc_normalize"},
}
NO_IP = ("email", "phone", "credit_card", "iban", "secret")


def test_policy_redact():
    before = copy.deepcopy(ROW)
    row, counts = apply_policy(ROW, "redact", PII_TYPES)
    assert row == {
        "id": "raw:1",
        "messages": [
            {"role": "user", "content": "Mail [EMAIL] about [IP_ADDRESS]"},
            {"role": "assistant", "content": "[IP_ADDRESS]"},
        ],
        "meta": {"bucket": "ioc_normalize"},
    }
    assert counts == Counter({"ip_address": 2, "email": 1})
    assert before == ROW  # the input row is not modified


def test_policy_redact_without_ip_keeps_indicators():
    row, counts = apply_policy(ROW, "redact", NO_IP)
    assert [m["content"] for m in row["messages"]] == ["Mail [EMAIL] about 236.215.29.176", "236.215.29.176"]
    assert counts == Counter({"email": 1})


def test_policy_drop():
    assert apply_policy(ROW, "drop", PII_TYPES) == (None, Counter({"ip_address": 2, "email": 1}))
    assert apply_policy(ROW, "drop", ("ip_address",)) == (None, Counter({"ip_address": 2}))
    clean = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
    assert apply_policy(clean, "drop", PII_TYPES) == (clean, Counter())


def test_policy_report_returns_row_unchanged():
    before = copy.deepcopy(ROW)
    row, counts = apply_policy(ROW, "report", PII_TYPES)
    assert row is ROW
    assert row == before
    assert counts == Counter({"ip_address": 2, "email": 1})


def test_policy_covers_every_string_of_the_row_and_counts_fields():
    row = {
        "id": "bob@x.io/1",
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "call +44 20 7946 0958"},
        ],
        "meta": {"owner": {"mail": "ann@y.org"}, "ibans": ["AT61 1904 3002 3457 3201 EUR"]},
        "source": "bob@x.io",
    }
    before = copy.deepcopy(row)
    fields = Counter()
    out, counts = apply_policy(row, "redact", NO_IP, fields)
    assert out == {
        "id": "[EMAIL:a490f2e1d28a]/1",  # an id: the keyed hash (HMAC-SHA256 under the empty key)
        "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "call [PHONE]"}],
        "meta": {"owner": {"mail": "[EMAIL]"}, "ibans": ["[IBAN] EUR"]},
        "source": "[EMAIL]",
    }
    assert counts == Counter({"email": 3, "phone": 1, "iban": 1})
    assert fields == Counter({"id": 1, "messages": 1, "meta": 2, "source": 1})
    assert row == before and out["messages"][0] is row["messages"][0]  # copies only what changed


def test_unknown_policy_names_the_allowed_ones():
    with pytest.raises(ValueError, match="unknown PII policy 'mask'; allowed: redact, drop, report"):
        apply_policy(ROW, "mask", PII_TYPES)


def test_pii_in_an_id_becomes_a_keyed_hash_so_two_ids_stay_two(make_chat):
    from {{ cookiecutter.package_name }}.data.records import curate
    from {{ cookiecutter.package_name }}.params.curate import CurateParams

    rows = [
        {**make_chat("reset my password", "done"), "id": "alice@example.com", "meta": {"user_id": "bo@x.io"}},
        {**make_chat("mail me at carol@example.com", "noted"), "id": "dave@example.com"},
    ]
    lines = [("raw.jsonl", "line", i + 1, json.dumps(r).encode()) for i, r in enumerate(rows)]
    kept, quarantined, _ = curate(iter(lines), CurateParams(), pii_key=b"k1")
    assert quarantined == [] and len({r["id"] for r in kept}) == 2  # a bare [EMAIL] would make them one
    assert all(re.fullmatch(r"\[EMAIL:[0-9a-f]{12}\]", r["id"]) for r in kept)
    assert re.fullmatch(r"\[EMAIL:[0-9a-f]{12}\]", kept[0]["meta"]["user_id"])
    assert kept[1]["messages"][0]["content"] == "mail me at [EMAIL]"  # training text: the plain placeholder
    again, _, _ = curate(iter(lines), CurateParams(), pii_key=b"k1")
    other, _, _ = curate(iter(lines), CurateParams(), pii_key=b"k2")
    assert [r["id"] for r in again] == [r["id"] for r in kept]  # stable across runs
    assert [r["id"] for r in other] != [r["id"] for r in kept]  # and keyed


@pytest.mark.parametrize(
    "text",
    [
        # encrypted: a blank line after DEK-Info, and a short last line
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,ABCDEF01\n\n"
        "MIIEowIBAAKCAQEAwJ3kq83hdkf83hfkd93kfhs\nq83hdkf83hfkd93kfhsAAA\nabc=\n",
        "-----BEGIN RSA PRIVATE KEY----- MIIEowIBAAKCAQEAwJ3kq83hdkf83hfkd93kfhs",  # pasted on one line
        '{"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEF\\nBKcwggSjAgEAAoIB\\n"}',
    ],
)
def test_a_private_key_cut_short_loses_its_whole_body(text):
    redacted = redact(text, scan(text))
    assert "MII" not in redacted and "q83h" not in redacted and "BKcw" not in redacted
