"""Human review: the blind sheet, the aggregation, and a real browser clicking through the page."""

import http.client
import json
import os
import re
import shutil
import threading
from collections import Counter
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }} import review
from {{ cookiecutter.package_name }}.data.jsonl import read_jsonl, write_jsonl
from {{ cookiecutter.package_name }}.errors import UserError
from {{ cookiecutter.package_name }}.human import agreement, server
from {{ cookiecutter.package_name }}.params.review import (
    ReviewParams,
)

# Where the browser test looks for Chromium, in order (the template's own browser tests look alike).
CHROMIUM_CANDIDATES = {
    "$CHROMIUM": os.environ.get("CHROMIUM"),
    "chromium on PATH": shutil.which("chromium"),
    "chromium-browser on PATH": shutil.which("chromium-browser"),
    "/usr/lib/chromium/chromium": "/usr/lib/chromium/chromium",
}
CHROMIUM = next((c for c in CHROMIUM_CANDIDATES.values() if c and Path(c).is_file()), None)
P = ReviewParams(per_bucket=2, ab_per_bucket=2, sets=["golden", "test"], seed=0)


def prediction(model: str, eval_set: str, i: int, bucket: str, text: str) -> dict:
    return {
        "model": model, "set": eval_set, "id": f"{eval_set}-{i}", "request": f"request {i} <b>bold?</b>",
        "bucket": bucket, "risk": "high", "check": "normalized", "reference": f"ref {i}",
        "prediction": text, "stopped": True, "passed": model == "finetuned", "reason": "", "detail": "",
    }  # fmt: skip


@pytest.fixture
def inputs(tmp_path):
    """Two sets x two buckets x three items with differing answers, plus one identical pair."""
    preds = []
    for eval_set in ("golden", "test"):
        for i in range(6):
            bucket = "alpha" if i % 2 else "beta"
            preds += [prediction("base", eval_set, i, bucket, f"base answer {i}")]
            preds += [prediction("finetuned", eval_set, i, bucket, f"tuned answer {i}")]
    preds += [prediction(m, "golden", 99, "alpha", "same") for m in ("base", "finetuned")]
    preds += [prediction(m, "extra", 1, "alpha", m) for m in ("base", "finetuned")]  # not in review.sets
    write_jsonl(tmp_path / "predictions.jsonl", preds)
    rows = [{"id": f"r{i}", "messages": [{"role": "user", "content": f"q{i}"}], "meta": {"bucket": b}}
            for i, b in enumerate(["alpha"] * 5 + ["beta"] * 5 + ["gamma"])]  # fmt: skip
    write_jsonl(tmp_path / "curated.jsonl", rows)
    return tmp_path


def export(tmp_path) -> tuple[dict, dict]:
    data = review.export(P, tmp_path / "curated.jsonl", tmp_path / "predictions.jsonl", tmp_path / "review")
    return data, json.loads((tmp_path / "review" / "key.json").read_text())


def test_the_sheet_is_stratified_and_blind(inputs):
    data, key = export(inputs)
    kinds = Counter(i["kind"] for i in data["items"])
    assert kinds == {"sample": 2 + 2 + 1, "ab": 2 * 2 * 2}  # per bucket; per set and bucket
    samples = Counter(i["bucket"] for i in data["items"] if i["kind"] == "sample")
    assert samples == {"alpha": 2, "beta": 2, "gamma": 1}
    ab = [i for i in data["items"] if i["kind"] == "ab"]
    assert Counter((i["set"], i["bucket"]) for i in ab) == {
        (s, b): 2 for s in ("golden", "test") for b in ("alpha", "beta")
    }
    assert data["identical_pairs_left_out"] == 1 and not any(i["a"] == "same" for i in ab)
    assert set(key) == {i["id"] for i in ab}
    for item in ab:  # the key says which model wrote A; the sheet itself never does
        sides = key[item["id"]]
        assert {sides["a"], sides["b"]} == {"base", "finetuned"}
        base_slot = "a" if sides["a"] == "base" else "b"
        assert item[base_slot].startswith("base answer")
        assert not {"model", "passed"} & set(item)
    assert len({k["a"] for k in key.values()}) == 2  # both orders occur
    page = (inputs / "review" / "review.html").read_text()
    assert "finetuned" not in page and "key.json" not in page
    assert "http://" not in page and "https://" not in page  # nothing from outside


