#!/usr/bin/env python3
"""TUF 1.0 client scenarios for Mamori's update client, built with python-tuf's metadata
API and checked against python-tuf's own client (the ngclient ``Updater``), so that the
expected outcomes are those of the reference implementation and not our reading of the
specification.

    tuf_scenarios.py OUTDIR                 write every scenario, then check them all
    tuf_scenarios.py --check-only OUTDIR    check scenarios written before

Each scenario is a directory OUTDIR/<name>/ with
  trusted_root.json   the root the client starts with (shipped in the firmware image);
  steps/<n>/          the repository exactly as a web server serves it at step n:
                      metadata/<V>.root.json, metadata/timestamp.json,
                      metadata/<V>.snapshot.json and metadata/<V>.targets.json
                      (consistent snapshots; snapshot.json and targets.json without),
                      targets/<sha256>.<name> (or targets/<name>);
  expect.json         {"description", "steps": [{"repo", "now", "outcome", "error",
                      "target", "target_outcome", "target_error", "mamori_expect"}]}.
The client keeps its trusted metadata from one step to the next (a box checking the
repository again later). "outcome" is the metadata refresh's result: "ok" or "refused"
with "error" one of bad_signature, rollback, expired, version_mismatch, hash_mismatch,
length_mismatch, too_large, bad_metadata, root_chain. When the refresh is ok and a
"target" is given, the client then looks it up, downloads and verifies it:
"target_outcome" ok or refused with "target_error" target_not_found, target_hash or
target_length. "mamori_expect", where present, replaces outcome/error/target_outcome/
target_error for Mamori's client where it deliberately differs from python-tuf
(delegations, which it does not follow; one key counted twice under two key ids).

Everything is deterministic (same bytes on every run): Ed25519 private keys are
sha256("mamori tuf test key <name>"), Ed25519 signatures are deterministic, JSON is
written with sorted keys, and every date is relative to the fixed NOW below. The "now"
of each step is pinned in python-tuf through TrustedMetadataSet.reference_time (see
tuf_client.open_updater), so the scenarios stay valid whatever the system clock says.

The check runs python-tuf's Updater on every step of every scenario, as written on disk,
maps its result (no exception, or the exception class plus where it was raised) onto the
error kinds above, and exits with status 1 if python-tuf disagrees with any expect.json.

Needs: tuf 6.0.0, securesystemslib 1.6.0, cryptography (run with
target/formats-venv/bin/python).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.formats import encode_canonical
from securesystemslib.signer import CryptoSigner, SSlibKey
from tuf.api import exceptions
from tuf.api.metadata import (
    DelegatedRole,
    Delegations,
    Metadata,
    MetaFile,
    Root,
    Signed,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.ngclient import UpdaterConfig

sys.dont_write_bytecode = True  # no __pycache__ left next to the scripts
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tuf_client import (  # noqa: E402 - tuf_client.py sits next to this file
    DirFetcher,
    TargetNotFoundError,
    open_updater,
    parse_time,
)

NOW = datetime(2026, 12, 6, tzinfo=timezone.utc)

BUNDLE = "mamori-qemu-aarch64-1.1.0.bundle"
BUNDLE_CUSTOM = {
    "mamori": {"board": "qemu-aarch64", "version": "1.1.0", "min_version": "1.0.0"}
}
NOTES = "docs/release-notes.txt"


def at(days: float = 0, seconds: int = 0) -> datetime:
    return NOW + timedelta(days=days, seconds=seconds)


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- keys --------------------------------------------------------------------------


def signer(name: str, keyid: str | None = None) -> CryptoSigner:
    """The Ed25519 signer called ``name``; ``keyid`` overrides the standard key id
    (sha256 of the canonical public key), for the one scenario that needs an alias."""
    seed = hashlib.sha256(f"mamori tuf test key {name}".encode()).digest()
    private = Ed25519PrivateKey.from_private_bytes(seed)
    public = SSlibKey.from_crypto(private.public_key(), keyid=keyid, scheme="ed25519")
    assert public.keytype == "ed25519"
    return CryptoSigner(private, public)


def signers_of(names: list) -> list[CryptoSigner]:
    return [signer(n) if isinstance(n, str) else n for n in names]


# --- JSON --------------------------------------------------------------------------


def dump(md: dict) -> bytes:
    """python-tuf's own file format (Metadata.to_bytes/to_file, JSONSerializer with
    compact=True): no whitespace, sorted keys, non-ASCII escaped as \\uXXXX."""
    return json.dumps(md, separators=(",", ":"), sort_keys=True).encode()


def dump_utf8(md: dict) -> bytes:
    """As dump(), but non-ASCII characters written as raw UTF-8."""
    return json.dumps(
        md, separators=(",", ":"), sort_keys=True, ensure_ascii=False
    ).encode("utf-8")


def dump_noncanonical(md: dict) -> bytes:
    """Valid JSON that is far from canonical: keys in reverse order, indent 4, and every
    '/' written as the escape '\\/'. What is signed is still the canonical form."""

    def reverse(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: reverse(v[k]) for k in sorted(v, reverse=True)}
        if isinstance(v, list):
            return [reverse(x) for x in v]
        return v

    text = json.dumps(reverse(md), indent=4)
    return text.replace("/", "\\/").encode()  # '/' occurs only inside strings


def resign(md: dict, names: list) -> None:
    """Replace the signatures of the metadata dict ``md`` with fresh ones over the
    canonical form of its (possibly edited) "signed"."""
    payload = encode_canonical(md["signed"]).encode("utf-8")
    md["signatures"] = [s.sign(payload).to_dict() for s in signers_of(names)]


# --- a repository ------------------------------------------------------------------


class Repo:
    """The state of a TUF repository: the root (and every root published so far), the
    three other top-level roles, delegated roles and target files. ``build()`` signs
    targets, snapshot and timestamp (in that order, each referring role getting the
    bytes of the one it refers to) and returns the files a server would serve."""

    def __init__(self, consistent: bool = True, meta_hashes: bool = True):
        self.consistent = consistent
        self.meta_hashes = meta_hashes  # lengths and hashes in timestamp/snapshot meta
        self.root = Root(version=1, expires=at(365), consistent_snapshot=consistent)
        self.keys: dict[str, list[CryptoSigner]] = {}
        for role in ("root", "timestamp", "snapshot", "targets"):
            self.set_keys(role, [f"{role}-a"])
        self.roots: list[bytes] = []  # published roots, the file for version i at [i-1]
        self.root_signers: list[CryptoSigner] = []  # who signed the last published root
        self.timestamp = Timestamp(version=1, expires=at(7), snapshot_meta=MetaFile(1))
        self.snapshot = Snapshot(version=1, expires=at(30))
        self.targets = Targets(version=1, expires=at(365))
        self.delegated: dict[str, tuple[Targets, list[CryptoSigner]]] = {}
        self.target_data: dict[str, bytes] = {}
        self.served: dict[str, bytes] = {}  # target bytes served instead of the real ones
        self.sign_with: dict[str, list] = {}  # role -> signers, instead of its keys
        self.post: dict[str, list[Callable[[dict], None]]] = {}  # edits after signing
        self.dumper: dict[str, Callable[[dict], bytes]] = {}  # file format per role

    def set_keys(self, role: str, names: list, threshold: int = 1) -> None:
        """Give top-level ``role`` the keys ``names`` (replacing its old ones)."""
        for keyid in list(self.root.roles[role].keyids):
            self.root.revoke_key(keyid, role)
        self.keys[role] = signers_of(names)
        for s in self.keys[role]:
            self.root.add_key(s.public_key, role)
        self.root.roles[role].threshold = threshold

    def publish_root(self, signers: list | None = None) -> bytes:
        """Sign the current root (by default with the keys of the previous root and of
        this one, as a rotation needs) and publish it as the next N.root.json."""
        if signers is None:
            signers = self.root_signers + [
                s for s in self.keys["root"]
                if s.public_key.keyid not in {p.public_key.keyid for p in self.root_signers}
            ]
        data = self.seal("root", self.root, signers_of(signers))
        self.roots.append(data)
        self.root_signers = list(self.keys["root"])
        return data

    def bump(self, *roles: str) -> None:
        for role in roles:
            getattr(self, role).version += 1

    def add_target(self, path: str, data: bytes, custom: Any = None, role: str = "targets"):
        info = TargetFile.from_data(path, data, ["sha256"])
        if custom is not None:
            info.unrecognized_fields["custom"] = custom
        signed = self.targets if role == "targets" else self.delegated[role][0]
        signed.targets[path] = info
        self.target_data[path] = data

    def seal(self, role: str, signed: Signed, signers: list[CryptoSigner]) -> bytes:
        """``signed`` signed by ``signers`` through python-tuf's Metadata API, then any
        post-signing edits for ``role``, written in the role's file format."""
        md = Metadata(copy.deepcopy(signed))
        for s in signers:
            md.sign(s, append=True)
        d = md.to_dict()
        for edit in self.post.get(role, []):
            edit(d)
        data = self.dumper.get(role, dump)(d)
        if role not in self.post and role not in self.dumper:
            assert data == md.to_bytes(), "dump() must match python-tuf's serializer"
        return data

    def signers(self, role: str, keys: list | None = None) -> list[CryptoSigner]:
        """Who signs ``role``: its keys, unless the scenario says otherwise."""
        return signers_of(self.sign_with.get(role, keys or self.keys.get(role, [])))

    def metafile(self, version: int, data: bytes) -> MetaFile:
        if not self.meta_hashes:
            return MetaFile(version)
        return MetaFile(version, len(data), {"sha256": hashlib.sha256(data).hexdigest()})

    def meta_path(self, role: str, version: int) -> str:
        if self.consistent and role != "timestamp":
            return f"metadata/{version}.{role}.json"
        return f"metadata/{role}.json"

    def target_path(self, path: str) -> str:
        if not self.consistent:
            return f"targets/{path}"
        digest = hashlib.sha256(self.target_data[path]).hexdigest()
        dirname, sep, basename = path.rpartition("/")
        return f"targets/{dirname}{sep}{digest}.{basename}"

    def build(self) -> dict[str, bytes]:
        """Sign targets, snapshot, timestamp; every file the server serves."""
        out = {f"metadata/{v}.root.json": data for v, data in enumerate(self.roots, 1)}
        meta = {}
        roles = [("targets", self.targets, self.keys["targets"])]
        roles += [(n, t, k) for n, (t, k) in sorted(self.delegated.items())]
        for name, signed, keys in roles:
            data = self.seal(name, signed, self.signers(name, keys))
            out[self.meta_path(name, signed.version)] = data
            meta[f"{name}.json"] = self.metafile(signed.version, data)
        self.snapshot.meta = meta
        snap = self.snapshot
        data = self.seal("snapshot", snap, self.signers("snapshot"))
        out[self.meta_path("snapshot", snap.version)] = data
        self.timestamp.snapshot_meta = self.metafile(snap.version, data)
        ts = self.timestamp
        data = self.seal("timestamp", ts, self.signers("timestamp"))
        out[self.meta_path("timestamp", ts.version)] = data
        for path, content in self.target_data.items():
            out[self.target_path(path)] = self.served.get(path, content)
        return out


