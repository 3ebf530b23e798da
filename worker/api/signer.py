"""The run API's approver key: how an approval made over HTTP meets the rules of signed approvals.

A risk 3-4 call runs only on an approval signed by a key the approvers file lists for that approver,
tool and risk (workflows/approval_signatures.py). A person who approves through the API has proven
who they are to the API (API key or OIDC token), not to the run; so the API signs for them with its
own Ed25519 key, and the approvers file says whom the API may sign for: an entry under the person's
name whose public key is the API's (`python -m worker.api approvers add NAME --tenant T`). The signed message
carries how the API identified them, so the audit trail records who approved and how it was proven,
and nobody without the API's key can forge either. Replicas share one key (AGENT_API_SIGNING_KEY).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from worker.api.roles import Identity
from worker.approver_keys import create_key, load_key
from workflows.approval_signatures import approval_message, public_key_text, sign, signed_call
from workflows.contracts import ApproveInput, PendingApproval

SIGNATURE_TTL = timedelta(minutes=5)  # long enough to reach the run, short enough that a copy is useless


class ApiSigner:
    def __init__(self, key: Ed25519PrivateKey, approvers_file: Path) -> None:
        self.key, self.approvers_file = key, approvers_file
        self.public_key = public_key_text(key)

    @classmethod
    def load_or_create(cls, key_file: Path, approvers_file: Path) -> ApiSigner:
        return cls(load_key(key_file) if key_file.exists() else create_key(key_file), approvers_file)

    def signs_for(self, who: Identity) -> bool:
        """Whether the approvers file lists `who` under the API's key, for `who`'s tenant (read each time:
        edits count at once). The tenant guards against a namesake in another tenant."""
        entry = self._entry(who.name)
        tenants = entry.get("tenants") or ["*"] if entry else []
        return bool(entry) and ("*" in tenants or who.tenant in tenants)

    def signs_for_name(self, name: str) -> bool:
        return bool(self._entry(name))

    def _entry(self, name: str) -> dict[str, Any]:
        """`name`'s approvers-file entry if its key is the API's; {} otherwise."""
        if not self.approvers_file.exists():
            return {}
        data = yaml.safe_load(self.approvers_file.read_text()) or {}
        entry = (data.get("approvers") or {}).get(name) or {}
        return entry if isinstance(entry, dict) and entry.get("public_key") == self.public_key else {}

    def approval(self, who: Identity, scope: str, pending: PendingApproval, comment: str | None,
                 arguments: dict[str, Any] | None) -> ApproveInput:
        """`who`'s approval of `pending`, signed for the run chain `scope`."""
        expires_at = (datetime.now(UTC) + SIGNATURE_TTL).replace(microsecond=0)
        message = approval_message(scope, who.name, expires_at, [signed_call(pending, arguments)], proof=who.proof)
        return ApproveInput(tool_call_id=pending.tool_call_id, approver=who.name, comment=comment, arguments=arguments,
                            expires_at=expires_at, signature=sign(self.key, message), proof=who.proof)