def test_export_keeps_the_sheet_of_the_same_answers_and_guards_verdicts(inputs):
    data, _ = export(inputs)
    again, _ = export(inputs)
    assert again == data  # reviewers carry on where they stopped
    (inputs / "review" / "verdicts.jsonl").write_text(
        '{"reviewer": "a", "item": "ab-0000", "verdict": "a"}\n'
    )
    predictions = inputs / "predictions.jsonl"
    predictions.write_text(predictions.read_text().replace("tuned answer 0", "tuned answer zero"))
    with pytest.raises(UserError, match="holds verdicts on another model's answers"):
        export(inputs)
    fresh = review.export(P, inputs / "curated.jsonl", predictions, inputs / "review", force=True)
    assert fresh["predictions_sha256"] != data["predictions_sha256"]
    assert not (inputs / "review" / "verdicts.jsonl").exists()


def test_verdicts_are_checked_against_the_sheet():
    items = {"ab-0": {"kind": "ab"}, "s-0": {"kind": "sample"}}
    ok, _ = server.check_verdict({"reviewer": " ana ", "item": "ab-0", "verdict": "tie", "note": "n"}, items)
    assert ok["reviewer"] == "ana" and ok["at"].endswith("Z")
    for body, message in [
        ({"item": "ab-0", "verdict": "a"}, "reviewer: a name"),
        ({"reviewer": "x", "item": "zz", "verdict": "a"}, "item: 'zz' is not on this sheet"),
        ({"reviewer": "x", "item": "s-0", "verdict": "a"}, "verdict: 'a' is not one of ok, bad"),
        ({"reviewer": "x", "item": "ab-0", "verdict": "a", "note": 5}, "note: text"),
        ([1], "expected a JSON object"),
    ]:
        verdict, problem = server.check_verdict(body, items)
        assert verdict is None and problem.startswith(message), problem


def test_win_rate_counts_ties_as_half_and_kappa_corrects_for_chance():
    assert agreement.win_stats(["finetuned"] * 3 + ["base", "tie", "both_bad"])["win_rate"] == round(4 / 6, 4)
    # Two raters, 10 items: agree on 8 (6 yes, 2 no), p_o = 0.8, p_e = 0.7*0.7 + 0.3*0.3 = 0.58.
    pairs = [("y", "y")] * 6 + [("n", "n")] * 2 + [("y", "n"), ("n", "y")]
    assert agreement.cohen_kappa(pairs) == round((0.8 - 0.58) / (1 - 0.58), 4)
    assert agreement.cohen_kappa([("y", "y")] * 3) is None  # all one label: chance explains everything
    labels = {
        ("ana", "i1"): "x",
        ("ben", "i1"): "x",
        ("ana", "i2"): "x",
        ("ben", "i2"): "y",
        ("cy", "i3"): "x",
    }
    assert agreement.agreement(labels) == {"reviewer_pairs": 1, "shared_items": 2, "raw": 0.5, "kappa": 0.0}
    assert agreement.agreement({("ana", "i1"): "x"}) is None


def test_aggregate_unblinds_with_the_key_and_the_last_verdict_counts(inputs):
    data, key = export(inputs)
    ab = [i["id"] for i in data["items"] if i["kind"] == "ab"]
    tuned_side = {i: "a" if key[i]["a"] == "finetuned" else "b" for i in ab}
    base_side = {i: "b" if tuned_side[i] == "a" else "a" for i in ab}
    verdicts = [{"reviewer": "ana", "item": i, "verdict": base_side[i]} for i in ab]  # changed her mind:
    verdicts += [{"reviewer": "ana", "item": i, "verdict": tuned_side[i]} for i in ab]
    verdicts += [{"reviewer": "ben", "item": ab[0], "verdict": "tie"}]
    write_jsonl(inputs / "review" / "verdicts.jsonl", verdicts)
    r = review.aggregate(inputs / "review", inputs / "review.json")
    assert r["reviewers"] == ["ana", "ben"] and r["ab"]["votes"] == len(ab) + 1
    assert (r["ab"]["finetuned"], r["ab"]["base"], r["ab"]["tie"]) == (len(ab), 0, 1)
    assert r["ab"]["coverage"] == 1.0 and r["sheet"]["predictions_sha256"] == data["predictions_sha256"]
    assert r["agreement"]["ab"] == {"reviewer_pairs": 1, "shared_items": 1, "raw": 0.0, "kappa": 0.0}
    assert json.loads((inputs / "review.json").read_text()) == r


