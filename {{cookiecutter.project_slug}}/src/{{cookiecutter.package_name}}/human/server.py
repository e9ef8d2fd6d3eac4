"""The reviewer's page on 127.0.0.1, and the verdicts it posts, appended to verdicts.jsonl.

Standard library only (`http.server`). Three routes: `GET /` the page with the sheet embedded
(never the key), `GET /verdicts?reviewer=NAME` what that reviewer has already judged (to resume),
`POST /verdicts` one verdict, validated against the sheet and appended with a UTC timestamp.
Bound to the loopback interface: the sheet holds unreleased model output. Loopback is not enough on
its own, since any web page the reviewer has open can send requests there, so every request must
name this server in `Host` (a DNS-rebound name does not: it cannot read the sheet), the verdict
routes need the token this server put into its page (`X-Review-Token`, unguessable, new per run),
and a verdict must be `application/json` from this origin: a cross-site form or `text/plain` post
is refused before it is read.
"""

from __future__ import annotations

import datetime
import hmac
import json
import secrets
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from ..data.jsonl import dumps, loads, read_json, read_jsonl
from .sheet import AB_VERDICTS, SAMPLE_VERDICTS

MAX_NOTE = 2000
TOKEN_HEADER = "X-Review-Token"
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
# Inside <script>, "<!--", "<script" and "</script" change how the HTML parser reads on; as JSON escapes
# these characters mean the same to JSON.parse and no text can end or re-open the element.
SCRIPT_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def page(sheet: dict, token: str | None = None) -> str:
    """The page with the sheet's items inlined: works from a file too, where it downloads JSONL.

    `token`: the server's, for the page it serves; a page written to a file has none and posts nothing.
    """
    template = resources.files(__package__).joinpath("page.html").read_text(encoding="utf-8")
    public = {"created_at": sheet["created_at"], "items": sheet["items"], "token": token}
    return template.replace("__SHEET__", json.dumps(public, ensure_ascii=False).translate(SCRIPT_SAFE))


def check_verdict(body: object, items: dict[str, dict]) -> tuple[dict | None, str]:
    """(the verdict to store, "") or (None, what is wrong with it)."""
    if not isinstance(body, dict):
        return None, "expected a JSON object"
    reviewer, item, verdict, note = (body.get(k) for k in ("reviewer", "item", "verdict", "note"))
    if not isinstance(reviewer, str) or not reviewer.strip() or len(reviewer) > 100:
        return None, "reviewer: a name of 1-100 characters is needed"
    if item not in items:
        return None, f"item: {item!r} is not on this sheet"
    allowed = AB_VERDICTS if items[item]["kind"] == "ab" else SAMPLE_VERDICTS
    if verdict not in allowed:
        return None, f"verdict: {verdict!r} is not one of {', '.join(allowed)}"
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE):
        return None, f"note: text of at most {MAX_NOTE} characters"
    at = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"reviewer": reviewer.strip(), "item": item, "verdict": verdict, "note": note or "", "at": at}, ""


def make_server(review_dir: Path, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    sheet = read_json(review_dir / "sheet.json")
    items = {item["id"]: item for item in sheet["items"]}
    token = secrets.token_urlsafe(32)
    html = page(sheet, token).encode("utf-8")
    verdicts = review_dir / "verdicts.jsonl"
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("X-Frame-Options", "DENY")  # no framing: a page cannot click for the reviewer
            self.send_header("Content-Security-Policy", "frame-ancestors 'none'")
            self.send_header("Referrer-Policy", "no-referrer")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, data: object) -> None:
            self._send(status, json.dumps(data).encode("utf-8"))

        def _refused(self, route: str) -> bool:
            """Answers and returns True when the request is not from this server's own page."""
            port = self.server.server_address[1]
            names = {*LOOPBACK, host} if host not in ("0.0.0.0", "::", "") else set(LOOPBACK)
            if self.headers.get("Host", "").lower() not in {f"{n}:{port}" for n in names}:
                self._json(HTTPStatus.MISDIRECTED_REQUEST, {"error": f"Host must be 127.0.0.1:{port}"})
                return True
            origin = self.headers.get("Origin")
            if origin is not None and origin.lower() not in {f"http://{n}:{port}" for n in names}:
                self._json(HTTPStatus.FORBIDDEN, {"error": f"Origin {origin} is not this server"})
                return True
            site = self.headers.get("Sec-Fetch-Site")
            if route != "/" and site is not None and site != "same-origin":
                self._json(HTTPStatus.FORBIDDEN, {"error": f"a {site} request"})
                return True
            if route != "/" and not hmac.compare_digest(
                self.headers.get(TOKEN_HEADER, "").encode("latin-1", "replace"), token.encode()
            ):
                self._json(
                    HTTPStatus.FORBIDDEN, {"error": f"{TOKEN_HEADER}: missing or stale; reload the page"}
                )
                return True
            return False

        def do_GET(self) -> None:
            url = urlparse(self.path)
            if self._refused("/" if url.path != "/verdicts" else url.path):
                return None
            if url.path in ("/", "/index.html"):
                return self._send(HTTPStatus.OK, html, "text/html")
            if url.path == "/verdicts":
                who = parse_qs(url.query).get("reviewer", [""])[0].strip()
                with lock:
                    done = list(read_jsonl(verdicts)) if verdicts.exists() else []
                return self._json(HTTPStatus.OK, {v["item"]: v for v in done if v["reviewer"] == who})
            return self._json(HTTPStatus.NOT_FOUND, {"error": "not found"})

        def do_POST(self) -> None:
            if urlparse(self.path).path != "/verdicts":
                return self._json(HTTPStatus.NOT_FOUND, {"error": "not found"})
            if self._refused("/verdicts"):
                return None
            kind = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if kind != "application/json":
                return self._json(
                    HTTPStatus.UNSUPPORTED_MEDIA_TYPE, {"error": "Content-Type must be application/json"}
                )
            try:
                length = int(self.headers.get("Content-Length") or 0)
                body = loads(self.rfile.read(min(max(length, 0), 64_000)) or b"null")
            except (ValueError, RecursionError):  # a bad length, bytes or JSON (standard: as aggregate reads)
                return self._json(HTTPStatus.BAD_REQUEST, {"error": "the body is not JSON"})
            verdict, problem = check_verdict(body, items)
            if verdict is None:
                return self._json(HTTPStatus.BAD_REQUEST, {"error": problem})
            with lock, verdicts.open("a", encoding="utf-8") as f:
                f.write(dumps(verdict) + "\n")
            return self._json(HTTPStatus.CREATED, {"saved": verdict})

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
            pass  # one line per click would bury the address the reviewer needs

    return ThreadingHTTPServer((host, port), Handler)