def bundle_bytes(version: str) -> bytes:
    """A small stand-in for a firmware bundle: a header, a manifest, 4 KiB of payload."""
    manifest = json.dumps({"board": "qemu-aarch64", "version": version}, sort_keys=True)
    payload = b"".join(
        hashlib.sha256(f"{version}:{i}".encode()).digest() for i in range(128)
    )
    return b"MAMORI-BUNDLE 1\n" + manifest.encode() + b"\n" + payload


def standard_repo(**kw: Any) -> Repo:
    """Root v1 published; the firmware bundle (with Mamori's custom metadata) and the
    release notes as targets."""
    r = Repo(**kw)
    r.publish_root()
    r.add_target(BUNDLE, bundle_bytes("1.1.0"), custom=copy.deepcopy(BUNDLE_CUSTOM))
    notes = "Mamori 1.1.0\n\n- Firmware updates are verified with TUF.\n"
    r.add_target(NOTES, notes.encode())
    return r


# --- scenarios ---------------------------------------------------------------------


@dataclass
class Step:
    files: dict[str, bytes]
    outcome: str = "ok"
    error: str | None = None
    now: datetime = NOW
    target: str | None = None
    target_outcome: str | None = None
    target_error: str | None = None
    mamori_expect: dict | None = None

    def expect(self, repo: str) -> dict:
        e: dict[str, Any] = {"repo": repo, "now": iso(self.now), "outcome": self.outcome}
        if self.error:
            e["error"] = self.error
        if self.target:
            e["target"] = self.target
            e["target_outcome"] = self.target_outcome
            if self.target_error:
                e["target_error"] = self.target_error
        if self.mamori_expect:
            e["mamori_expect"] = self.mamori_expect
        return e


