"""Basic auth (driftmon.web.auth): bcrypt checks, their caches, the bound on concurrent
checks and the unknown-user hash, with real bcrypt (costs 4 to 12; timings are medians)."""

from __future__ import annotations

import statistics
import threading
import time

import bcrypt

from driftmon.web.auth import BUSY, DENIED, OK, BasicAuth, cost, unknown_user_hash

FAST = bcrypt.hashpw(b"pw", bcrypt.gensalt(4))
SLOW = bcrypt.hashpw(b"pw", bcrypt.gensalt(12))  # the cost the docs recommend


def seconds(call: object) -> float:
    started = time.perf_counter()
    call()  # type: ignore[operator]
    return time.perf_counter() - started


def test_the_right_password_passes_and_everything_else_fails() -> None:
    """The right password is OK; a wrong one, an unknown user or a malformed hash are DENIED,
    and a repeated check gives the same answer."""
    users = {"prometheus": FAST, "broken": b"$2b$04$short"}
    auth = BasicAuth()
    for _ in range(2):
        assert auth.check(users, "prometheus", "pw") is OK
        assert auth.check(users, "prometheus", "wrong") is DENIED
        assert auth.check(users, "nobody", "pw") is DENIED
        assert auth.check(users, "broken", "pw") is DENIED
        assert auth.check(users, "prometheus", "pw\0") is DENIED


def test_an_unknown_user_is_checked_at_the_configured_cost() -> None:
    """With a cost-12 hash configured, an unknown user's password is checked against a cost-12
    hash (it was a fixed cost-10 one): its median time is within 40 % of a known user's wrong
    password (before: a quarter of it)."""
    users = {"prometheus": SLOW, "other": FAST}
    assert cost(unknown_user_hash(users)) == 12 and unknown_user_hash(users) == unknown_user_hash(users)
    auth = BasicAuth()
    known = [seconds(lambda i=i: auth.check(users, "prometheus", f"wrong-{i}")) for i in range(5)]
    unknown = [seconds(lambda i=i: auth.check(users, "nobody", f"wrong-{i}")) for i in range(5)]
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.6 < ratio < 1.4, (known, unknown)


def test_failures_never_evict_the_verified_password() -> None:
    """5,000 distinct wrong passwords (more than both caches hold) leave the scraper's
    verified cost-12 password cached: it is answered in milliseconds, not a bcrypt (before:
    the one shared cache was emptied when full)."""
    users = {"prometheus": SLOW, "guessed": FAST}
    auth = BasicAuth()
    assert auth.check(users, "prometheus", "pw") is OK
    for attempt in range(5000):
        assert auth.check(users, "guessed", f"wrong-{attempt}", client="10.0.0.9") is DENIED
    assert seconds(lambda: auth.check(users, "prometheus", "pw")) < 0.05


def test_a_repeated_wrong_password_from_a_client_costs_one_bcrypt() -> None:
    """The second identical failure from the same client is answered from the cache."""
    users = {"prometheus": SLOW}
    auth = BasicAuth()
    first = seconds(lambda: auth.check(users, "prometheus", "wrong", client="10.0.0.9"))
    again = seconds(lambda: auth.check(users, "prometheus", "wrong", client="10.0.0.9"))
    assert again < 0.05 < first


def test_concurrent_checks_are_bounded_and_a_cached_scrape_does_not_wait() -> None:
    """Eight threads checking new wrong passwords at cost 12 at once: at most 1 + MAX_WAITING
    of them run or wait for bcrypt, the rest are BUSY at once; meanwhile the verified password
    is OK in milliseconds."""
    users = {"prometheus": SLOW}
    auth = BasicAuth()
    assert auth.check(users, "prometheus", "pw") is OK
    verdicts: list[object] = []
    start = threading.Barrier(9)

    def guess(index: int) -> None:
        start.wait()
        verdicts.append(auth.check(users, "prometheus", f"guess-{index}", client="10.0.0.9"))

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    start.wait()
    time.sleep(0.05)  # the guesses are under way
    assert seconds(lambda: auth.check(users, "prometheus", "pw")) < 0.05
    for thread in threads:
        thread.join()
    assert verdicts.count(DENIED) <= 1 + BasicAuth.MAX_WAITING
    assert verdicts.count(BUSY) >= 8 - (1 + BasicAuth.MAX_WAITING)
