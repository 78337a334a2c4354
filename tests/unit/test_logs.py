"""The shared log vocabulary (havip.logs): fixed fields, bound fields, the JSON and text lines."""

from __future__ import annotations

import contextvars
import io
import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from havip import logs
from havip.agent import logs as agent_logs

pytestmark = pytest.mark.unit

Captured = tuple[logging.Logger, dict[str, io.StringIO]]


@pytest.fixture
def captured() -> Iterator[Captured]:
    """A logger with a JSON handler and a text handler, each writing to its own buffer."""
    logger = logging.getLogger("havip.test-logs")
    streams = {"json": io.StringIO(), "text": io.StringIO()}
    handlers = [logs.handler(fmt, stream) for fmt, stream in streams.items()]
    logger.handlers[:] = handlers
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield logger, streams
    finally:
        logger.handlers[:] = []
        logger.propagate = True


def json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_an_event_is_one_json_object_with_the_base_fields_then_its_own(captured: Captured) -> None:
    logger, streams = captured
    logs.event(logger, "claim-switched", havip="havip-1", latency_us=412, reason=None)
    [line] = json_lines(streams["json"])
    assert list(line) == ["ts", "level", "logger", "event", "havip", "latency_us"]  # None is left out
    assert (line["level"], line["logger"], line["event"]) == ("info", "havip.test-logs", "claim-switched")
    assert str(line["ts"]).endswith("+00:00")
    assert (line["havip"], line["latency_us"]) == ("havip-1", 412)


@pytest.mark.parametrize(
    ("fields", "unknown"),
    [
        pytest.param({"request": "x"}, ["request"], id="a-near-miss"),
        pytest.param({"status": 200, "Status": 200}, ["Status"], id="case-matters"),
        pytest.param({"ts": "now"}, ["ts"], id="a-base-field"),
    ],
)
def test_a_field_outside_the_vocabulary_is_refused(
    captured: Captured, fields: dict[str, Any], unknown: list[str]
) -> None:
    logger, streams = captured
    with pytest.raises(ValueError, match="outside the fixed vocabulary") as caught:
        logs.event(logger, "x", **fields)
    assert str(unknown) in str(caught.value)
    with pytest.raises(ValueError, match="outside the fixed vocabulary"), logs.bound(**fields):
        pass
    assert streams["json"].getvalue() == ""


def test_bound_fields_reach_every_line_in_the_block_and_only_there(captured: Captured) -> None:
    logger, streams = captured
    with logs.bound(request_id="rid-1"):
        logs.event(logger, "inside")
        logger.warning("a library's line")  # not an event(): the handler adds the bound fields
        logs.bind(code="NotFound.Vpc", account=None)  # None binds nothing
        logs.event(logger, "later", status=404)
        logs.event(logger, "own-wins", request_id="explicit")
    logs.event(logger, "outside")
    logs.bind(code="ignored")  # outside any block: nothing to bind to
    lines = json_lines(streams["json"])
    got = [(line["event"], line.get("request_id"), line.get("code")) for line in lines]
    assert got == [
        ("inside", "rid-1", None),
        ("a library's line", "rid-1", None),
        ("later", "rid-1", "NotFound.Vpc"),
        ("own-wins", "explicit", "NotFound.Vpc"),
        ("outside", None, None),
    ]
    assert logs.bound_fields() == {}


def test_a_field_bound_in_a_copied_context_shows_in_the_block(captured: Captured) -> None:
    """The error table binds ``code`` from a thread-pool worker; the access line comes after, outside it."""
    logger, streams = captured
    with logs.bound(request_id="rid-2"):
        worker = threading.Thread(target=contextvars.copy_context().run, args=(lambda: logs.bind(code="Boom"),))
        worker.start()
        worker.join()
        logs.event(logger, "request-served")
    [line] = json_lines(streams["json"])
    assert (line["request_id"], line["code"]) == ("rid-2", "Boom")


def test_a_traceback_is_the_error_field_and_keeps_the_request_id(captured: Captured) -> None:
    logger, streams = captured
    with logs.bound(request_id="rid-3"):
        try:
            raise RuntimeError("disk on fire")
        except RuntimeError as exc:
            logs.event(logger, "unhandled-error", level=logging.ERROR, exc_info=exc, code="InternalError")
    [line] = json_lines(streams["json"])
    assert line["level"] == "error"
    assert line["request_id"] == "rid-3"
    assert str(line["error"]).startswith("Traceback (most recent call last):")
    assert "RuntimeError: disk on fire" in str(line["error"])
    text = streams["text"].getvalue().splitlines()
    assert text[0].endswith("error havip.test-logs unhandled-error request_id=rid-3 code=InternalError")
    assert text[1] == "Traceback (most recent call last):"
    assert text[-1] == "RuntimeError: disk on fire"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        pytest.param("plain", "plain", id="a-word"),
        pytest.param("two words", '"two words"', id="spaces-quoted"),
        pytest.param("a=b", '"a=b"', id="equals-quoted"),
        pytest.param("", '""', id="empty-quoted"),
        pytest.param(["r1", "r2"], '["r1","r2"]', id="a-list-as-json"),
        pytest.param(12.5, "12.5", id="a-number"),
    ],
)
def test_text_lines_are_key_value_after_time_level_logger_and_event(
    captured: Captured, value: object, shown: str
) -> None:
    logger, streams = captured
    logs.event(logger, "listening", regions=value)
    [line] = streams["text"].getvalue().splitlines()
    ts, level, name, event, field = line.split(" ", 4)
    assert (level, name, event, field) == ("info", "havip.test-logs", "listening", f"regions={shown}")
    assert ts.endswith("+00:00")


def test_a_library_record_keeps_its_message_as_the_event(captured: Captured) -> None:
    logger, streams = captured
    logger.info("Started server process [%d]", 42)
    [line] = json_lines(streams["json"])
    assert line["event"] == "Started server process [42]"
    assert set(line) == set(logs.BASE_FIELDS)


def test_the_vocabulary_is_documented_and_snake_case() -> None:
    for name, meaning in logs.FIELDS.items():
        assert name == name.lower() and name.replace("_", "").isalpha(), name
        assert meaning and not meaning.endswith("."), name
    assert not set(logs.BASE_FIELDS) & set(logs.FIELDS)


def test_the_agent_module_is_the_same_vocabulary() -> None:
    assert agent_logs.FIELDS is logs.FIELDS
    assert agent_logs.event is logs.event
    assert agent_logs.install is logs.install


def test_install_replaces_the_handlers_of_its_logger() -> None:
    name = "havip.test-install"
    logs.install(logging.WARNING, "text", logger=name)
    logs.install(logging.DEBUG, logs.LogFormat.json, logger=name)
    target = logging.getLogger(name)
    try:
        [only] = target.handlers
        assert isinstance(only.formatter, logs.JsonFormatter)
        assert target.level == logging.DEBUG and target.propagate is False
    finally:
        target.handlers[:] = []
        target.propagate = True
    with pytest.raises(ValueError):
        logs.formatter("xml")