def ok(files: dict, target: str | None = BUNDLE, now: datetime = NOW, **kw: Any) -> Step:
    return Step(files, "ok", None, now, target, "ok" if target else None, **kw)


def refused(files: dict, error: str, now: datetime = NOW) -> Step:
    return Step(files, "refused", error, now)


def target_refused(files: dict, target: str, error: str, **kw: Any) -> Step:
    return Step(files, "ok", None, NOW, target, "refused", error, **kw)


@dataclass
class Scenario:
    name: str
    description: str
    trusted_root: bytes
    steps: list[Step] = field(default_factory=list)


SCENARIOS: list[Callable[[], Scenario]] = []


def scenario(fn: Callable[[], tuple[str, bytes, list[Step]]]) -> Callable[[], Scenario]:
    def make() -> Scenario:
        description, trusted_root, steps = fn()
        return Scenario(fn.__name__.replace("_", "-"), description, trusted_root, steps)

    SCENARIOS.append(make)
    return make


@scenario
def good():
    r = standard_repo()
    files = r.build()
    return (
        "A good repository with consistent snapshots, lengths and hashes in the "
        "timestamp and snapshot meta, two targets: the firmware bundle (custom "
        "metadata) and release notes in a subdirectory (hash prefix on the file name).",
        r.roots[0],
        [ok(files, BUNDLE), ok(files, NOTES)],
    )


@scenario
def good_not_consistent():
    r = standard_repo(consistent=False, meta_hashes=False)
    files = r.build()
    return (
        "consistent_snapshot false: snapshot.json, targets.json and targets/<name> "
        "without version or hash prefixes; the meta gives versions only (no lengths or "
        "hashes, so the client's length limits apply).",
        r.roots[0],
        [ok(files, BUNDLE), ok(files, NOTES)],
    )


@scenario
def new_release():
    r = standard_repo()
    step1 = r.build()
    r.bump("targets", "snapshot", "timestamp")
    name = "mamori-qemu-aarch64-1.2.0.bundle"
    custom = copy.deepcopy(BUNDLE_CUSTOM)
    custom["mamori"].update(version="1.2.0", min_version="1.1.0")
    r.add_target(name, bundle_bytes("1.2.0"), custom=custom)
    return (
        "Step 2 publishes a new release (targets, snapshot, timestamp v2).",
        r.roots[0],
        [ok(step1), ok(r.build(), name)],
    )


def rotated_repo() -> tuple[Repo, list[dict]]:
    """Root v1; v2 replaces every key and makes targets need 2 of 2 signatures; v3
    replaces the root key by two keys with threshold 2 and the timestamp key again."""
    r = standard_repo()
    states = [r.build()]
    r.root.version = 2
    r.set_keys("root", ["root-b"])
    r.set_keys("timestamp", ["timestamp-b"])
    r.set_keys("snapshot", ["snapshot-b"])
    r.set_keys("targets", ["targets-b", "targets-c"], threshold=2)
    r.publish_root()  # signed by root-a (v1's key) and root-b
    r.bump("timestamp", "snapshot", "targets")
    states.append(r.build())
    r.root.version = 3
    r.set_keys("root", ["root-c", "root-d"], threshold=2)
    r.set_keys("timestamp", ["timestamp-c"])
    r.publish_root()  # signed by root-b (v2's key), root-c and root-d
    r.bump("timestamp")
    states.append(r.build())
    return r, states


