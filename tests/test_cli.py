"""``mockserver serve`` as a person runs it: start-up mistakes, the banner, the environment, the request log."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest

from mockserver.cli import banner, build_parser
from mockserver.config import Config, ConfigError

from helpers import serve_process

KEY = "sk-cli-secret-key-1234"


def run_serve(*flags: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "mockserver", "serve", "--port", "0", *flags]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)


def assert_one_line_refusal(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("mockserver")
    for word in words:
        assert word in lines[0]


def test_an_unknown_dialect_is_one_line() -> None:
    assert_one_line_refusal(run_serve("--dialect", "nope"), "unknown dialect 'nope'", "openai")


@pytest.mark.parametrize("source", ["flag", "environment"])
def test_a_bad_log_level_is_one_line(source: str) -> None:
    if source == "flag":
        result = run_serve("--log-level", "loud")
    else:
        result = run_serve(env={**os.environ, "MOCKSERVER_LOG_LEVEL": "loud"})
    assert_one_line_refusal(result, "loud", "warning")


def test_an_unusable_state_dir_is_one_line(tmp_path: Path) -> None:
    occupied = tmp_path / "a-file"
    occupied.write_text("not a directory")
    assert_one_line_refusal(run_serve("--state-dir", str(occupied / "state")), "--state-dir", "cannot keep state")


def test_a_port_in_use_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "mockserver", "serve", "--port", str(port)],
                                capture_output=True, text=True, timeout=60)
    assert_one_line_refusal(result, f"127.0.0.1:{port}", "--port 0")


@pytest.mark.parametrize("port", ["70000", "-5"])
def test_a_port_out_of_range_is_one_line(port: str) -> None:
    result = subprocess.run([sys.executable, "-m", "mockserver", "serve", "--port", port], capture_output=True,
                            text=True, timeout=60)
    assert_one_line_refusal(result, "port must be 0-65535", port)


def test_serve_help_is_grouped() -> None:
    shown = subprocess.run([sys.executable, "-m", "mockserver", "serve", "--help"], capture_output=True, text=True,
                           timeout=60, check=True).stdout
    titles = ["server:", "replies and dialects:", "validation and keys:", "control and faults:", "limits:",
              "journal and state:", "recording and replay:"]
    places = [shown.index(f"\n{title}\n") for title in titles]
    assert places == sorted(places)
    def line(flag: str) -> int:  # where the flag's own help line is, below the usage
        return shown.index(f"\n  {flag} ")

    assert places[0] < line("--port") < places[1] < line("--seed") < places[2] < line("--validation") < places[3]
    assert places[4] < line("--rpm") < places[5] and places[6] < line("--record")


def test_wait_returns_once_the_mock_answers_and_fails_in_one_line_when_it_never_does() -> None:
    with serve_process() as served:
        ready = subprocess.run([sys.executable, "-m", "mockserver", "wait", served.origin + "/v1", "--timeout", "10"],
                               capture_output=True, text=True, timeout=60)
        assert ready.returncode == 0 and ready.stderr == ""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: every try is refused
        never = subprocess.run([sys.executable, "-m", "mockserver", "wait", f"http://127.0.0.1:{port}",
                                "--timeout", "0.5"], capture_output=True, text=True, timeout=60)
    assert never.returncode == 1 and "Traceback" not in never.stderr
    assert never.stderr.strip() == f"mockserver: http://127.0.0.1:{port} not ready after 0.5 s (last try: " \
                                   "Connection refused)"


def test_the_banner_shows_the_bound_port_and_the_key_hint() -> None:
    with serve_process("--api-key", KEY, "--log-level", "warning") as served:
        served.wait_for_line("or OpenAI(base_url=", stdout=True)  # the banner's last line
        banner = "".join(served.stdout)
        assert served.port != 0 and f"http://127.0.0.1:{served.port}/v1" in banner
        assert KEY not in banner and "OPENAI_API_KEY=<one of your --api-key keys>" in banner
        reply = httpx2.get(served.origin + "/v1/models", headers={"Authorization": f"Bearer {KEY}"})
        assert reply.status_code == 200
    with serve_process("--log-level", "warning") as served:
        assert "OPENAI_API_KEY=sk-mock" in served.wait_for_line("OPENAI_API_KEY=", stdout=True)


def test_info_logs_one_line_per_request_and_never_a_key() -> None:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}], "stream": True}
    with serve_process() as served:
        headers = {"Authorization": f"Bearer {KEY}", "X-Mock-Fault": "disconnect;after_chunks=2"}
        with pytest.raises(httpx2.HTTPError):
            httpx2.post(served.origin + "/v1/chat/completions", json=body, headers=headers).read()
        httpx2.post(served.origin + "/v1/chat/completions", json={**body, "stream": False},
                    headers={"Authorization": f"Bearer {KEY}"})
        cut = served.wait_for_line("ended=disconnect")
        plain = served.wait_for_line("-> 200 [unscripted]")
    assert "POST /v1/chat/completions model='gpt-4o-mini' stream -> 200" in cut
    assert "[header: disconnect;after_chunks=2]" in cut and " ms" in cut
    assert " ms" in plain
    assert KEY not in "".join(served.stderr + served.stdout)


def test_warning_silences_the_request_log() -> None:
    with serve_process("--log-level", "warning") as served:
        httpx2.get(served.origin + "/v1/models", headers={"Authorization": f"Bearer {KEY}"})
        httpx2.get(served.origin + "/_mock/health")
    assert not any("/v1/models" in line for line in served.stderr)


# A value for every flag of `mockserver serve`, and the setting it must produce (None: the value itself).
FLAG_SAMPLES: dict[str, tuple[str, str, object]] = {
    "--host": ("host", "127.0.0.2", None),
    "--port": ("port", "9123", 9123),
    "--seed": ("seed", "7", 7),
    "--freeze-time": ("freeze_time", "1", True),
    "--log-level": ("log_level", "debug", None),
    "--dialect": ("dialect", "serika", None),
    "--validation": ("validation", "off", None),
    "--api-key": ("api_key", "k1,k2", ["k1", "k2"]),
    "--free-key": ("free_key", "f1", ["f1"]),
    "--premium-key": ("premium_key", "p1", ["p1"]),
    "--reply-sentences": ("reply_sentences", "1-2", None),
    "--workers": ("workers", "3", 3),
    "--max-body": ("max_body", "1024", 1024),
    "--journal-size": ("journal_size", "5", 5),
    "--journal-bytes": ("journal_bytes", "1048576", 1048576),
    "--store-bytes": ("store_bytes", "2097152", 2097152),
    "--job-schedule": ("job_schedule", "0,1", None),
    "--fixtures": ("fixtures", "a,b", ["a", "b"]),
    "--fault": ("fault", "disconnect=0.5", ["disconnect=0.5"]),
    "--rpm": ("rpm", "60", 60),
    "--tpm": ("tpm", "6000", 6000),
    "--no-control": ("control", "1", False),
    "--admin-token": ("admin_token", "t0k", None),
    "--allowed-host": ("allowed_host", "mock.internal,ui.example", ["mock.internal", "ui.example"]),
    "--tls-cert": ("tls_cert", __file__, None),
    "--tls-key": ("tls_key", __file__, None),
    "--state-dir": ("state_dir", "/tmp/x", None),
    "--state": ("state", "redis://127.0.0.1:6390/2", None),
    "--state-prefix": ("state_prefix", "fleet-a", None),
    "--request-timeout": ("request_timeout", "2.5", 2.5),
    "--retry-window": ("retry_window", "3", 3.0),
    "--record": ("record", "/tmp/tapes", None),
    "--cassettes": ("cassettes", "/tmp/tapes", None),
    "--record-mode": ("record_mode", "all", None),
    "--upstream": ("upstream", "https://api.openai.com/v1", ["https://api.openai.com/v1"]),
    "--upstream-key-env": ("upstream_key_env", "REAL_KEY", None),
    "--replay-speed": ("replay_speed", "0.5", 0.5),
    "--replay-ids": ("replay_ids", "seeded", None),
    "--replay-usage": ("replay_usage", "recomputed", None),
    "--redact-field": ("redact_field", "user", ["user"]),
    "--no-metrics": ("metrics", "1", False),
}


def serve_flags() -> list[str]:
    parser = build_parser()
    commands = next(action for action in parser._actions if action.dest == "command")
    serve = commands.choices["serve"]  # type: ignore[index]
    return [
        option for action in serve._actions for option in action.option_strings
        if option.startswith("--") and option not in ("--help", "--config")
    ]


def test_every_flag_has_a_sample() -> None:
    assert sorted(serve_flags()) == sorted(FLAG_SAMPLES), "add the new flag to FLAG_SAMPLES"


@pytest.mark.parametrize("flag", sorted(FLAG_SAMPLES))
def test_every_flag_reads_its_environment_variable(flag: str) -> None:
    """MOCKSERVER_<FLAG>: the flag upper-cased, '-' as '_' (MOCKSERVER_NO_CONTROL=1 is --no-control)."""
    setting, raw, expected = FLAG_SAMPLES[flag]
    variable = "MOCKSERVER_" + flag.removeprefix("--").upper().replace("-", "_")
    paired = {"--tls-cert": "MOCKSERVER_TLS_KEY", "--tls-key": "MOCKSERVER_TLS_CERT"}  # given only together
    config = Config.load(env={variable: raw, **({paired[flag]: __file__} if flag in paired else {})})
    assert getattr(config, setting) == (raw if expected is None else expected)
    assert getattr(Config(), setting) != getattr(config, setting)


def test_tls_takes_a_certificate_and_its_key_that_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="tls_cert and tls_key go together"):
        Config.load(flags={"tls_cert": __file__})
    with pytest.raises(ConfigError, match="is not a file"):
        Config.load(flags={"tls_cert": __file__, "tls_key": str(tmp_path / "missing.key")})


def test_no_control_in_a_config_file(tmp_path: Path) -> None:
    file = tmp_path / "mockserver.yaml"
    file.write_text("no_control: true\nseed: 3\n")
    assert Config.load(file=file).control is False
    assert Config.load(flags={"control": True}, file=file).control is True  # the flag wins over the file
    with pytest.raises(ConfigError, match="log_level"):
        Config.load(env={"MOCKSERVER_LOG_LEVEL": "loud"})


@pytest.mark.parametrize("argv", [["serve", "--state", "redis://127.0.0.1:1/0", "--stat", "x"],
                                  ["serve", "--seed", "1", "--rp", "60"],
                                  ["serve", "--state-d", "/tmp/x"],
                                  ["wait", "http://127.0.0.1:1", "--time", "1"]])
def test_a_flag_is_only_its_whole_name(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """No abbreviations: ``--state redis://…`` was once read as ``--state-dir`` and made a folder named
    ``redis:``; a partial flag is a one-line error now."""
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(argv)
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert "unrecognized arguments" in error and error.count("\n") == 1


def test_state_is_memory_or_a_redis_url() -> None:
    assert build_parser().parse_args(["serve", "--state", "redis://127.0.0.1:6390/2"]).state == \
        "redis://127.0.0.1:6390/2"
    with pytest.raises(ConfigError, match="state must be memory or a Redis URL"):
        Config(state="/var/lib/mock").check()
    with pytest.raises(ConfigError, match="state_prefix"):
        Config(state_prefix="a*").check()
    shown = Config(state="redis://user:hunter2@cache:6380/1").as_public_dict()
    assert shown["state"] == "redis://user:***@cache:6380/1"


def test_the_banner_names_the_fleet_s_redis_without_its_password() -> None:
    shown = banner(Config(state="redis://:hunter2@cache:6380/1", state_prefix="fleet-a"), {}, 8000)
    assert shown.endswith("State shared by the fleet on Redis at cache:6380/1 (prefix fleet-a)")
    assert "hunter2" not in shown and "State shared" not in banner(Config(), {}, 8000)
