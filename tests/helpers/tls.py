"""Throwaway self-signed TLS certificates for tests (made with the ``openssl`` command)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

OPENSSL = shutil.which("openssl")


def self_signed(folder: Path, *names: str) -> tuple[Path, Path]:
    """A certificate for ``127.0.0.1`` and the DNS ``names``, valid one day, and its key:
    ``(certfile, keyfile)`` in ``folder``. Needs the ``openssl`` command (check
    :data:`OPENSSL` and skip without it)."""
    assert OPENSSL is not None, "openssl is not installed"
    cert, key = folder / "cert.pem", folder / "key.pem"
    alt = ",".join(["IP:127.0.0.1", *(f"DNS:{name}" for name in names)])
    subprocess.run(
        [OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=playhead-test",
         "-addext", f"subjectAltName={alt}"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key