@scenario
def root_rotation():
    r, states = rotated_repo()
    return (
        "Root rotation v1 -> v2 -> v3, one step at a time: v2 replaces all keys and "
        "targets needs 2 signatures (both present); v3 has two root keys, threshold 2, "
        "and a new timestamp key.",
        r.roots[0],
        [ok(s) for s in states],
    )


@scenario
def root_rotation_fresh_client():
    r, states = rotated_repo()
    return (
        "A client trusting root v1 meets a repository already at root v3: it must "
        "walk v1 -> v2 -> v3.",
        r.roots[0],
        [ok(states[-1])],
    )


@scenario
def root_rotation_expired_intermediate():
    r = Repo()
    r.root.expires = at(-10)
    r.publish_root()
    r.root.version = 2
    r.root.expires = at(-1)
    r.set_keys("root", ["root-b"])
    r.publish_root()
    r.root.version = 3
    r.root.expires = at(365)
    r.publish_root()
    r.add_target(BUNDLE, bundle_bytes("1.1.0"), custom=copy.deepcopy(BUNDLE_CUSTOM))
    return (
        "The trusted root v1 and the intermediate root v2 are expired, v3 is not: "
        "only the final root's expiry counts, so this is ok.",
        r.roots[0],
        [ok(r.build())],
    )


@scenario
def root_v2_signed_only_by_new_keys():
    r = standard_repo()
    r.root.version = 2
    r.set_keys("root", ["root-b"])
    r.publish_root(signers=["root-b"])
    return (
        "Root v2 (new root key) signed only by its new key, not by v1's root key.",
        r.roots[0],
        [refused(r.build(), "root_chain")],
    )


@scenario
def root_v2_not_signed_by_own_key():
    r = standard_repo()
    r.root.version = 2
    r.set_keys("root", ["root-b"])
    r.publish_root(signers=["root-a"])
    return (
        "Root v2 (new root key) signed only by v1's root key, not by its own new key.",
        r.roots[0],
        [refused(r.build(), "root_chain")],
    )


@scenario
def root_v2_wrong_version():
    r = standard_repo()
    r.root.version = 3
    r.publish_root()  # the second root file, 2.root.json, says version 3
    return (
        "2.root.json holds a root with version 3 (correctly signed): the version must "
        "be the previous one plus 1.",
        r.roots[0],
        [refused(r.build(), "root_chain")],
    )


def flip_first_signature(md: dict) -> None:
    sig = md["signatures"][0]["sig"]
    sig_bytes = bytearray(bytes.fromhex(sig))
    sig_bytes[0] ^= 0x01
    md["signatures"][0]["sig"] = sig_bytes.hex()


@scenario
def timestamp_bad_signature():
    r = standard_repo()
    r.post["timestamp"] = [flip_first_signature]
    return (
        "The timestamp's only signature has one bit flipped.",
        r.roots[0],
        [refused(r.build(), "bad_signature")],
    )


@scenario
def timestamp_unknown_key():
    r = standard_repo()
    r.sign_with["timestamp"] = ["stranger"]
    return (
        "The timestamp is signed by a key the root does not know.",
        r.roots[0],
        [refused(r.build(), "bad_signature")],
    )


@scenario
def targets_threshold_not_met():
    r = Repo()
    r.set_keys("targets", ["targets-a", "targets-b"], threshold=2)
    r.publish_root()
    r.add_target(BUNDLE, bundle_bytes("1.1.0"), custom=copy.deepcopy(BUNDLE_CUSTOM))
    r.sign_with["targets"] = ["targets-a"]
    return (
        "Targets needs 2 of its 2 keys; only one has signed.",
        r.roots[0],
        [refused(r.build(), "bad_signature")],
    )


def duplicate_first_signature(md: dict) -> None:
    md["signatures"].append(dict(md["signatures"][0]))


@scenario
def targets_duplicate_signature():
    r = Repo()
    r.set_keys("targets", ["targets-a", "targets-b"], threshold=2)
    r.publish_root()
    r.add_target(BUNDLE, bundle_bytes("1.1.0"), custom=copy.deepcopy(BUNDLE_CUSTOM))
    r.sign_with["targets"] = ["targets-a"]
    r.post["targets"] = [duplicate_first_signature]
    return (
        "Targets needs 2 signatures; the same signature by targets-a is listed twice. "
        "python-tuf refuses any metadata listing two signatures with the same key id "
        "as malformed (before counting anything).",
        r.roots[0],
        [refused(r.build(), "bad_metadata")],
    )


@scenario
def targets_duplicate_signature_threshold_1():
    r = standard_repo()
    r.post["targets"] = [duplicate_first_signature]
    return (
        "Targets needs 1 signature and has it, listed twice: python-tuf refuses the "
        "file as malformed even though the threshold is met.",
        r.roots[0],
        [refused(r.build(), "bad_metadata")],
    )


@scenario
def targets_same_key_two_keyids():
    r = standard_repo()
    step1 = r.build()
    r.root.version = 2
    alias = hashlib.sha256(b"an alias key id for targets-a").hexdigest()
    r.set_keys("targets", ["targets-a", signer("targets-a", keyid=alias)], threshold=2)
    r.publish_root()
    r.bump("targets", "snapshot", "timestamp")
    return (
        "Root v2 lists targets-a's public key twice, under its key id and under a "
        "second (made-up) key id, and sets the targets threshold to 2; targets carries "
        "targets-a's signature under both key ids. python-tuf counts key ids, not keys, "
        "and accepts; Mamori counts distinct public keys and refuses (1 of 2).",
        r.roots[0],
        [
            ok(step1),
            ok(r.build(), mamori_expect={"outcome": "refused", "error": "bad_signature"}),
        ],
    )


