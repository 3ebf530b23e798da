"""Connecting to a real Temporal cluster or Temporal Cloud: TLS, mutual TLS and API keys.

The files are read and checked when the settings load, so a bad certificate stops the process at
start with one line that names the variable, the file and the problem, not a gRPC stack trace at the
first poll. What can only be known by connecting (a server certificate the CA does not sign, a
client certificate the server refuses) is reported by `describe_connect_error` in one line too.
"""

from __future__ import annotations

from pathlib import Path

from temporalio.service import TLSConfig


class TLSSettingsError(ValueError):
    pass


def _read(var: str, path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise TLSSettingsError(f"{var}: cannot read {path}: {e.strerror}") from None


def _certificates(var: str, path: Path, data: bytes) -> list:
    from cryptography import x509

    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        certs = []
    if not certs:
        raise TLSSettingsError(f"{var}: {path} holds no PEM certificate")
    return certs


def load_tls_config(*, enabled: bool, ca: Path | None, cert: Path | None, key: Path | None,
                    server_name: str | None) -> TLSConfig | None:
    """The SDK's TLSConfig, or None for a plaintext connection (the embedded dev server)."""
    if not (enabled or ca or cert or key):
        return None
    if bool(cert) != bool(key):
        missing = "TEMPORAL_TLS_KEY" if cert else "TEMPORAL_TLS_CERT"
        raise TLSSettingsError(f"mutual TLS needs both a client certificate and its key: {missing} is not set")
    root = None
    if ca:
        root = _read("TEMPORAL_TLS_CA", ca)
        _certificates("TEMPORAL_TLS_CA", ca, root)
    client_cert = client_key = None
    if cert and key:
        from cryptography.hazmat.primitives import serialization

        client_cert, client_key = _read("TEMPORAL_TLS_CERT", cert), _read("TEMPORAL_TLS_KEY", key)
        leaf = _certificates("TEMPORAL_TLS_CERT", cert, client_cert)[0]
        try:
            private = serialization.load_pem_private_key(client_key, password=None)
        except (ValueError, TypeError) as e:
            reason = "is encrypted (give an unencrypted key)" if isinstance(e, TypeError) else "holds no PEM private key"
            raise TLSSettingsError(f"TEMPORAL_TLS_KEY: {key} {reason}") from None
        raw = serialization.PublicFormat.SubjectPublicKeyInfo
        if (private.public_key().public_bytes(serialization.Encoding.DER, raw)
                != leaf.public_key().public_bytes(serialization.Encoding.DER, raw)):
            raise TLSSettingsError(f"TEMPORAL_TLS_KEY: {key} is not the key of the certificate in {cert}")
    return TLSConfig(server_root_ca_cert=root, client_cert=client_cert, client_private_key=client_key,
                     domain=server_name or None)


def describe_connect_error(address: str, error: BaseException, tls: bool, api_key: bool) -> str:
    """One line for a failed connection, with the likely cause of the common TLS and auth failures."""
    text = " ".join(str(error).split())
    lower = text.lower()
    if "certificate" in lower or "unknownissuer" in lower or "invalidcertificate" in lower:
        hint = "the server's certificate is not signed by TEMPORAL_TLS_CA (or its name differs: TEMPORAL_TLS_SERVER_NAME)"
    elif "handshake" in lower or "tls" in lower or "alert" in lower:
        hint = "TLS handshake failed: the server may require a client certificate (TEMPORAL_TLS_CERT/KEY) or refuse it"
    elif "unauthenticated" in lower or "permission" in lower or "401" in lower or "403" in lower:
        hint = "the server refused the credentials (TEMPORAL_API_KEY or client certificate)"
    elif not tls:
        hint = "is the address right, and does the server want TLS (TEMPORAL_TLS=true)?"
    else:
        hint = "is the address right and the server up?"
    auth = ", API key" if api_key else ""
    end = "" if hint.endswith("?") else "."
    return (f"cannot connect to Temporal at {address} (TEMPORAL_ADDRESS; {'TLS' if tls else 'plaintext'}{auth}): "
            f"{hint}{end} [{text[:300]}]")
