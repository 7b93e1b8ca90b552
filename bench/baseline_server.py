"""Reference server for the emulator's send throughput: a minimal threaded TLS `http.server`.

It answers every POST with a fixed 201 JSON body and keeps nothing, so the gap between it and the emulator is
what the emulator's own routing, token checks and storage cost. Nagle is off on accepted sockets (wire spec §2),
and it starts like the emulator: `--port 0 --json` prints one JSON line with the endpoint and the CA file.
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import json
import signal
import ssl
import sys
import tempfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BODY = b'{"id": "1700000000000"}'


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed leaf for 127.0.0.1/localhost; the client trusts it as its CA file."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench-baseline")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                    x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class Handler(BaseHTTPRequestHandler):
    """Reads the request body and answers 201 with a fixed body, keep-alive."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(201)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: object) -> None:
        """Silent: logging every request would be measured too."""


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON line when ready")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as tmp:
        cert, key = make_certificate(Path(tmp))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server = Server((args.host, args.port), Handler)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        endpoint = f"https://{args.host}:{server.server_address[1]}"
        # Keep the CA file past the temp dir's lifetime only as long as the server runs.
        ca_copy = Path(tempfile.gettempdir()) / f"bench-baseline-{server.server_address[1]}.pem"
        ca_copy.write_bytes(cert.read_bytes())
        signal.signal(signal.SIGTERM, _stop)
        if args.json:
            print(json.dumps({"endpoint": endpoint, "caBundle": str(ca_copy)}), flush=True)
        else:
            print(f"Listening on {endpoint}; trust {ca_copy}", flush=True)
        try:
            server.serve_forever(poll_interval=0.5)
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
            ca_copy.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