@scenario
def rollback_timestamp():
    r = standard_repo()
    r.timestamp.version = 2
    step1 = r.build()
    r.timestamp.version = 1
    return (
        "Step 1 serves timestamp v2, step 2 timestamp v1.",
        r.roots[0],
        [ok(step1), refused(r.build(), "rollback")],
    )


@scenario
def rollback_snapshot():
    r = standard_repo()
    r.timestamp.version = 2
    r.snapshot.version = 2
    step1 = r.build()
    r.timestamp.version = 3
    r.snapshot.version = 1
    return (
        "Step 1: timestamp v2 -> snapshot v2. Step 2: a newer timestamp v3 naming "
        "snapshot v1 (the snapshot version in the timestamp's meta goes down).",
        r.roots[0],
        [ok(step1), refused(r.build(), "rollback")],
    )


@scenario
def rollback_targets():
    r = standard_repo()
    r.bump("timestamp", "snapshot", "targets")
    step1 = r.build()
    r.bump("timestamp", "snapshot")
    r.targets.version = 1
    return (
        "Step 1: snapshot v2 names targets v2. Step 2: a newer timestamp and snapshot "
        "v3 naming targets v1 (a version in the snapshot's meta goes down).",
        r.roots[0],
        [ok(step1), refused(r.build(), "rollback")],
    )


@scenario
def expired_timestamp():
    r = standard_repo()
    r.timestamp.expires = at(-1)
    return ("The timestamp expired a day ago.", r.roots[0], [refused(r.build(), "expired")])


@scenario
def expired_snapshot():
    r = standard_repo()
    r.snapshot.expires = at(-1)
    return ("The snapshot expired a day ago.", r.roots[0], [refused(r.build(), "expired")])


@scenario
def expired_targets():
    r = standard_repo()
    r.targets.expires = at(-1)
    return ("Targets expired a day ago.", r.roots[0], [refused(r.build(), "expired")])


@scenario
def expired_root():
    r = Repo()
    r.root.expires = at(-1)
    r.publish_root()
    r.add_target(BUNDLE, bundle_bytes("1.1.0"), custom=copy.deepcopy(BUNDLE_CUSTOM))
    return (
        "The trusted root expired a day ago and the repository has no newer root.",
        r.roots[0],
        [refused(r.build(), "expired")],
    )


@scenario
def freeze_timestamp():
    r = standard_repo()
    r.timestamp.expires = at(1)
    files = r.build()
    return (
        "The repository stops changing (a freeze): ok today, expired two days later "
        "when the same timestamp is served again.",
        r.roots[0],
        [ok(files), refused(files, "expired", now=at(2))],
    )


@scenario
def freeze_root():
    r = Repo()
    r.root.expires = at(30)
    r.publish_root()
    r.timestamp.expires = at(365)
    r.snapshot.expires = at(365)
    r.add_target(BUNDLE, bundle_bytes("1.1.0"), custom=copy.deepcopy(BUNDLE_CUSTOM))
    files = r.build()
    return (
        "The root expires in 30 days, every other role in a year: ok now, expired "
        "31 days later.",
        r.roots[0],
        [ok(files), refused(files, "expired", now=at(31))],
    )


@scenario
def timestamp_expiry_boundary():
    r = standard_repo()
    r.timestamp.expires = NOW
    files = r.build()
    return (
        "The timestamp expires at exactly 2026-12-06T00:00:00Z: ok one second before, "
        "expired at that second (expired when now >= expires).",
        r.roots[0],
        [ok(files, now=at(seconds=-1)), refused(files, "expired", now=NOW)],
    )


@scenario
def mix_and_match_snapshot():
    r = standard_repo(meta_hashes=False)
    r.bump("timestamp", "snapshot")
    old = r.build()
    r.bump("timestamp", "snapshot")
    new = r.build()
    new["metadata/3.snapshot.json"] = old["metadata/2.snapshot.json"]
    return (
        "The timestamp names snapshot v3; 3.snapshot.json serves snapshot v2 "
        "(correctly signed). The meta has no hashes, so only the version can tell.",
        r.roots[0],
        [refused(new, "version_mismatch")],
    )


@scenario
def mix_and_match_targets():
    r = standard_repo(meta_hashes=False)
    r.targets.version = 3
    v3 = r.build()
    r.targets.version = 2
    files = r.build()
    files["metadata/2.targets.json"] = v3["metadata/3.targets.json"]
    return (
        "The snapshot names targets v2; 2.targets.json serves targets v3 (correctly "
        "signed). The meta has no hashes, so only the version can tell.",
        r.roots[0],
        [refused(files, "version_mismatch")],
    )


@scenario
def fast_forward_recovery():
    r = standard_repo()
    r.timestamp.version = 1000000
    attack = r.build()
    r.timestamp.version = 2
    stuck = r.build()
    r.root.version = 2
    r.set_keys("timestamp", ["timestamp-b"])
    r.publish_root()
    r.timestamp.version = 1
    return (
        "The timestamp key is compromised: step 1 serves a timestamp v1000000 (accepted, "
        "it is correctly signed). Step 2: the real timestamp v2 is now a rollback. "
        "Step 3: root v2 replaces the timestamp key and the timestamp starts again at "
        "v1; the client must drop the trusted v1000000 (signed by a key no longer "
        "trusted) and accept it.",
        r.roots[0],
        [ok(attack), refused(stuck, "rollback"), ok(r.build())],
    )


