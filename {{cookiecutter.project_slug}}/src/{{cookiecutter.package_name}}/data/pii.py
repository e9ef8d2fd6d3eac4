"""Find personal data and secrets in chat training data, and redact, drop or report them.

    findings = scan(text, types=("email", "phone", "credit_card", "iban", "secret"))
    clean = redact(text, findings)            # "mail [EMAIL] or call [PHONE]"
    row, counts = apply_policy(row, "redact", types)   # an id: "[EMAIL:5c1f0e2a9b7d]"

For the curate stage, `apply_policy` handles one row per call: every string in it, not only the
messages (an id, a meta field or a carried-over column can hold an address just as well). Types: email, phone,
ip_address, credit_card, iban, secret. IP addresses are security indicators in triage data, not
personal data, so every entry point takes `types` and a project leaves `ip_address` out where its
data is about hosts. Defanged indicators (`192[.]168[.]1[.]5`, `hxxps://a[.]b`) are deliberately
neutralised and never match.

Own regular expressions rather than a library: presidio needs a spaCy model download (impossible
offline), scrubadub pulls in scikit-learn and textblob, commonregex is unmaintained and checks no
checksums, detect-secrets covers secrets only; this module is offline, standard-library only and
fast (cheap substring checks decide which patterns run, so most documents cost a few microseconds).
Numbers are validated, not just shaped: cards by Luhn, IBANs by ISO 13616 mod-97, so random digit
runs, order ids and hashes do not match.

In an id (the row's `id`, or a field named id or ids or ending in _id, -id or Id: user_id,
ticketIds) a finding is replaced by its type and a keyed hash of the value, HMAC-SHA256 under
`key`: two rows whose ids held two different addresses keep two different ids (a bare "[EMAIL]"
would make the second a duplicate), and the same address gives the same id on every run. Without
a secret key the hash is stable but not secret: whoever guesses an address can check the guess.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

PII_TYPES = ("email", "phone", "ip_address", "credit_card", "iban", "secret")
POLICIES = ("redact", "drop", "report")

# When two findings overlap the earlier type in this order wins: a card number inside a JWT is part of
# the secret, and a phone-shaped run inside an IBAN is part of the IBAN.
_PRIORITY = ("secret", "email", "iban", "credit_card", "ip_address", "phone")

_DIGITS = "0123456789"

# Not preceded/followed by a word character, so nothing matches inside hashes, ids or longer numbers.
_START = r"(?<![0-9A-Za-z_])"
_END = r"(?![0-9A-Za-z_])"
# A number is also not continued by ".5" or "-5": "1.2.3.4.5" is neither an IP nor a phone.
_NUM_START = r"(?<![0-9A-Za-z_.-])"
_NUM_END = r"(?![0-9A-Za-z_]|[.-][0-9])"

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![A-Za-z0-9-])",
    re.ASCII,
)

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
_IPV4_RE = re.compile(rf"{_NUM_START}{_IPV4}{_NUM_END}", re.ASCII)

_H = r"[0-9A-Fa-f]{1,4}"
# Full, compressed and IPv4-embedded forms, matched against a whole hex/colon token (see `_ipv6`).
# A bare "::" or "::1" is not matched: they are not personal, and "::2" is also code (`x[::2]`).
_IPV6_RE = re.compile(
    rf"(?:{_H}:){{7}}{_H}"
    rf"|(?:{_H}:){{1,7}}:"
    rf"|(?:{_H}:){{1,6}}:{_H}"
    rf"|(?:{_H}:){{1,5}}(?::{_H}){{1,2}}"
    rf"|(?:{_H}:){{1,4}}(?::{_H}){{1,3}}"
    rf"|(?:{_H}:){{1,3}}(?::{_H}){{1,4}}"
    rf"|(?:{_H}:){{1,2}}(?::{_H}){{1,5}}"
    rf"|{_H}:(?::{_H}){{1,6}}"
    rf"|:(?::{_H}){{2,7}}"
    rf"|(?:{_H}:){{6}}{_IPV4}|::(?:ffff(?::0{{1,4}})?:)?{_IPV4}|(?:{_H}:){{1,4}}:{_IPV4}",
    re.ASCII,
)
# Every IPv6 address of two or more groups contains "::" or ":h:"; times like 10:15:30 contain it
# too but their token matches no IPv6 form.
_IPV6_HINT = re.compile(r":[0-9A-Fa-f]{0,4}:", re.ASCII)
_IPV6_TOKEN = re.compile(r"[0-9A-Fa-f:.]*", re.ASCII)
_IPV6_CHARS = frozenset("0123456789abcdefABCDEF:.")
_IPV6_MAX = 45  # ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255

# International: "+" and a run of digits and single separators; the shape and length (E.164: at
# most 15 digits) are checked in `_phone_ok` so the search pattern itself cannot backtrack badly.
_PHONE_INTL = rf"(?<![0-9A-Za-z_+])\+[1-9][0-9]*+(?:[ .-]?\([0-9]++\)|[ .-]?[0-9]++)*+{_END}"
# North American: (555) 123-4567, 555-123-4567, 555.123.4567 (one separator kind); area codes never
# start with 0 or 1.
_PHONE_NANP = (
    rf"{_NUM_START}(?<![0-9]:)(?:\([2-9][0-9]{{2}}\) ?[0-9]{{3}}[ .-]"
    rf"|[2-9][0-9]{{2}}(?P<s1>[ .-])[0-9]{{3}}(?P=s1))[0-9]{{4}}{_NUM_END}(?!:[0-9])"
)
# Trunk-prefix national numbers (020 7946 0958, 06 12 34 56 78, 030-1234567, (020) 7946 0958): one
# separator kind throughout, so dates like 01.11.2026 12:30 do not chain into a "number", and not
# part of a clock time: "17:10:06 26833 18:16:14" is two times and a number ("Tel:020..." still is).
_PHONE_TRUNK = (
    rf"{_NUM_START}(?<![0-9]:)(?:0[0-9]{{1,4}}(?P<s2>[ .-])[0-9]{{2,8}}(?:(?P=s2)[0-9]{{2,8}}){{0,4}}"
    rf"|\(0[0-9]{{1,4}}\) ?[0-9]{{3,4}}[ .-]?[0-9]{{3,4}}){_NUM_END}(?!:[0-9])"
)
# International with the "00" call prefix instead of "+" (0049-30-1234567, 0033 1 23 45 67 89); as
# after "+", the national number drops its trunk 0, which keeps "0044 0532 0130 00" (IBAN groups) out.
_IDD = r"00[1-9][0-9]{0,2}(?P<s3>[ .-])[1-9][0-9]{0,7}(?:(?P=s3)[0-9]{1,8}){1,6}"
_IDD_RE = re.compile(_IDD, re.ASCII)
_PHONE_IDD = rf"{_NUM_START}(?<![0-9]:){_IDD}{_NUM_END}(?!:[0-9])"
_PHONE_RE = re.compile(rf"{_PHONE_INTL}|{_PHONE_NANP}|{_PHONE_TRUNK}", re.ASCII)
_PHONE_IDD_RE = re.compile(_PHONE_IDD, re.ASCII)  # run only from its own hint: see _candidates
# A bare run of digits is a phone only where the text says so: "call 4155550134" is a phone,
# "order 4155550134" is not. North American (area code and exchange start 2-9) or trunk-prefix
# national (0 and 9-10 more digits), with a word for a phone at most 20 characters before it.
_PHONE_BARE = re.compile(
    rf"{_NUM_START}(?:[2-9][0-9]{{2}}[2-9][0-9]{{6}}|0[1-9][0-9]{{8,9}}){_NUM_END}", re.ASCII
)
_PHONE_WORD = re.compile(
    r"(?<![A-Za-z])(?:call|phone|tel|telephone|mobile|cell|fax|sms|text|whatsapp|contact|reach|ring|dial)"
    r"[a-z]{0,3}(?![A-Za-z])[^0-9\n]{0,20}$",
    re.ASCII | re.IGNORECASE,
)
_PHONE_WORD_BACK = 40
_TEN_DIGITS = re.compile(r"[0-9]{10}")  # a character class first: the engine scans for it in C


def _bare_phones(text: str) -> Iterator[tuple[int, int, str]]:
    for m in _PHONE_BARE.finditer(text):
        if _PHONE_WORD.search(text, max(0, m.start() - _PHONE_WORD_BACK), m.start()):
            yield m.start(), m.end(), m.group()


# Issuer ranges start 2-6 (Mastercard 2/5, Visa 4, Amex/Diners/JCB 3, Discover/UnionPay/Maestro 6),
# which also keeps 13-digit millisecond timestamps (1...) out. Printed forms: plain, 4-4-4-4(-3) and
# Amex/Diners 4-6-5/4-6-4.
_CARD_RE = re.compile(
    rf"{_NUM_START}[2-6](?:[0-9]{{12,18}}"
    rf"|[0-9]{{3}}(?P<c1>[ -])[0-9]{{4}}(?P=c1)[0-9]{{4}}(?P=c1)[0-9]{{1,4}}(?:(?P=c1)[0-9]{{1,3}})?"
    rf"|[0-9]{{3}}(?P<c2>[ -])[0-9]{{6}}(?P=c2)[0-9]{{4,5}}){_NUM_END}",
    re.ASCII,
)

# Country code, check digits, then the BBAN printed plain or in groups of four.
_IBAN_RE = re.compile(
    rf"{_START}[A-Z]{{2}}[0-9]{{2}}(?: ?[A-Z0-9]{{4}}){{2,7}}(?: ?[A-Z0-9]{{1,3}})?{_END}", re.ASCII
)

# A PEM block is redacted whole when its END line follows; the body (base64 and legacy "Proc-Type:"
# headers) cannot contain "-----", so a header without an END line costs one short scan, not a
# search to the end of the text. The body is written as an unrolled loop (every repeat starts
# with a lone "-"), which cannot backtrack badly; possessive quantifiers would say the same more
# briefly but mismatch on some Python 3.11 releases (3.11.2).
# Without its END line (a key pasted cut short), the header and the base64 lines and legacy headers
# after it are the finding: the body is the secret, not the header. Lines may be separated by blank
# lines (after DEK-Info), by spaces (a key pasted on one line) or by a literal "\n" (inside JSON);
# a short line counts only where a line ends, so prose after a header is not taken for base64.
_SECRET_RE = re.compile(
    r"-----BEGIN (?P<pem>(?:[A-Z0-9]+ )*)PRIVATE KEY-----"
    r"(?:[A-Za-z0-9+/=\s:,]*(?:-(?!----)[A-Za-z0-9+/=\s:,]*)*-----END (?P=pem)PRIVATE KEY-----"
    r"|(?:(?:[ \t]|\r?\n|\\n)*(?:[A-Za-z0-9+/]{12,}={0,2}(?![A-Za-z0-9+/=])"
    r"|[A-Za-z0-9+/]{1,11}={0,2}[ \t]*(?=\r?\n|\\n|$)|(?:Proc-Type|DEK-Info):[^\n\\]*))*)"
    rf"|{_START}(?:"
    r"(?:AKIA|ASIA)[0-9A-Z]{16}"
    r"|gh[pousr]_[A-Za-z0-9]{36,255}"
    r"|github_pat_[A-Za-z0-9_]{22,255}"
    r"|xox[abpr]-[A-Za-z0-9-]{10,}"
    r"|sk-(?=[A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]{20,}"
    r"|AIza[0-9A-Za-z_-]{35}"
    r"|(?:sk|pk|rk)_live_[0-9A-Za-z]{10,}"
    r"|eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"
    rf"){_END}",
    re.ASCII,
)

# A secret by where it stands: the value assigned to a key whose name says password, secret, token
# or key (`password=hunter2`, `"db_pass": "..."`, `aws_secret_access_key = wJalr...`, `api-key: ...`).
# The name's part must be a whole segment between separators, so max_tokens, compass or
# bypass_cache are not names of secrets. Only the value is the finding: the name stays readable.
_SECRET_NAME = (
    r"(?:password|passwd|passphrase|pass|secret|token|api[_-]?key|apikey|access[_-]?key"
    r"|private[_-]?key|secret[_-]?key|credentials?)"
)
# camelCase names: accessToken, clientSecret, dbPassword, apiKey.
_SECRET_CAMEL = (
    r"(?:[a-z][a-z0-9]*(?:Password|Passwd|Passphrase|Secret|Token|ApiKey|AccessKey|SecretKey|PrivateKey"
    r"|Credentials?)|(?:api|access|secret|private|signing|encryption)Key)"
)
# A name that describes a secret instead of holding one: password_policy, pass_rate, token_count.
_NOT_A_SECRET_NAME = re.compile(
    r"(?i)[_.-](?:policy|rate|count|len|length|min|max|file|path|dir|type|method|mode|url|uri|hint|reset"
    r"|expiry|expires|expiration|changed|age|id|name|field|format|strength|limit|timeout|ttl|endpoint"
    r"|header|prefix|size|version|enabled|required|usage|used|log|py|go|js|rb|java|ts|c|h)\b"
)
# Matched backwards from each "=" or ":" whose left side ends in a letter (after an optional quote
# and spaces): most separators in text (clock times, URLs, ratios) are ruled out by one character.
_ASSIGN_NAME = re.compile(
    rf"(?<![A-Za-z0-9])(?:(?i:{_SECRET_NAME})|{_SECRET_CAMEL})"
    rf"(?:[_.-][A-Za-z0-9]+){{0,4}}[\"']?[ \t]{{0,3}}$",
    re.ASCII,
)
_ASSIGN_NAME_BACK = 48  # the name's keyword starts at most this far before the separator
_ASSIGN_VALUE = re.compile(
    r"(?!//)[ \t]{0,3}(?:\"(?P<dq>[^\"\n]{4,256})\"|'(?P<sq>[^'\n]{4,256})'|(?P<bare>[^\s\"',;)\]}]{4,256}))",
    re.ASCII,
)
_SEPARATOR = re.compile(r"[=:]")
# Values no secret takes: numbers (0.95, 1.5k, 118:), dates and times, paths, booleans.
_PLAIN_VALUE = re.compile(
    r"[0-9.,:+-]+[a-zA-Z]{0,2}[:.]?$|[0-9]{4}-[0-9]{2}-[0-9]{2}|~|\./|/[a-z0-9_.-]+(?:/[a-z0-9_.-]*)*$"
    r"|(?i:true|false|none|null|yes|no)$"
)
# A reference to a secret, or a blank in a template, is not one: $VAR, ${VAR}, <password>, [SECRET],
# %(pw)s, ***, os.environ[...], getenv(...).
_NOT_A_VALUE = re.compile(r"[$<\[{%*]|.*(?:environ|getenv|secrets\.|vault)|x{4,}$|\.{3}$", re.IGNORECASE)


def _assignments(text: str) -> Iterator[tuple[int, int, str]]:
    if "=" not in text and ":" not in text:
        return
    for sep in _SEPARATOR.finditer(text):
        i = j = sep.start()
        while j > 0 and text[j - 1] in " \t\"'":
            j -= 1
        if j == 0 or not text[j - 1].isalnum() or text[j - 1].isdigit() and not text[j - 2 : j - 1].isalpha():
            continue  # "10:15", "= 3": no name before the separator
        name = _ASSIGN_NAME.search(text, max(0, i - _ASSIGN_NAME_BACK), i)
        if name is None or _NOT_A_SECRET_NAME.search(name.group()):
            continue
        m = _ASSIGN_VALUE.match(text, i + 1)
        if m is None:
            continue
        group = "dq" if m.group("dq") is not None else "sq" if m.group("sq") is not None else "bare"
        value = m.group(group)
        if _NOT_A_VALUE.match(value) or _PLAIN_VALUE.match(value):
            continue
        # Unquoted prose after a colon ("Password: required") is not a secret: a bare value needs a
        # digit or a symbol, or the length of a generated one.
        if group == "bare" and value.isalpha() and len(value) < 12:
            continue
        yield m.start(group), m.end(group), value


# Gates: a pattern runs only when a cheap test says a match is possible. One-character `in` tests
# are a memchr; the hint patterns start with a character class, which the regex engine scans for
# in C instead of trying the full pattern at every position. A hint's first match lies at most
# `back` characters after the start of the first possible match, so the full pattern starts there.
_IPV4_HINT, _IPV4_BACK = re.compile(r"[0-9]\.[0-9]"), 2
# "(01234) 567 890" is the farthest a phone starts before its hint ("34) 56"); "+" is found separately.
_PHONE_HINT, _PHONE_BACK = re.compile(r"[0-9]{2}[ .)-]{1,2}[0-9]{2}"), 5
# "0033 1 23 45 67": the "00" call prefix starts before that hint, so it has its own, the number's
# shape up to its first national digit, literal first so the engine scans for "00" in C.
_IDD_HINT = re.compile(r"00[1-9][0-9]{0,2}[ .-][1-9]")
_CARD_HINT, _CARD_BACK = re.compile(r"[0-9]{4}[ -]?[0-9]{4}"), 0
_IBAN_HINT, _IBAN_BACK = re.compile(r"[A-Z]{2}[0-9]{2}"), 0


def _may_have_secret(text: str) -> bool:
    """Whether a known key prefix occurs; a one-character test skips each group of longer searches."""
    if "_" in text and any(
        p in text for p in ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "_live_")
    ):
        return True
    if "-" in text and any(p in text for p in ("xox", "sk-", "-----BEGIN")):
        return True
    return "eyJ" in text or ("A" in text and any(p in text for p in ("AKIA", "ASIA", "AIza")))


@dataclass(frozen=True)
class Finding:
    """One match: its type, its [start, end) offsets in the scanned text and the matched text."""

    type: str
    start: int
    end: int
    text: str


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum of a string of digits (payment cards, ISO/IEC 7812)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_ok(iban: str) -> bool:
    """ISO 13616: move country code and check digits to the end, letters to 10..35, mod 97 is 1."""
    compact = iban.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34 or not compact[:2].isalpha() or not compact[2:4].isdigit():
        return False
    if not 2 <= int(compact[2:4]) <= 98:  # 98 - (n mod 97) is 2..98: "00", "01" and "99" are never issued
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def _phone_ok(text: str) -> bool:
    digits = sum(ch.isdigit() for ch in text)
    if text.startswith("+"):
        return 8 <= digits <= 15
    if text.startswith("00"):  # the call prefix, then E.164's digits; a trunk-shaped "00..." is no phone
        return 10 <= digits <= 17 and _IDD_RE.fullmatch(text) is not None and _country_code_ok(text, digits)
    return 9 <= digits <= 12


# ITU-T E.164 country calling codes are prefix-free: 1 and 7 alone, these two-digit codes, and
# three digits for every other start (2xx, 3xx, 4xx, 5xx, 6xx, 8xx, 9xx not covered here).
_CC2 = frozenset(
    "20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 60 61 62 63 64 65 66 "
    "81 82 84 86 90 91 92 93 94 95 98".split()
)


def _country_code_ok(text: str, digits: int) -> bool:
    """ "0049 30 1234567": the digits between "00" and the first separator are one valid country code,
    and the national number has a possible length (exactly 10 after 1). "0012 3456 7890 1234" (an
    offset dump) and "0011 2233 4455 6677" are not phones."""
    code = text[2 : next(i for i, ch in enumerate(text) if ch in " .-")]
    national = digits - 2 - len(code)
    if code in ("1", "7"):
        return national == 10
    valid = (
        code in _CC2 if len(code) == 2 else len(code) == 3 and code[0] not in "17" and code[:2] not in _CC2
    )
    return valid and 4 <= national <= 15 - len(code)


def _card_ok(text: str) -> bool:
    digits = text.replace(" ", "").replace("-", "")
    return 13 <= len(digits) <= 19 and luhn_ok(digits)


def _matches(
    pattern: re.Pattern[str], text: str, pos: int = 0, check: Callable[[str], bool] | None = None
) -> Iterator[tuple[int, int, str]]:
    for m in pattern.finditer(text, pos):
        if check is None or check(m.group()):
            yield m.start(), m.end(), m.group()


def _hinted(hint: re.Pattern[str], back: int, text: str) -> int | None:
    """Where the full pattern has to start searching, or None when the hint rules out any match."""
    m = hint.search(text)
    return None if m is None else max(0, m.start() - back)


def _ipv6(text: str) -> Iterator[tuple[int, int, str]]:
    """IPv6 addresses: widen each hint to its whole hex/colon/dot token and match the token as a whole.

    Matching whole tokens keeps "std::vector", MAC addresses and clock times out, and is far faster
    than running the long alternation at every position of the text.
    """
    done = 0
    for hint in _IPV6_HINT.finditer(text):
        if hint.start() < done:
            continue  # inside the token just checked
        start = hint.start()
        while start > 0 and text[start - 1] in _IPV6_CHARS and hint.start() - start <= _IPV6_MAX:
            start -= 1
        done = end = _IPV6_TOKEN.match(text, hint.start()).end()
        while end > start and text[end - 1] == ".":
            end -= 1  # a full stop after the address
        before, after = text[start - 1 : start], text[end : end + 1]
        inside_word = before.isalnum() or before == "_" or after.isalnum() or after == "_"
        # No digit at all: a C++ scope like `a::b` or words like "cafe::beef", not an address.
        has_digit = any(ch.isdigit() for ch in text[start:end])
        if (
            not inside_word
            and has_digit
            and end - start <= _IPV6_MAX
            and _IPV6_RE.fullmatch(text, start, end)
        ):
            yield start, end, text[start:end]


def _ibans(text: str, pos: int) -> Iterator[tuple[int, int, str]]:
    """IBANs. The pattern is greedy, so a short token after an IBAN ("... 3201 EUR") joins the
    match and breaks its checksum: a failed match is retried without its trailing groups, longest
    first. After a failure the search resumes at the next word, where a real IBAN may start."""
    while (m := _IBAN_RE.search(text, pos)) is not None:
        start, found = m.start(), m.group()
        ends = [len(found)] + [i for i in range(len(found) - 1, 0, -1) if found[i] == " "]
        end = next((e for e in ends if iban_ok(found[:e])), None)
        if end is None:
            pos = start + 1
            continue
        yield start, start + end, found[:end]
        pos = start + end


def _candidates(text: str, kind: str, digits: int) -> Iterator[tuple[int, int, str]]:
    """Raw matches of one type; each pattern runs only where its gates say a match is possible.

    `digits` is the number of digits in `text`; each numeric type needs a minimum: an IPv4 address
    4, a phone 8 (E.164 lower bound with country code), an IBAN 8 (every registered format has
    more), a card 13.
    """
    if kind == "email":
        if "@" in text:
            yield from _matches(_EMAIL, text)
    elif kind == "secret":
        if _may_have_secret(text):
            yield from _matches(_SECRET_RE, text)
        yield from _assignments(text)
    elif kind == "ip_address":
        # IPv6 first: "::ffff:192.0.2.1" is one address, not an IPv4 one with a prefix.
        if digits and ":" in text:
            yield from _ipv6(text)
        if digits >= 4 and "." in text and (pos := _hinted(_IPV4_HINT, _IPV4_BACK, text)) is not None:
            yield from _matches(_IPV4_RE, text, pos)
    elif kind == "credit_card":
        if digits >= 13 and (pos := _hinted(_CARD_HINT, _CARD_BACK, text)) is not None:
            yield from _matches(_CARD_RE, text, pos, _card_ok)
    elif kind == "iban":
        if digits >= 8 and (pos := _hinted(_IBAN_HINT, _IBAN_BACK, text)) is not None:
            yield from _ibans(text, pos)
    elif kind == "phone" and digits >= 8:
        starts = [p for p in (text.find("+"), _hinted(_PHONE_HINT, _PHONE_BACK, text)) if p is not None]
        if starts := [p for p in starts if p >= 0]:
            yield from _matches(_PHONE_RE, text, min(starts), _phone_ok)
        if "00" in text and (pos := _hinted(_IDD_HINT, 0, text)) is not None:
            yield from _matches(_PHONE_IDD_RE, text, pos, _phone_ok)
        if digits >= 10 and _TEN_DIGITS.search(text):
            yield from _bare_phones(text)


def check_types(types: Iterable[str]) -> tuple[str, ...]:
    """The requested types in priority order; ValueError naming the allowed ones for anything else."""
    wanted = set(types)
    unknown = wanted.difference(PII_TYPES)
    if unknown:
        raise ValueError(f"unknown PII type(s) {sorted(unknown)}; allowed: {', '.join(PII_TYPES)}")
    return tuple(kind for kind in _PRIORITY if kind in wanted)


def scan(text: str, types: Iterable[str] = PII_TYPES) -> list[Finding]:
    """Non-overlapping findings of the requested types, sorted by start offset."""
    # Counting costs a few microseconds; the ten memchr scans of the `in` test cost well under one.
    digits = sum(map(text.count, _DIGITS)) if any(d in text for d in _DIGITS) else 0
    spans: list[tuple[int, int, str, str]] = []  # (start, end, type, text), sorted, non-overlapping
    for kind in check_types(types):
        for start, end, matched in _candidates(text, kind, digits):
            # Higher-priority types were collected first, so a later overlapping match is dropped.
            # Only the last span starting before `end` can overlap, which keeps this linear-ish
            # even for texts with thousands of findings.
            i = bisect.bisect_left(spans, (end,))
            if i == 0 or spans[i - 1][1] <= start:
                spans.insert(i, (start, end, kind, matched))
    return [Finding(kind, start, end, matched) for start, end, kind, matched in spans]


def placeholder(finding: Finding, key: bytes | None = None) -> str:
    """ "[EMAIL]"; with a key, "[EMAIL:<12 hex digits of HMAC-SHA256(key, value)>]"."""
    if key is None:
        return f"[{finding.type.upper()}]"
    digest = hmac.new(key, finding.text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
    return f"[{finding.type.upper()}:{digest[:12]}]"


def redact(text: str, findings: list[Finding], key: bytes | None = None) -> str:
    """The text with every finding replaced by its type in capitals: "[EMAIL]", "[IP_ADDRESS]"...;
    with a key, by its type and keyed hash (`placeholder`)."""
    parts, pos = [], 0
    for f in sorted(findings, key=lambda f: f.start):
        if f.start < pos:
            raise ValueError(f"findings overlap at offset {f.start}; pass the output of scan()")
        parts += [text[pos : f.start], placeholder(f, key)]
        pos = f.end
    parts.append(text[pos:])
    return "".join(parts)


def strings(row: dict) -> Iterator[tuple[tuple, str]]:
    """(path, text) of every string value in a row, in document order; dict keys are not values.

    Iterative, so a deeply nested row cannot exhaust the recursion limit here.
    """
    stack: list[tuple[tuple, object]] = [((), row)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            yield path, value
        elif isinstance(value, dict):
            stack.extend(((*path, k), v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend(((*path, i), v) for i, v in reversed(list(enumerate(value))))


def _replaced(value, path: tuple, new: str):
    """`value` with the string at `path` replaced, copying only the containers along the path."""
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replaced(value[path[0]], path[1:], new)
    return copy


_ID_END = re.compile(r"(?:[_-](?i:ids?)|[a-z0-9](?:Ids?|IDs?))$")


def is_id(path: tuple) -> bool:
    """Whether the string at `path` is an id: its field is id or ids, or ends in _id, -id, Id or
    IDs (user_id, ticketIds; not "valid" or "paid")."""
    name = next((k for k in reversed(path) if isinstance(k, str)), "")
    return bool(re.fullmatch(r"(?i:ids?)", name) or _ID_END.search(name))


def apply_policy(
    row: dict,
    policy: str,
    types: Iterable[str] = PII_TYPES,
    fields: Counter | None = None,
    key: bytes = b"",
) -> tuple[dict | None, Counter]:
    """Scan every string in a row (messages, id, meta, any other field) and apply a policy.

    Never changes `row` itself. redact: the row with each finding replaced by its placeholder, in
    an id by its keyed placeholder (HMAC under `key`), so that different ids stay different.
    drop: None when anything was found (the caller quarantines the row), else the row.
    report: the row unchanged. The Counter counts findings per type; `fields`, when given, counts
    them per top-level field ("messages", "id", "meta"...).
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown PII policy {policy!r}; allowed: {', '.join(POLICIES)}")
    kinds = check_types(types)
    counts: Counter = Counter()
    out = row
    for path, text in list(strings(row)):
        findings = scan(text, kinds)
        if not findings:
            continue
        counts.update(f.type for f in findings)
        if fields is not None:
            fields[str(path[0])] += len(findings)
        if policy == "redact":
            out = _replaced(out, path, redact(text, findings, key if is_id(path) else None))
    if counts and policy == "drop":
        return None, counts
    return out, counts
