"""Approver key files and approvers-file entries: what `python -m worker.approve keygen` and `up` write.

A private key is a PKCS#8 PEM file (what `openssl genpkey -algorithm ed25519` writes too), created
with mode 0600 and never overwritten. The approvers file holds only public keys.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from workflows.approval_signatures import public_key_text


class KeyFileError(ValueError):
    pass


def create_key(path: Path) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # O_EXCL: never replace someone's key
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return key


def load_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as e:
        raise KeyFileError(f"{path}: cannot read the key: {e.strerror}") from e
    except (ValueError, TypeError) as e:
        raise KeyFileError(f"{path}: not an unencrypted PEM private key: {e}") from e
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path}: an approver key must be Ed25519, this is {type(key).__name__}")
    return key


def add_approver(approvers_file: Path, name: str, key: Ed25519PrivateKey, max_risk: int = 4,
                 tenants: list[str] | None = None) -> None:
    """Add (or replace) `name`'s entry, keeping the rest of the file."""
    data = yaml.safe_load(approvers_file.read_text()) if approvers_file.exists() else None
    data = data or {}
    data.setdefault("approvers", {})[name] = {"public_key": public_key_text(key), "tenants": tenants or ["*"],
                                              "tools": ["*"], "max_risk": max_risk}
    approvers_file.parent.mkdir(parents=True, exist_ok=True)
    approvers_file.write_text(yaml.safe_dump(data, sort_keys=False))


def approver_named_by(approvers_file: Path, key: Ed25519PrivateKey) -> str | None:
    """The approver whose public key this is, if the approvers file lists it."""
    if not approvers_file.exists():
        return None
    data = yaml.safe_load(approvers_file.read_text()) or {}
    mine = public_key_text(key)
    return next((n for n, e in (data.get("approvers") or {}).items() if (e or {}).get("public_key") == mine), None)


def ensure_local_approver(key_file: Path, approvers_file: Path, name: str) -> bool:
    """The dev stack's approver: a key in the data dir, listed in the approvers file. True if created."""
    if key_file.exists():
        if approver_named_by(approvers_file, load_key(key_file)) is None:
            add_approver(approvers_file, name, load_key(key_file))
            return True
        return False
    add_approver(approvers_file, name, create_key(key_file))
    return True