def test_aggregate_without_verdicts_says_so(inputs):
    export(inputs)
    with pytest.raises(UserError, match="no verdicts"):
        review.aggregate(inputs / "review", inputs / "review.json")


HOSTILE = ["<!--<script>", "</script><script>document.title='owned'</script>", "<!--", "-->", "</SCRIPT >",
           "]]>", "&lt;b&gt; &amp;", "line\u2028sep\u2029para", "<\\/script>", "'\"`${x}"]  # fmt: skip


def hostile_sheet() -> dict:
    ab = {"kind": "ab", "set": "golden", "bucket": "<!--", "reference": "-->"}
    items = [
        {**ab, "id": f"ab-{i}", "request": t, "a": t + "!", "b": "<script>"} for i, t in enumerate(HOSTILE)
    ]
    items.append({"id": "s-0", "kind": "sample", "bucket": "x", "row_id": "<!--<script>",
                  "messages": [{"role": "user", "content": "</script>"}]})  # fmt: skip
    return {"created_at": "2026-01-01T00:00:00Z", "items": items}


def embedded(html: str) -> str:
    return re.search(r'<script id="sheet" type="application/json">(.*?)</script>', html, re.S).group(1)


def test_no_text_in_the_sheet_can_end_or_reopen_the_script_element():
    sheet = hostile_sheet()
    html = server.page(sheet)
    inline = embedded(html)
    assert not set("<>&") & set(inline)  # nothing the HTML parser acts on inside script data
    assert json.loads(inline)["items"] == sheet["items"] and json.loads(inline)["token"] is None
    assert html.count("<script") == 2