@scenario
def timestamp_too_large():
    r = standard_repo()
    r.timestamp.unrecognized_fields["x-padding"] = ""
    size = len(r.build()["metadata/timestamp.json"])
    r.timestamp.unrecognized_fields["x-padding"] = "=" * (20000 - size)
    files = r.build()
    assert len(files["metadata/timestamp.json"]) == 20000
    return (
        "timestamp.json is 20000 bytes (correctly signed, padded by an unknown field); "
        "the client reads at most 16384 bytes of a timestamp.",
        r.roots[0],
        [refused(files, "too_large")],
    )


def served_instead(
    r: Repo, role: str, change: Callable[[Signed], None]
) -> tuple[dict, str]:
    """The repository's files, with ``role``'s file replaced by a different, correctly
    signed version of it (``change`` applied to a copy of its signed part)."""
    files = r.build()
    path = r.meta_path(role, getattr(r, role).version)
    other = copy.deepcopy(getattr(r, role))
    change(other)
    files[path] = r.seal(role, other, r.keys[role])
    return files, path


@scenario
def snapshot_hash_mismatch():
    r = standard_repo()

    def later(s: Signed) -> None:
        s.expires += timedelta(days=1)

    files, path = served_instead(r, "snapshot", later)
    assert len(files[path]) == r.timestamp.snapshot_meta.length
    return (
        "The snapshot served has the length the timestamp gives but other bytes (a "
        "re-signed snapshot expiring a day later).",
        r.roots[0],
        [refused(files, "hash_mismatch")],
    )


@scenario
def snapshot_shorter_than_listed():
    r = standard_repo()
    r.snapshot.unrecognized_fields["x-build"] = "20261206"
    files, path = served_instead(r, "snapshot", lambda s: s.unrecognized_fields.clear())
    assert len(files[path]) < r.timestamp.snapshot_meta.length
    return (
        "The snapshot served (correctly signed) is shorter than the length the "
        "timestamp gives.",
        r.roots[0],
        [refused(files, "length_mismatch")],
    )


@scenario
def snapshot_longer_than_listed():
    r = standard_repo()

    def longer(s: Signed) -> None:
        s.unrecognized_fields["x-build"] = "20261206"

    files, path = served_instead(r, "snapshot", longer)
    assert len(files[path]) > r.timestamp.snapshot_meta.length
    return (
        "The snapshot served (correctly signed) is longer than the length the "
        "timestamp gives: the download stops at that length.",
        r.roots[0],
        [refused(files, "length_mismatch")],
    )


@scenario
def targets_hash_mismatch():
    r = standard_repo()

    def later(t: Signed) -> None:
        t.expires += timedelta(days=1)

    files, path = served_instead(r, "targets", later)
    assert len(files[path]) == r.snapshot.meta["targets.json"].length
    return (
        "The targets metadata served has the length the snapshot gives but other bytes "
        "(re-signed, expiring a day later).",
        r.roots[0],
        [refused(files, "hash_mismatch")],
    )


@scenario
def target_changed():
    r = standard_repo()
    data = bytearray(r.target_data[BUNDLE])
    data[100] ^= 0xFF
    r.served[BUNDLE] = bytes(data)
    return (
        "The bundle's bytes were changed after signing (same length).",
        r.roots[0],
        [target_refused(r.build(), BUNDLE, "target_hash")],
    )


@scenario
def target_longer():
    r = standard_repo()
    r.served[BUNDLE] = r.target_data[BUNDLE] + b"\0"
    return (
        "The bundle served is one byte longer than listed.",
        r.roots[0],
        [target_refused(r.build(), BUNDLE, "target_length")],
    )


@scenario
def target_shorter():
    r = standard_repo()
    r.served[BUNDLE] = r.target_data[BUNDLE][:-1]
    return (
        "The bundle served is one byte shorter than listed.",
        r.roots[0],
        [target_refused(r.build(), BUNDLE, "target_length")],
    )


@scenario
def target_not_listed():
    r = standard_repo()
    return (
        "The client asks for a bundle the targets metadata does not name.",
        r.roots[0],
        [target_refused(r.build(), "mamori-qemu-aarch64-9.9.9.bundle", "target_not_found")],
    )


@scenario
def delegated_target():
    r = standard_repo()
    vendor = signer("vendor-a")
    r.targets.delegations = Delegations(
        keys={vendor.public_key.keyid: vendor.public_key},
        roles={
            "vendor": DelegatedRole(
                "vendor", [vendor.public_key.keyid], 1, False, paths=["vendor/*"]
            )
        },
    )
    r.delegated["vendor"] = (Targets(version=1, expires=at(365)), [vendor])
    r.add_target("vendor/tools.bin", b"vendor tools\n" * 10, role="vendor")
    return (
        "Top-level targets delegates vendor/* to the role 'vendor', which names "
        "vendor/tools.bin. python-tuf follows the delegation and downloads it; Mamori's "
        "client does not follow delegations, so for it the target is not found.",
        r.roots[0],
        [
            ok(r.build(), BUNDLE),
            ok(
                r.build(),
                "vendor/tools.bin",
                mamori_expect={
                    "outcome": "ok",
                    "target_outcome": "refused",
                    "target_error": "target_not_found",
                },
            ),
        ],
    )


