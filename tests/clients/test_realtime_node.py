"""openai-node's ``OpenAIRealtimeWebSocket`` against the mock's Realtime API. The client connects over ``wss:`` only,
so this mock serves TLS (``tls_cert``/``tls_key``) with a certificate made here, which Node trusts through
``NODE_EXTRA_CA_CERTS``. Not a row of the matrix's table (its cells are chat's): the session's events are checked
against the mock's journal."""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from test_node import HERE, node

from mockserver import MockServer


def certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    made = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert, private = directory / "mock.pem", directory / "mock.key"
    cert.write_bytes(made.public_bytes(serialization.Encoding.PEM))
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return cert, private


def test_openai_node_realtime_websocket_runs_a_function_call_to_an_answer(tmp_path: Path, record_property) -> None:  # type: ignore[no-untyped-def]
    record_property("client", "openai-node-realtime")
    cert, key = certificate(tmp_path)
    with MockServer(seed=11, tls_cert=str(cert), tls_key=str(key)) as secure:
        done = subprocess.run([node(), str(HERE / "realtime.mjs"), secure.url], capture_output=True, text=True,
                              timeout=120, check=False, env={**os.environ, "NODE_EXTRA_CA_CERTS": str(cert)})
        lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        assert lines, done.stderr[-2000:]
        result = lines[0]
        assert result["ok"], result
        assert result["types"][0] == "session.created" and result["types"].count("response.done") == 2
        session = secure.wait_for_requests(1)[-1]
    assert session.path == "/v1/realtime" and session.status == 101 and session.ended == "complete"
