"""Recall and precision of the PII scan per type, on generated texts it has never been tuned on.

    python bench/pii_quality.py                  # 2,000 positives per type and as many look-alikes
    python bench/pii_quality.py --seed 7 --n 500

Each type's generator draws values in the forms they take in the wild (emails with plus tags and
subdomains; phones in E.164, North American, trunk-prefix national, `00` international-prefix and
bare 10-digit national forms; cards of each issuer, Luhn-valid, plain and grouped; IBANs of six
countries with computed check digits; secrets of each kind, cut-short PEM keys and values assigned
to a password or key name) inside a sentence of triage text. The look-alikes are what such text
holds that is not PII: order and ticket numbers, Luhn-invalid card runs, IBANs with wrong check
digits, versions, dates and times, hashes, UUIDs, `max_tokens: 2048`, `password=${VAR}`. Recall: a
positive whose value is found, as its type, covering the value. Precision: findings of a type that
are such a value, over all findings of that type. Prints figures per form and per type; asserts
nothing.
"""

from __future__ import annotations

import argparse
import base64
import random
import string
import time
from collections import Counter, defaultdict

from {{ cookiecutter.package_name }}.data import pii

TYPES = ("email", "phone", "credit_card", "iban", "secret")
PREFIXES = ["Ticket says: ", "From the log: ", "User wrote ", "", "Note - ", "Escalated by "]
SUFFIXES = [".", " please.", " (verified)", "", " asap", "; see above."]


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def email(rng: random.Random) -> tuple[str, str]:
    local = rng.choice(["jane.doe", "j_smith", "ops+alerts", "a.b-c", "sam"]) + rng.choice(
        ["", str(rng.randint(1, 99))]
    )
    domain = rng.choice(["example.com", "mail.example.org", "corp.co.uk", "x-y.io", "uni.edu"])
    return "email", f"{local}@{domain}"


def phone(rng: random.Random) -> tuple[str, str]:
    nanp = f"{rng.randint(2, 9)}{_digits(rng, 2)}", f"{rng.randint(2, 9)}{_digits(rng, 2)}", _digits(rng, 4)
    uk = f"20 {rng.randint(7, 8)}{_digits(rng, 3)} {_digits(rng, 4)}"
    fr = " ".join(_digits(rng, 2) for _ in range(4))
    forms = {
        "e164": f"+1{''.join(nanp)}",
        "intl_spaced": rng.choice([f"+44 {uk}", f"+49 30 {_digits(rng, 7)}", f"+33 6 {fr}"]),
        "nanp": rng.choice([f"({nanp[0]}) {nanp[1]}-{nanp[2]}", "-".join(nanp), ".".join(nanp)]),
        "trunk": rng.choice([f"0{uk}", f"06 {fr}", f"030-{_digits(rng, 7)}"]),
        "00_prefix": rng.choice([f"0049-30-{_digits(rng, 7)}", f"0044 {uk}", f"0033 1 {fr}"]),
        "bare_national": "".join(nanp),
    }
    form = rng.choice(sorted(forms))
    return f"phone/{form}", rng.choice(["call ", "tel: ", "phone ", "mobile "]) + "\0" + forms[form]


def _luhn_complete(body: str) -> str:
    for d in string.digits:
        if pii.luhn_ok(body + d):
            return body + d
    raise AssertionError


def _luhn_broken(body: str) -> str:
    """A card-shaped number whose last digit is one off the valid one: fails Luhn."""
    valid = _luhn_complete(body)
    return valid[:-1] + str((int(valid[-1]) + 1) % 10)


def card(rng: random.Random) -> tuple[str, str]:
    issuer = rng.choice(["visa", "mastercard", "mastercard2", "amex", "discover", "jcb"])
    start, length = {
        "visa": ("4", 16),
        "mastercard": (str(rng.randint(51, 55)), 16),
        "mastercard2": (str(rng.randint(2221, 2720)), 16),
        "amex": (rng.choice(["34", "37"]), 15),
        "discover": ("6011", 16),
        "jcb": ("35" + str(rng.randint(28, 89)), 16),
    }[issuer]
    number = _luhn_complete(start + _digits(rng, length - len(start) - 1))
    if length == 15:
        printed = rng.choice([number, f"{number[:4]} {number[4:10]} {number[10:]}"])
    else:
        sep = rng.choice(["", " ", "-"])
        printed = sep.join(number[i : i + 4] for i in range(0, 16, 4))
    return f"credit_card/{issuer}", printed


IBAN_FORMATS = {"DE": "n18", "GB": "a4n14", "FR": "n10a11n2", "ES": "n20", "NL": "a4n10", "IT": "a1n10a12"}


def _bban(rng: random.Random, spec: str) -> str:
    out, i = [], 0
    while i < len(spec):
        kind, j = spec[i], i + 1
        while j < len(spec) and spec[j].isdigit():
            j += 1
        alphabet = string.digits if kind == "n" else string.ascii_uppercase
        out += [rng.choice(alphabet) for _ in range(int(spec[i + 1 : j]))]
        i = j
    return "".join(out)


def _iban(country: str, bban: str, check: str | None = None) -> str:
    if check is None:
        moved = bban + country + "00"
        check = f"{98 - int(''.join(str(int(ch, 36)) for ch in moved)) % 97:02d}"
    return country + check + bban


def iban(rng: random.Random) -> tuple[str, str]:
    country = rng.choice(sorted(IBAN_FORMATS))
    value = _iban(country, _bban(rng, IBAN_FORMATS[country]))
    if rng.random() < 0.5:
        value = " ".join(value[i : i + 4] for i in range(0, len(value), 4))
    return f"iban/{country}", value