@scenario
def unknown_fields():
    r = standard_repo()
    r.timestamp.unrecognized_fields["x-mamori-mirror"] = {"region": "eu", "weight": 3}
    r.snapshot.unrecognized_fields["x-mamori-build"] = "20261206.1"
    r.targets.unrecognized_fields["x-mamori-channel"] = ["stable", {"since": 3}]
    r.targets.targets[BUNDLE].unrecognized_fields["x-signed-off-by"] = "release team"

    def outside(md: dict) -> None:
        md["x-transport"] = "not signed, outside 'signed'"

    r.post["targets"] = [outside]
    return (
        "Unknown fields inside 'signed' (timestamp, snapshot, targets, a target entry) "
        "are covered by the signatures over the canonical form and must be kept; an "
        "unknown field beside 'signed' and 'signatures' is ignored.",
        r.roots[0],
        [ok(r.build())],
    )


@scenario
def spec_version_newer_minor():
    r = standard_repo()

    def newer(md: dict) -> None:
        md["signed"]["spec_version"] = "1.99.0"
        resign(md, ["timestamp-a"])

    r.post["timestamp"] = [newer]
    return (
        "The timestamp says spec_version 1.99.0: same major version, accepted.",
        r.roots[0],
        [ok(r.build())],
    )


NON_ASCII = {
    "mamori": {
        "board": "qemu-aarch64",
        "version": "1.1.0",
        "min_version": "1.0.0",
        "notes": "Sicherheitsupdate für das Büro — 安全更新 🔒 "
        '"quoted" back\\slash',
    },
    # keys that sort differently by code point (a, é, ｚ U+FF5A, 🔒 U+1F512) than by
    # UTF-16 code unit (🔒 is D83D DD12, before ｚ)
    "order": {"a": 1, "é": 2, "ｚ": 3, "🔒": 4},
}


@scenario
def non_ascii_custom_escaped():
    r = standard_repo()
    r.targets.targets[BUNDLE].unrecognized_fields["custom"] = copy.deepcopy(NON_ASCII)
    return (
        "Non-ASCII text and keys in the bundle's custom metadata, written the way "
        "python-tuf writes files: as \\uXXXX escapes (🔒 as a surrogate pair). The "
        "signature is over the canonical form, which has the raw UTF-8.",
        r.roots[0],
        [ok(r.build())],
    )


@scenario
def non_ascii_custom_utf8():
    r = standard_repo()
    r.targets.targets[BUNDLE].unrecognized_fields["custom"] = copy.deepcopy(NON_ASCII)
    r.dumper["targets"] = dump_utf8
    return (
        "As non-ascii-custom-escaped, but the file has the raw UTF-8.",
        r.roots[0],
        [ok(r.build())],
    )


@scenario
def noncanonical_formatting():
    r = standard_repo()
    for role in ("timestamp", "snapshot", "targets"):
        r.dumper[role] = dump_noncanonical
    return (
        "timestamp, snapshot and targets files are valid JSON far from canonical form "
        "(keys in reverse order, indent 4, '/' escaped as '\\/'): signatures are over "
        "the canonical form of what was parsed, not over the bytes of the file.",
        r.roots[0],
        [ok(r.build(), BUNDLE), ok(r.build(), NOTES)],
    )


@scenario
def bad_metadata_wrong_type():
    r = standard_repo()
    files = r.build()
    files["metadata/timestamp.json"] = files["metadata/1.snapshot.json"]
    return (
        "timestamp.json holds the (correctly signed) snapshot: _type is 'snapshot'.",
        r.roots[0],
        [refused(files, "bad_metadata")],
    )


@scenario
def bad_metadata_spec_version():
    r = standard_repo()

    def major2(md: dict) -> None:
        md["signed"]["spec_version"] = "2.0.0"
        resign(md, ["timestamp-a"])

    r.post["timestamp"] = [major2]
    return (
        "The timestamp (correctly signed) says spec_version 2.0.0: unsupported major.",
        r.roots[0],
        [refused(r.build(), "bad_metadata")],
    )


