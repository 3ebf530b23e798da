"""The project's one data converter: pydantic JSON, and AES-256-GCM on every payload when keys are set.

Every client, worker and replayer the project builds takes its converter from here, so they agree on
what history holds. Without keys (AGENT_CODEC_KEYS / AGENT_CODEC_KEYS_FILE unset) it is exactly
`worker.converter.DATA_CONVERTER` (pydantic JSON) and payloads stay `json/plain`. With keys, each payload becomes

    metadata: encoding=binary/encrypted, encryption-key-id=<kid>
    data:     nonce (12 bytes) + AES-GCM(the serialized original Payload, its metadata included)

Failure messages and stack traces are moved into an encoded payload too (DefaultFailureConverter-
WithEncodedAttributes): an error that quotes the goal must not leave it readable in history.

Decoding passes payloads that are not `binary/encrypted` through unchanged: histories recorded before
encryption was turned on still replay, and `temporal workflow update ... --input '{json}'` still
works. The codec runs outside the workflow sandbox, so its random nonces do not affect determinism:
replay compares commands, not payload bytes.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping

from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, PayloadCodec

from activities.keyring import KEYS_ENV, KEYS_FILE_ENV, KeyRing, KeyRingError, load_keyring
from worker.converter import DATA_CONVERTER

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"


class EncryptionCodec(PayloadCodec):
    def __init__(self, keys: KeyRing) -> None:
        super().__init__()
        self.keys = keys

    def encode_sync(self, payloads: Iterable[Payload]) -> list[Payload]:
        out = []
        for payload in payloads:
            kid, sealed = self.keys.seal(payload.SerializeToString())
            out.append(Payload(metadata={"encoding": ENCODING, KEY_ID: kid.encode()}, data=sealed))
        return out

    def decode_sync(self, payloads: Iterable[Payload]) -> list[Payload]:
        out = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                out.append(payload)
                continue
            kid = payload.metadata.get(KEY_ID, b"").decode()
            if not kid:
                raise KeyRingError(f"an encrypted payload carries no {KEY_ID}")
            out.append(Payload.FromString(self.keys.open(kid, payload.data)))
        return out

    async def encode(self, payloads: Iterable[Payload]) -> list[Payload]:
        return self.encode_sync(payloads)

    async def decode(self, payloads: Iterable[Payload]) -> list[Payload]:
        return self.decode_sync(payloads)


def data_converter(keys: KeyRing | None) -> DataConverter:
    if keys is None:
        return DATA_CONVERTER
    return dataclasses.replace(
        DATA_CONVERTER,
        payload_codec=EncryptionCodec(keys),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def keyring_from_env(environ: Mapping[str, str] | None = None) -> KeyRing | None:
    """The key ring AGENT_CODEC_KEYS / AGENT_CODEC_KEYS_FILE configure: read here, on the worker's side,
    and handed to the activities (the blob store) that encrypt with it."""
    env = os.environ if environ is None else environ
    return load_keyring(env.get(KEYS_ENV) or None, env.get(KEYS_FILE_ENV) or None)


def project_data_converter(environ: Mapping[str, str] | None = None) -> DataConverter:
    """The converter the environment configures (the worker, `up`, the replayer and the tests use it)."""
    return data_converter(keyring_from_env(environ))
