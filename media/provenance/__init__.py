"""Content Credentials (C2PA): the studio's signing identity, signing the files it serves, and
reading any file's credentials back (ours, another signer's, tampered, none) for Verify.

No Django here: the caller passes settings in. Built on c2pa-python 0.38.1 (c2pa-rs 0.91).

The package, by topic: `records` (the error, the identity, claim and credentials types, the
labels), `identity` (making, storing, loading and checking the signing chain), `signing`
(`sign_file`), `reading` (`read_credentials`).
"""

from __future__ import annotations

from media.provenance.identity import (
    LOCK_FILE,
    ORGANIZATION,
    ROOT_CERT,
    ROOT_DAYS,
    ROOT_KEY,
    SIGNER_CHAIN,
    SIGNER_DAYS,
    SIGNER_KEY,
    load_or_create_identity,
    make_chain,
)
from media.provenance.reading import UNTRUSTED, read_credentials
from media.provenance.records import (
    AI_SOURCE_TYPES,
    ALGORITHMIC_SOURCE_TYPE,
    DIGITAL_SOURCE_TYPE,
    STUDIO_ASSERTION,
    Claim,
    Credentials,
    ProvenanceError,
    SigningIdentity,
    prompt_hash,
)
from media.provenance.signing import sign_file

__all__ = [
    "AI_SOURCE_TYPES",
    "ALGORITHMIC_SOURCE_TYPE",
    "DIGITAL_SOURCE_TYPE",
    "LOCK_FILE",
    "ORGANIZATION",
    "ROOT_CERT",
    "ROOT_DAYS",
    "ROOT_KEY",
    "SIGNER_CHAIN",
    "SIGNER_DAYS",
    "SIGNER_KEY",
    "STUDIO_ASSERTION",
    "UNTRUSTED",
    "Claim",
    "Credentials",
    "ProvenanceError",
    "SigningIdentity",
    "load_or_create_identity",
    "make_chain",
    "prompt_hash",
    "read_credentials",
    "sign_file",
]