def request(port: int, method: str, path: str, body: bytes | None = None, **headers) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in {"Host": f"127.0.0.1:{port}", **headers}.items():
            if value is not None:
                connection.putheader(name.replace("_", "-"), value)
        connection.putheader("Content-Length", str(len(body or b"")))
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_the_server_answers_only_its_own_page(inputs):
    data, _ = export(inputs)
    httpd = server.make_server(inputs / "review")
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    port = httpd.server_address[1]
    item = next(i for i in data["items"] if i["kind"] == "ab")
    vote = json.dumps({"reviewer": "mallory", "item": item["id"], "verdict": "a"}).encode()
    try:
        status, body = request(port, "GET", "/", Host=f"evil.example:{port}")  # DNS rebinding
        assert status == 421 and item["a"].encode() not in body
        status, _ = request(port, "GET", "/verdicts?reviewer=ana", Host=f"evil.example:{port}")
        assert status == 421
        cross_site = {"Origin": "http://evil.example", "Content_Type": "text/plain"}
        assert request(port, "POST", "/verdicts", vote, **cross_site)[0] == 403
        assert request(port, "POST", "/verdicts", vote, Content_Type="application/json")[0] == 403  # no token
        assert request(port, "GET", "/verdicts?reviewer=ana")[0] == 403
        status, html = request(port, "GET", "/")
        assert status == 200
        token = json.loads(embedded(html.decode()))["token"]
        assert len(token) >= 40
        good = {"X_Review_Token": token, "Content_Type": "application/json"}
        assert request(port, "POST", "/verdicts", vote, **{**good, "Content_Type": "text/plain"})[0] == 415
        assert request(port, "POST", "/verdicts", vote, **good, Origin="http://evil.example")[0] == 403
        assert request(port, "POST", "/verdicts", vote, **good, Sec_Fetch_Site="cross-site")[0] == 403
        assert request(port, "POST", "/verdicts", vote, **{**good, "X_Review_Token": "é" + token})[0] == 403
        nan = vote.replace(b'"mallory"', b"NaN")  # what json.loads takes and aggregate's reader refuses
        status, answer = request(port, "POST", "/verdicts", nan, **good)
        assert status == 400 and json.loads(answer) == {"error": "the body is not JSON"}
        assert not (inputs / "review" / "verdicts.jsonl").exists()  # nothing refused was stored
        origin = f"http://127.0.0.1:{port}"
        assert request(port, "POST", "/verdicts", vote, **good, Origin=origin)[0] == 201
        status, mine = request(port, "GET", "/verdicts?reviewer=mallory", X_Review_Token=token)
        assert status == 200 and list(json.loads(mine)) == [item["id"]]
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_forged_or_broken_verdict_lines_stop_aggregate_naming_file_and_line(inputs):
    data, _ = export(inputs)
    ab = next(i["id"] for i in data["items"] if i["kind"] == "ab")
    sample = next(i["id"] for i in data["items"] if i["kind"] == "sample")
    good = {"reviewer": "ana", "item": ab, "verdict": "tie"}
    write_jsonl(
        inputs / "review" / "verdicts-ana.jsonl",
        [
            good,
            {**good, "verdict": "finetuned"},  # names the model: would skip the blinding
            {"reviewer": "ana", "item": ab},  # no verdict
            {**good, "item": sample},  # a sample item has ok/bad only
            {**good, "item": "ab-9999"},
            {**good, "reviewer": ""},
        ],
    )
    with pytest.raises(UserError) as e:
        review.aggregate(inputs / "review", inputs / "review.json")
    message = str(e.value)
    assert "5 verdict line(s)" in message and "verdicts-ana.jsonl:1" not in message
    assert "verdicts-ana.jsonl:2: verdict: 'finetuned' is not one of a, b, tie, both_bad" in message
    assert (
        "verdicts-ana.jsonl:3: verdict: None" in message and "verdicts-ana.jsonl:4: verdict: 'tie'" in message
    )
    assert "verdicts-ana.jsonl:5: item: 'ab-9999'" in message and "verdicts-ana.jsonl:6: reviewer" in message
    assert not (inputs / "review.json").exists()


@pytest.fixture
def browser():
    if CHROMIUM is None:
        named = os.environ.get("CHROMIUM")
        pytest.skip(
            f"no Chromium: looked for {', '.join(CHROMIUM_CANDIDATES)}"
            + (f" ($CHROMIUM={named} is not a file)" if named else "")
            + "; apt-get install chromium, or set CHROMIUM=/path/to/chromium"
        )
    from playwright.sync_api import sync_playwright

    driver = sync_playwright().start()
    args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync"]  # fmt: skip
    chromium = driver.chromium.launch(executable_path=CHROMIUM, args=args)
    yield chromium
    chromium.close()
    driver.stop()


def expect(locator):
    from playwright.sync_api import (
        expect as playwright_expect,  # asserts without eval, which the page forbids
    )

    return playwright_expect(locator)


def ready(page) -> None:
    page.wait_for_selector("body[data-ready='1']")


def click_through(page, items: dict, choose) -> None:
    """Judge every item shown, in the order the page offers them, with `choose(item)`."""
    for n in range(1, len(items) + 1):
        ready(page)
        item = items[page.get_attribute("#item", "data-item-id")]
        if item["kind"] == "ab":  # model output is shown as text, never as markup
            assert page.locator("#item b").count() == 0 and "<b>bold?</b>" in page.text_content("#item")
        verdict, note = choose(item)
        page.fill("#note", note)
        page.click(f"[data-verdict='{verdict}']")
        expect(page.locator("#progress")).to_have_text(f"judged {n} of {len(items)}")