def _b64(rng: random.Random, n: int) -> str:
    return base64.b64encode(rng.randbytes(n)).decode()


def secret(rng: random.Random) -> tuple[str, str]:
    alnum = string.ascii_letters + string.digits
    word = lambda n: "".join(rng.choice(alnum) for _ in range(n))  # noqa: E731
    body = "\n".join(_b64(rng, 48) for _ in range(rng.randint(2, 5)))
    forms = {
        "aws_access_key": "AKIA" + word(16).upper(),
        "github": "ghp_" + word(36),
        "slack": "xoxb-" + _digits(rng, 12) + "-" + word(24),
        "openai": "sk-" + word(20) + _digits(rng, 4) + word(20),
        "google": "AIza" + word(35),
        "stripe": "sk_live_" + word(24),
        "jwt": "eyJ" + word(20) + ".eyJ" + word(30) + "." + word(43),
        "pem": f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----",
        "pem_cut": f"-----BEGIN PRIVATE KEY-----\n{body}",
        "aws_secret_assigned": "aws_secret_access_key = \0" + _b64(rng, 30),
        "password_assigned": rng.choice(["password=", "DB_PASS: ", '"passwd": "', "api_key='"]) + "\0"
        + rng.choice([word(rng.randint(8, 20)), "hunter" + _digits(rng, 2), word(6) + "!" + _digits(rng, 3)]),
    }  # fmt: skip
    form = rng.choice(sorted(forms))
    value = forms[form]
    if form == "password_assigned" and value.split("\0")[0].endswith(('"', "'")):
        value += value.split("\0")[0][-1]  # the closing quote, outside the value
    return f"secret/{form}", value


LOOK_ALIKES = [
    lambda rng: f"order #{_digits(rng, 10)} shipped",
    lambda rng: f"ticket {rng.randint(10**7, 10**8)} reopened",
    lambda rng: f"card run {_luhn_broken('4' + _digits(rng, 14))} x",
    lambda rng: f"iban {_iban('DE', _bban(rng, 'n18'), '00')} has check digits 00",
    lambda rng: f"upgrade to {rng.randint(1, 20)}.{rng.randint(0, 99)}.{rng.randint(0, 99)}",
    lambda rng: f"seen 2026-11-{rng.randint(10, 28)} at {rng.randint(10, 23)}:15:{_digits(rng, 2)}",
    lambda rng: f"sha256 {rng.randbytes(32).hex()}",
    lambda rng: "uuid " + "-".join(rng.randbytes(n).hex() for n in (4, 2, 2, 2, 6)),
    lambda rng: f"epoch ms {rng.randint(1_600_000_000_000, 1_800_000_000_000)}",
    lambda rng: f"max_tokens: {rng.randint(256, 8192)}, password: required, token_count: {_digits(rng, 5)}",
    lambda rng: "password=$" + "{DB_PASSWORD} and token = os.environ['API_TOKEN']",
    lambda rng: f"defanged user[@]example[.]com at 10[.]0[.]0[.]{rng.randint(1, 254)}",
    lambda rng: f"score +{rng.randint(1, 99)} points, build {_digits(rng, 6)}",
]  # fmt: skip
GENERATORS = {"email": email, "phone": phone, "credit_card": card, "iban": iban, "secret": secret}


def sample(rng: random.Random, make) -> tuple[str, str, int, int]:
    """(form, text, start, end) of one positive inside a sentence; "\\0" marks where the value starts."""
    form, value = make(rng)
    lead, _, value = value.rpartition("\0")
    closing = ""
    if value[-1:] in "\"'" and lead[-1:] == value[-1:]:
        value, closing = value[:-1], value[-1]
    text = rng.choice(PREFIXES) + lead
    start = len(text)
    text += value + closing + rng.choice(SUFFIXES)
    return form, text, start, start + len(value)


def main(n: int, seed: int) -> None:
    rng = random.Random(seed)
    hits, totals, by_form = Counter(), Counter(), defaultdict(lambda: [0, 0])
    right, found = Counter(), Counter()
    seconds, texts = 0.0, 0
    for kind, make in GENERATORS.items():
        for _ in range(n):
            form, text, start, end = sample(rng, make)
            t0 = time.perf_counter()
            findings = pii.scan(text, TYPES)
            seconds, texts = seconds + time.perf_counter() - t0, texts + 1
            ok = any(f.type == kind and f.start <= start and f.end >= end for f in findings)
            hits[kind] += ok
            totals[kind] += 1
            by_form[form][0] += ok
            by_form[form][1] += 1
            for f in findings:
                found[f.type] += 1
                right[f.type] += f.type == kind and f.start < end and f.end > start
    for i in range(n * len(GENERATORS)):
        text = LOOK_ALIKES[i % len(LOOK_ALIKES)](rng)
        t0 = time.perf_counter()
        findings = pii.scan(text, TYPES)
        seconds, texts = seconds + time.perf_counter() - t0, texts + 1
        for f in findings:
            found[f.type] += 1
    print(f"{'form':<34} {'recall':>7} {'n':>6}")
    for form, (ok, total) in sorted(by_form.items()):
        print(f"{form:<34} {ok / total:7.3f} {total:6d}")
    print(f"\n{'type':<14} {'recall':>7} {'precision':>10} {'findings':>9}")
    for kind in TYPES:
        precision = right[kind] / found[kind] if found[kind] else float("nan")
        print(f"{kind:<14} {hits[kind] / totals[kind]:7.3f} {precision:10.3f} {found[kind]:9d}")
    print(f"\nscan: {texts} texts in {seconds:.2f} s ({texts / seconds:,.0f} texts/s, one core)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--n", type=int, default=2000, help="positives per type (and as many look-alikes in all)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(args.n, args.seed)