@scenario
def bad_metadata_truncated():
    r = standard_repo()
    files = r.build()
    ts = files["metadata/timestamp.json"]
    files["metadata/timestamp.json"] = ts[: len(ts) // 2]
    return (
        "timestamp.json is cut in half: not JSON.",
        r.roots[0],
        [refused(files, "bad_metadata")],
    )


# --- writing -----------------------------------------------------------------------


def write_file(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def write_scenario(outdir: str, sc: Scenario) -> None:
    d = os.path.join(outdir, sc.name)
    shutil.rmtree(d, ignore_errors=True)
    write_file(os.path.join(d, "trusted_root.json"), sc.trusted_root)
    expected = []
    for i, step in enumerate(sc.steps, 1):
        repo = f"steps/{i}"
        for rel, data in sorted(step.files.items()):
            write_file(os.path.join(d, repo, rel), data)
        expected.append(step.expect(repo))
    doc = {"description": sc.description, "steps": expected}
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    write_file(os.path.join(d, "expect.json"), text.encode("utf-8"))


# --- checking with python-tuf ------------------------------------------------------


def trusted_set_calls(exc: BaseException) -> list[str]:
    """The TrustedMetadataSet methods (and its module's helpers) on the exception's
    traceback, outermost first: [0] is the update_* call the Updater made."""
    return [
        frame.name
        for frame in traceback.extract_tb(exc.__traceback__)
        if frame.filename.endswith("trusted_metadata_set.py")
    ]


def role_of(url: str) -> str:
    return url.rsplit("/", 1)[-1].removesuffix(".json").rsplit(".", 1)[-1]


def metadata_error_kind(exc: BaseException, fetcher: DirFetcher) -> str:
    """python-tuf's exception during refresh() as one of our error kinds."""
    calls = trusted_set_calls(exc)
    if isinstance(exc, exceptions.DownloadLengthMismatchError):
        url, max_length = fetcher.requests[-1]
        config = UpdaterConfig()
        limit = {
            "root": config.root_max_length,
            "timestamp": config.timestamp_max_length,
            "snapshot": config.snapshot_max_length,
        }.get(role_of(url), config.targets_max_length)
        # the client's own limit, or the length the referring role gave
        return "too_large" if max_length == limit else "length_mismatch"
    if isinstance(exc, exceptions.ExpiredMetadataError):
        return "expired"
    if calls[:1] == ["update_root"] and isinstance(
        exc, (exceptions.UnsignedMetadataError, exceptions.BadVersionNumberError)
    ):
        return "root_chain"  # not signed by old or new root keys, or version not +1
    if isinstance(exc, exceptions.UnsignedMetadataError):
        return "bad_signature"
    if isinstance(exc, exceptions.BadVersionNumberError):
        # raised by update_timestamp/update_snapshot themselves when a version goes
        # down; by _check_final_snapshot and update_delegated_targets when a version
        # differs from what the referring role says
        if "_check_final_snapshot" in calls or calls[:1] in (
            ["update_delegated_targets"],
            ["update_targets"],
        ):
            return "version_mismatch"
        return "rollback"
    if isinstance(exc, exceptions.LengthOrHashMismatchError):
        return "length_mismatch" if "length" in str(exc) else "hash_mismatch"
    if isinstance(exc, exceptions.RepositoryError):
        if str(exc).startswith("New snapshot is missing info"):
            return "rollback"
        return "bad_metadata"  # DeserializationError, wrong _type, ...
    return f"unexpected {type(exc).__name__}: {exc}"


def target_error_kind(exc: BaseException) -> str:
    if isinstance(exc, TargetNotFoundError):
        return "target_not_found"
    if isinstance(exc, exceptions.DownloadLengthMismatchError):
        return "target_length"
    if isinstance(exc, exceptions.LengthOrHashMismatchError):
        return "target_length" if "length" in str(exc) else "target_hash"
    return f"unexpected {type(exc).__name__}: {exc}"


def run_step(scenario_dir: str, trusted_root: bytes, step: dict, metadata_dir: str) -> dict:
    """What python-tuf does with one step: the same fields as in expect.json."""
    repo = os.path.join(scenario_dir, step["repo"])
    now = parse_time(step["now"])
    updater, fetcher = open_updater(trusted_root, repo, metadata_dir, now)
    got: dict[str, Any] = {}
    try:
        updater.refresh()
        got["outcome"] = "ok"
    except Exception as e:  # noqa: BLE001
        got.update(outcome="refused", error=metadata_error_kind(e, fetcher))
        return got
    if "target" in step:
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "target")
            try:
                info = updater.get_targetinfo(step["target"])
                if info is None:
                    raise TargetNotFoundError(step["target"])
                updater.download_target(info, filepath=out)
                got["target_outcome"] = "ok"
            except Exception as e:  # noqa: BLE001
                got.update(target_outcome="refused", target_error=target_error_kind(e))
    return got


def check(outdir: str, names: list[str]) -> tuple[int, int]:
    """Run python-tuf on every step; (steps where it disagrees, steps)."""
    fields = ("outcome", "error", "target_outcome", "target_error")
    failures = steps = 0
    for name in names:
        d = os.path.join(outdir, name)
        with open(os.path.join(d, "expect.json"), "rb") as f:
            expect = json.load(f)
        with open(os.path.join(d, "trusted_root.json"), "rb") as f:
            trusted_root = f.read()
        with tempfile.TemporaryDirectory() as metadata_dir:
            for step in expect["steps"]:
                want = {k: step[k] for k in fields if k in step}
                got = run_step(d, trusted_root, step, metadata_dir)
                agree = got == want
                steps += 1
                failures += not agree
                summary = ", ".join(f"{k}={v}" for k, v in got.items())
                print(f"{'ok  ' if agree else 'FAIL'} {name} {step['repo']}: {summary}")
                if not agree:
                    print(f"     expected {want}")
    return failures, steps


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--check-only", action="store_true", help="only check OUTDIR")
    args = ap.parse_args(argv)
    logging.disable(logging.CRITICAL)

    if args.check_only:
        names = sorted(
            n for n in os.listdir(args.outdir)
            if os.path.isfile(os.path.join(args.outdir, n, "expect.json"))
        )
    else:
        scenarios = [make() for make in SCENARIOS]
        names = [sc.name for sc in scenarios]
        assert len(set(names)) == len(names)
        os.makedirs(args.outdir, exist_ok=True)
        for old in os.listdir(args.outdir):  # scenarios written before, since renamed
            old_dir = os.path.join(args.outdir, old)
            if old not in names and os.path.isfile(os.path.join(old_dir, "expect.json")):
                shutil.rmtree(old_dir)
        for sc in scenarios:
            write_scenario(args.outdir, sc)

    failures, steps = check(args.outdir, names)
    print(f"{len(names)} scenarios, {steps} steps, python-tuf disagrees on {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
