"""The CPU thread count follows the model's size, and a user's OMP_NUM_THREADS always wins."""

from {{ cookiecutter.package_name }} import threads


def test_a_small_model_gets_one_thread():
    assert threads.choose(459_392, env={}) == (1, "0.5 M parameters < 100 M")


def test_a_large_or_unknown_model_gets_every_core(monkeypatch):
    monkeypatch.setattr(threads, "cores", lambda: 8)
    assert threads.choose(135_000_000, env={})[0] == 8
    assert threads.choose(None, env={})[0] == 8


def test_the_users_setting_wins():
    assert threads.choose(459_392, env={"OMP_NUM_THREADS": "4"}) == (4, "OMP_NUM_THREADS=4")
    assert threads.choose(10**9, env={"MKL_NUM_THREADS": "1"}) == (1, "MKL_NUM_THREADS=1")
    assert threads.choose(459_392, env={"OMP_NUM_THREADS": ""})[0] == 1  # empty means unset


def test_set_threads_prints_its_choice_once(capsys, monkeypatch):
    monkeypatch.setattr(threads, "_chosen", None)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    assert threads.set_threads(1000, "base") == 1
    threads.set_threads(2000, "base")
    assert capsys.readouterr().err == "base: 1 CPU thread (0.0 M parameters < 100 M)\n"
