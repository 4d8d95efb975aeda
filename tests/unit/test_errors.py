"""The error tree: fields, str, pickling, and keys never shown."""

from __future__ import annotations

import pickle

import pytest

from minimax_nb import errors as E
from minimax_nb.errors import redact

KEY = "sk-live-0123456789abcdef"


def test_str_lists_what_is_known() -> None:
    e = E.RateLimitError(
        "slow down", provider="aimlapi", status_code=429, code="rate_limit", request_id="r1", retry_after=2.5
    )
    assert str(e) == "slow down (aimlapi, HTTP 429, code rate_limit, request r1)"
    assert e.retry_after == 2.5
    assert repr(e).startswith("RateLimitError(")


def test_code_equal_to_status_is_not_repeated() -> None:
    assert (
        str(E.NotFoundError("gone", provider="useapi", status_code=404, code=404))
        == "gone (useapi, HTTP 404)"
    )


def test_plain_message() -> None:
    assert str(E.MiniMaxError("x")) == "x"


@pytest.mark.parametrize(
    "cls",
    [
        E.ValidationError,
        E.AuthenticationError,
        E.ModerationError,
        E.ConcurrencyLimitError,
        E.RateLimitError,
        E.InsufficientBalanceError,
        E.NotFoundError,
        E.ServerError,
        E.APIConnectionError,
        E.APITimeoutError,
        E.JobFailedError,
        E.WaitTimeoutError,
    ],
)
def test_every_error_is_a_minimax_error_and_pickles(cls: type[E.MiniMaxError]) -> None:
    e = cls("msg", provider="p", status_code=500, request_id="r")
    assert isinstance(e, E.MiniMaxError)
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is cls and str(back) == str(e) and back.request_id == "r"


def test_hierarchy_extras() -> None:
    assert issubclass(E.APITimeoutError, E.APIConnectionError)
    assert issubclass(E.WaitTimeoutError, TimeoutError)
    assert issubclass(E.ValidationError, ValueError)


def test_validation_error_lists_problems() -> None:
    assert E.ValidationError("one").problems == ["one"]
    assert E.ValidationError("two", problems=["a", "b"]).problems == ["a", "b"]


def test_redact_scrubs_given_secrets_and_bearer_tokens() -> None:
    text = f"key={KEY} header='Authorization: Bearer {KEY}' other Bearer abc.def"
    out = redact(text, [KEY])
    assert KEY not in out and "abc.def" not in out
    assert out.count("***") == 3


def test_redact_ignores_tiny_and_missing_secrets() -> None:
    assert redact("abc", ["ab", None]) == "abc"


def test_error_message_never_contains_a_bearer_key() -> None:
    e = E.AuthenticationError(f"rejected Authorization: Bearer {KEY}", provider="minimax")
    assert KEY not in str(e) and KEY not in repr(e) and KEY not in e.message


def test_error_str_never_contains_a_key_passed_through_redact() -> None:
    e = E.ServerError(redact(f"upstream echoed {KEY}", [KEY]), provider="apiin", status_code=502)
    assert KEY not in str(e)
    assert KEY not in str(pickle.loads(pickle.dumps(e)))