@pytest.mark.slow
def test_reviewers_click_through_the_page_and_verdicts_become_metrics(inputs, browser):
    data, key = export(inputs)
    items = {i["id"]: i for i in data["items"]}
    httpd = server.make_server(inputs / "review")
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    requested = []
    first_ab = next(i for i in data["items"] if i["kind"] == "ab")["id"]

    def side(item, model):
        return "a" if key[item["id"]]["a"] == model else "b"

    def ana(item):
        if item["kind"] == "sample":
            return ("bad", "answer contradicts the policy") if item["bucket"] == "gamma" else ("ok", "")
        return side(item, "finetuned"), ""

    def ben(item):
        if item["kind"] == "sample":
            return "ok", ""
        return (
            (side(item, "base"), "base is right here")
            if item["id"] == first_ab
            else (side(item, "finetuned"), "")
        )

    try:
        for name, choose in (("ana", ana), ("ben", ben)):
            context = browser.new_context()
            page = context.new_page()
            page.on("request", lambda r: requested.append(r.url))
            page.goto(url)
            ready(page)
            page.click("[data-verdict]")  # no name yet: nothing is saved
            assert page.text_content("#status") == "Enter your name first."
            page.fill("#reviewer", name)
            page.press("#reviewer", "Tab")
            click_through(page, items, choose)
            assert page.is_visible("#done")
            page.reload()  # a reviewer who comes back sees their work, restored from the server
            ready(page)
            assert page.text_content("#progress") == f"judged {len(items)} of {len(items)}"
            context.close()
    finally:
        httpd.shutdown()
    assert {u.split("/")[2] for u in requested} == {url.split("/")[2]}  # nothing loaded from elsewhere
    saved = list(read_jsonl(inputs / "review" / "verdicts.jsonl"))
    assert len(saved) == 2 * len(items) and {v["reviewer"] for v in saved} == {"ana", "ben"}
    r = review.aggregate(inputs / "review", inputs / "metrics" / "review.json")
    n_ab = sum(i["kind"] == "ab" for i in items.values())
    assert (r["ab"]["votes"], r["ab"]["finetuned"], r["ab"]["base"]) == (2 * n_ab, 2 * n_ab - 1, 1)
    assert r["ab"]["win_rate"] == round((2 * n_ab - 1) / (2 * n_ab), 4)
    assert r["agreement"]["ab"]["raw"] == round((n_ab - 1) / n_ab, 4)
    assert r["sample"]["flagged"] == [
        {"row_id": "r10", "reviewer": "ana", "note": "answer contradicts the policy"}
    ]
    assert r["sample"]["by_bucket"]["gamma"] == {"bad": 1, "ok": 1}


@pytest.mark.slow
def test_the_page_works_from_a_file_and_downloads_the_verdicts(inputs, browser):
    data, _ = export(inputs)
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.goto((inputs / "review" / "review.html").as_uri())
    page.fill("#reviewer", "cy")
    page.press("#reviewer", "Tab")
    ready(page)
    first = page.get_attribute("#item", "data-item-id")
    verdict = "ok" if first.startswith("s-") else "tie"
    page.click(f"[data-verdict='{verdict}']")
    ready(page)
    with page.expect_download() as download:
        page.click("#download")
    path = inputs / "review" / "verdicts-cy.jsonl"
    download.value.save_as(path)
    context.close()
    [line] = list(read_jsonl(path))
    assert (line["reviewer"], line["item"], line["verdict"]) == ("cy", first, verdict)
    r = review.aggregate(inputs / "review", inputs / "review.json")  # downloaded files count too
    assert r["reviewers"] == ["cy"]


@pytest.mark.slow
def test_hostile_texts_show_as_text_and_leave_the_page_working(tmp_path, browser):
    sheet = hostile_sheet()
    (tmp_path / "review.html").write_text(server.page(sheet), encoding="utf-8")
    page = browser.new_context().new_page()
    page.goto((tmp_path / "review.html").as_uri())
    page.fill("#reviewer", "cy")
    page.press("#reviewer", "Tab")
    ready(page)
    assert page.title() == "Review" and page.text_content("#progress") == f"judged 0 of {len(sheet['items'])}"
    by_id = {i["id"]: i for i in sheet["items"]}
    for _ in sheet["items"]:
        item = by_id[page.get_attribute("#item", "data-item-id")]
        texts = page.locator("#item .block").all_text_contents()
        if item["kind"] == "ab":
            assert texts[0] == "request" + item["request"] and texts[2] == "answer A" + item["a"]
        assert page.locator("#item script").count() == 0
        page.click("#next")
