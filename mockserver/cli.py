"""The ``mockserver`` command: ``serve``, ``wait``, ``cassettes`` and ``check-fixtures``."""

from __future__ import annotations

import argparse
import gc
import ipaddress
import signal
import socket
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from mockserver._version import __version__
from mockserver.config import LOG_LEVELS, Config, ConfigError


class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line that says where the help is, not the whole usage, and a flag is
    only ever its whole name (``--state redis://…`` is never read as an abbreviation of ``--state-dir``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **{"allow_abbrev": False, **kwargs})

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mockserver", description="OpenAI-compatible mock server for tests.")
    parser.add_argument("--version", action="version", version=f"mockserver {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the mock server", description=(
        "Run the mock. Every flag also reads MOCKSERVER_<FLAG> from the environment and the "
        "config file; flags win over the environment, which wins over the file."))
    server = serve.add_argument_group("server")
    server.add_argument("--host", help="bind address (default 127.0.0.1)")
    server.add_argument("--port", type=int, help="port (default 8000; 0 picks a free one)")
    server.add_argument("--workers", type=int, help="uvicorn worker processes (default 1)")
    server.add_argument("--config", help="YAML or JSON file of settings")
    server.add_argument("--log-level", dest="log_level", choices=LOG_LEVELS,
                       help="info (the default) prints one line per request; warning silences them")
    server.add_argument("--allowed-host", dest="allowed_host", action="append", metavar="NAME",
                       help="also answer requests sent to this host name (a service name, a proxy's name; "
                            "repeatable; '*' for any): other names are refused, as a rebound web page would send")
    server.add_argument("--tls-cert", dest="tls_cert", metavar="FILE",
                       help="serve HTTPS and wss:// with this certificate (PEM; with --tls-key), for clients that "
                            "only connect over TLS (openai-node's Realtime WebSocket)")
    server.add_argument("--tls-key", dest="tls_key", metavar="FILE", help="the private key of --tls-cert (PEM)")
    server.add_argument("--request-timeout", dest="request_timeout", type=float, metavar="SECONDS",
                       help="a request not received whole within this many seconds of its connection's last "
                       "answer (or its start) gets a 408 and the connection is closed (default 30)")
    replies = serve.add_argument_group("replies and dialects")
    replies.add_argument("--seed", type=int, help="server seed: same seed + same request = same reply (default 0)")
    replies.add_argument("--freeze-time", action="store_const", const=True, dest="freeze_time",
                       help="derive ids and timestamps from the request too: byte-identical responses across runs")
    replies.add_argument("--dialect",
                         help="dialect served at /v1 (openai, gateway, serika, openserv, samurai, anthropic, gemini, "
                              "ollama)")
    replies.add_argument("--reply-sentences", dest="reply_sentences", help="reply length in sentences, e.g. 2-4")
    replies.add_argument("--fixtures", action="append", metavar="DIR",
                       help="a directory of fixture rule files (YAML/JSON), loaded once at start-up (repeatable)")
    validation = serve.add_argument_group("validation and keys")
    validation.add_argument("--validation", choices=["strict", "schema", "off"], help="request validation mode")
    validation.add_argument("--api-key", dest="api_key", action="append", help="accept only these keys (repeatable)")
    validation.add_argument("--free-key", dest="free_key", action="append", help="a Serika free-tier key (repeatable)")
    validation.add_argument("--premium-key", dest="premium_key", action="append",
                            help="a Serika premium key (repeatable)")
    validation.add_argument("--max-body", dest="max_body", type=int,
                            help="largest request body in bytes (default 32 MiB)")
    control = serve.add_argument_group("control and faults")
    control.add_argument("--no-control", action="store_const", const=False, dest="control",
                       help="ignore X-Mock-* control headers and turn the /_mock/ admin API off")
    control.add_argument("--admin-token", dest="admin_token",
                       help="require this X-Mock-Admin-Token header on the /_mock/ admin API")
    control.add_argument("--fault", action="append", metavar="NAME=RATE",
                       help="chaos: inject fault NAME (header syntax, e.g. 'disconnect;after_chunks=3') into this "
                       "share of requests, reproducibly with --seed (repeatable)")
    control.add_argument("--retry-window", dest="retry_window", type=float, metavar="SECONDS",
                       help="a client that sends no x-stainless-retry-count: the same request again within this "
                       "many seconds is its next attempt, for attempts= faults (default 10; 0: never)")
    control.add_argument("--no-metrics", action="store_const", const=False, dest="metrics",
                       help="turn GET /metrics (Prometheus) off")
    limits = serve.add_argument_group("limits")
    limits.add_argument("--rpm", type=int, help="requests per minute per API key (token bucket, continuous refill)")
    limits.add_argument("--tpm", type=int, help="tokens per minute per API key (token bucket, continuous refill)")
    state = serve.add_argument_group("journal and state")
    state.add_argument("--journal-size", dest="journal_size", type=int, help="requests kept in the journal")
    state.add_argument("--journal-bytes", dest="journal_bytes", type=int,
                       help="bytes the journal may hold in all (default 64 MiB; a body above 64 KiB is kept cut)")
    state.add_argument("--store-bytes", dest="store_bytes", type=int,
                       help="bytes each store (stored completions, async jobs) may hold (default 64 MiB)")
    state.add_argument("--job-schedule", dest="job_schedule", metavar="PROCESSING_AT,COMPLETED_AT",
                       help="seconds after creation at which a Serika async job is processing, then completed "
                       "(default 1,2)")
    state.add_argument("--state-dir", dest="state_dir", metavar="DIR",
                       help="keep async jobs and stored chat completions in DIR (SQLite), so they survive a restart")
    state.add_argument("--state", metavar="memory|redis://HOST:PORT/DB",
                       help="where state a fleet shares lives: memory (the default: this process only) or a Redis "
                       "URL shared by every worker and every mock started with it (the journal, scripts, "
                       "rules added at run time, the clock, chaos, the --rpm/--tpm buckets; see docs/fleet.md)")
    state.add_argument("--state-prefix", dest="state_prefix", metavar="PREFIX",
                       help="prefix of the mock's Redis keys, so several fleets share one Redis (default mockserver)")
    recording = serve.add_argument_group("recording and replay")
    recording.add_argument("--record", metavar="DIR",
                       help="replay from the cassettes in DIR and record what they miss from --upstream "
                       "(one cassette per X-Mock-Test-Id, default.yaml without one)")
    recording.add_argument("--cassettes", metavar="DIR", help="replay from the cassettes in DIR only: a miss is a 404")
    recording.add_argument("--record-mode", dest="record_mode", choices=["none", "once", "new", "all"],
                       help="none: replay only; once: record a cassette that does not exist yet; new: record what "
                       "is missing (--record's default); all: record everything again")
    recording.add_argument("--upstream", action="append", metavar="[DIALECT=]URL",
                       help="the real provider to record from, e.g. https://api.openai.com/v1 (repeatable, "
                       "per dialect with DIALECT=URL)")
    recording.add_argument("--upstream-key-env", dest="upstream_key_env", metavar="NAME",
                       help="environment variable holding the upstream's API key (default OPENAI_API_KEY; "
                       "never written down)")
    recording.add_argument("--replay-speed", dest="replay_speed", type=float, metavar="FACTOR",
                       help="replay streams at their recorded pace times FACTOR (default 1; 0: as fast as possible)")
    recording.add_argument("--replay-ids", dest="replay_ids", choices=["kept", "seeded"],
                       help="replay ids as recorded (default) or made anew from --seed")
    recording.add_argument("--replay-usage", dest="replay_usage", choices=["kept", "recomputed"],
                       help="replay usage as recorded (default) or counted again with the tokenizer")
    recording.add_argument("--redact-field", dest="redact_field", action="append", metavar="NAME",
                       help="a body field never written into a cassette (repeatable; secrets are always redacted)")

    cassettes = commands.add_parser("cassettes", help="check, convert and import cassettes")
    tools = cassettes.add_subparsers(dest="tool", required=True)
    check_cassettes = tools.add_parser("check", help="validate cassette files; report each mistake as file:line")
    check_cassettes.add_argument("locations", nargs="+", metavar="PATH", help="cassette files or directories")
    to_fixtures = tools.add_parser("to-fixtures", help="turn recordings into editable fixture rules")
    to_fixtures.add_argument("locations", nargs="+", metavar="PATH", help="cassette files or directories")
    to_fixtures.add_argument("--out", required=True, metavar="FILE", help="the rule file to write (YAML)")
    import_vcr = tools.add_parser("import-vcr", help="import vcrpy / pytest-recording cassettes of OpenAI calls")
    import_vcr.add_argument("locations", nargs="+", metavar="PATH", help="vcrpy cassette files or directories")
    import_vcr.add_argument("--out", required=True, metavar="DIR", help="where the mockserver cassettes go")

    wait = commands.add_parser("wait", help="wait until a mock answers its health check",
                               description="Poll GET <URL's origin>/_mock/health until it answers 200: exit 0 "
                               "then, 1 after --timeout. For CI: start 'mockserver serve &', then 'mockserver wait'.")
    wait.add_argument("url", nargs="?", default="http://127.0.0.1:8000", metavar="URL",
                      help="the mock's address, any path (default http://127.0.0.1:8000)")
    wait.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS", help="give up after (default 30)")

    check = commands.add_parser("check-fixtures", help="validate fixture rule files",
                                description="Parse and compile every rule file; report each mistake with its line.")
    check.add_argument("locations", nargs="+", metavar="DIR", help="fixture directories or files")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "check-fixtures":
        return check_fixtures(args.locations)
    if args.command == "cassettes":
        return cassette_tool(args)
    if args.command == "wait":
        return wait_until_ready(args.url, args.timeout)
    flags = {key: value for key, value in vars(args).items() if key != "command"}
    try:
        if args.command == "serve":
            return serve(Config.load(flags))
    except ConfigError as error:
        parser.exit(2, f"mockserver: {error}\n")
    return 0


def cassette_tool(args: argparse.Namespace) -> int:
    from mockserver.cassettes import tools

    if args.tool == "check":
        problems = tools.check(args.locations)
        for problem in problems:
            print(problem, file=sys.stderr)
        if not problems:
            print(f"ok: {tools.count(args.locations)} interactions")
        return 1 if problems else 0
    if args.tool == "to-fixtures":
        written = tools.to_fixtures(args.locations, args.out)
        print(f"wrote {written} rules to {args.out}")
        return 0
    imported = tools.import_vcr(args.locations, args.out)
    print(f"imported {imported} OpenAI calls into {args.out}")
    return 0


def wait_until_ready(url: str, timeout: float) -> int:
    """Poll the mock's health check until it answers 200 (0), or ``timeout`` seconds pass (1, with one line saying
    what the last try got)."""
    import http.client
    import time
    from urllib.parse import urlsplit

    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        print(f"mockserver: {url!r} is not an http URL", file=sys.stderr)
        return 2
    connection_type = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    deadline = time.monotonic() + timeout
    last = "no answer"
    while True:
        connection = connection_type(parts.hostname, parts.port, timeout=max(0.1, min(2.0, timeout)))
        try:
            connection.request("GET", "/_mock/health")
            status = connection.getresponse().status
            if status == 200:
                return 0
            last = f"HTTP {status}"
        except OSError as error:
            last = error.strerror or str(error) or type(error).__name__
        finally:
            connection.close()
        if time.monotonic() + 0.1 > deadline:
            print(f"mockserver: {parts.scheme}://{parts.netloc} not ready after {timeout:g} s (last try: {last})",
                  file=sys.stderr)
            return 1
        time.sleep(0.1)


def banner(config: Config, dialects: dict, port: int) -> str:
    """What the terminal shows once the socket is bound: every base URL, and how to point the SDK at it."""
    host = f"[{config.host}]" if ":" in config.host else config.host
    origin = f"{'https' if config.tls_cert else 'http'}://{host}:{port}"
    key = "<one of your --api-key keys>" if config.api_key else "sk-mock"
    lines = [f"mockserver {__version__} on {origin} (seed {config.seed}, validation {config.validation})"]
    lines.append(f"  {'default':<9} {origin}/v1  ({config.dialect})")
    for dialect in dialects.values():
        extra = "".join(f", also {origin}{path}" for path in dialect.also_at)
        lines.append(f"  {dialect.name:<9} {origin}{dialect.mount_path}{extra}")
    lines.append("Point the openai SDK at it:")
    lines.append(f"  export OPENAI_BASE_URL={origin}/v1 OPENAI_API_KEY={key}")
    lines.append(f"  or OpenAI(base_url='{origin}/v1', api_key='{key}')")
    lines.append(f"The anthropic and google-genai SDKs and the ollama client take the host root: {origin}")
    if config.state != "memory":
        from mockserver.fleet.backend import where

        lines.append(f"State shared by the fleet on Redis at {where(config.state)} (prefix {config.state_prefix})")
    return "\n".join(lines)


def check_fixtures(locations: Sequence[str]) -> int:
    """Print every mistake as ``file:line: message``; exit status 1 if there is any."""
    from mockserver.control import fixtures

    try:
        files = fixtures.rule_files(locations)
        rules, problems = fixtures.check_fixtures(locations)
    except fixtures.FixtureError as error:
        files, rules, problems = [], [], error.problems
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    print(f"{len(rules)} rule(s) in {len(files)} file(s): OK")
    return 0


def serve(config: Config) -> int:
    from mockserver.app.assembly import create_app
    from mockserver.app.server import Server, bind_socket, serve_workers, warm_up

    # Built here even with workers: a broken setting or fixture stops the command before any worker starts.
    app = create_app(config)
    sock = bind_socket(config.host, config.port)
    print(banner(config, app.state.mock.dialects, sock.getsockname()[1]), flush=True)
    warning = exposure_warning(config)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    try:
        if config.workers > 1:
            serve_workers(config, sock)
            return 0
        warm_up()
        server = Server(app, config)
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        # uvicorn re-raises Ctrl-C once it has shut down cleanly: the exit status says so, without a traceback.
        return 130
    finally:
        # The interpreter's last collection of the vocabularies and catalogs takes 0.5 s; a stopped server can skip it.
        gc.freeze()
    # A Ctrl-C whose re-raise asyncio let pass (it can, when the signal lands as the server's task ends) still
    # says so in the exit status.
    return 130 if signal.SIGINT in server.stopped_by else 0


def exposure_warning(config: Config) -> str | None:
    """A warning when the control plane can be reached from other machines, else None.

    Anyone who reaches the port can then inject faults and scripts, and read
    the journal (request bodies included) unless ``--admin-token`` guards it.
    """
    if not config.control or _is_loopback(config.host):
        return None
    guard = "the admin API needs --admin-token" if config.admin_token else "the admin API is open (no --admin-token)"
    return (
        f"warning: bound to {config.host}, not loopback, with the control plane on: anyone who can reach the port "
        f"can steer replies and faults with X-Mock-* headers, and {guard}. Use --no-control or bind 127.0.0.1."
    )


def _is_loopback(host: str) -> bool:
    try:
        address = host if ":" in host else socket.gethostbyname(host)
        return ipaddress.ip_address(address).is_loopback
    except (OSError, ValueError):
        return False  # a name that does not resolve: assume the worst


if __name__ == "__main__":
    sys.exit(main())
