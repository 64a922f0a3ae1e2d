"""Logs: JSON lines with the job's ids on every line a real worker writes about the job;
plain, readable text for ./dev run; a web request's lines carry the user's id."""

from __future__ import annotations

import json
import logging

import pytest

from generations import services
from generations.spec import GenerationSpec
from studio.logs import ContextFilter, JsonFormatter, PlainFormatter, log_context
from tests.conftest import wait_final, wait_for


def _record(message: str = "hello") -> logging.LogRecord:
    return logging.LogRecord("studio.test", logging.INFO, __file__, 1, message, None, None)


def test_json_lines_carry_the_bound_ids_and_extras():
    record = _record("rendering %s")
    record.args = ("frame 3",)
    with log_context(generation_id="g-1", user_id=7, provider_job_id=""):
        ContextFilter().filter(record)
    record.step = "render"
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "rendering frame 3"
    assert line["level"] == "INFO" and line["logger"] == "studio.test"
    assert (line["generation_id"], line["user_id"], line["step"]) == ("g-1", "7", "render")
    assert "provider_job_id" not in line  # empty ids are left out
    assert line["time"].endswith("+00:00")


def test_plain_lines_are_readable():
    record = _record()
    with log_context(generation_id="g-1", user_id=7):
        ContextFilter().filter(record)
    text = PlainFormatter().format(record)
    assert text.endswith("INFO studio.test: hello [generation=g-1 user=7]")
    assert "{" not in text


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_every_worker_line_about_a_job_names_it(start_worker, user, monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "json")
    worker = start_worker()
    generation = services.generation_create(
        owner=user,
        spec=GenerationSpec(prompt="a kite", resolution="480p", aspect_ratio="1:1", seconds=1),
    )
    wait_final(generation)
    assert generation.state == "succeeded", generation.error_message

    def about_the_job() -> list[dict[str, str]]:
        lines = []
        for raw in worker.log.read_text().splitlines():
            try:
                lines.append(json.loads(raw))
            except json.JSONDecodeError:
                continue  # the worker's start-up banner is not a log line
        return [line for line in lines if line.get("generation_id") == str(generation.pk)]

    # The task's own "succeeded" line is written just after the job's last commit.
    wait_for(lambda: "finish_generation" in {line.get("task") for line in about_the_job()}, 30)
    about = about_the_job()
    # (A local result is downloaded by the poll that saw it finish: no download task.)
    assert {"submit_generation", "poll_generation", "finish_generation"} <= {
        line.get("task") for line in about
    }
    for line in about:
        assert line["user_id"] == str(user.pk), line
        if line["task"] != "submit_generation":  # the job id is known once submitted
            assert line["provider_job_id"] == generation.provider_job_id, line
