#!/usr/bin/env python3
"""python-tuf's own client (the ngclient ``Updater``) run against a TUF repository that
sits in a local directory, as an independent check of what Mamori's repository tool
writes: if python-tuf accepts the repository and the target, the metadata, signatures,
hashes and file layout are right by the reference implementation too.

    tuf_client.py --root TRUSTED_ROOT --repo REPO_DIR --target NAME --out FILE
                  [--metadata-dir DIR] [--now 2026-12-06T00:00:00Z]

REPO_DIR is laid out the way a web server would serve it: REPO_DIR/metadata/
(``1.root.json``, ``2.root.json``…, ``timestamp.json``, ``<V>.snapshot.json`` and
``<V>.targets.json`` with consistent snapshots, ``snapshot.json`` and ``targets.json``
without) and REPO_DIR/targets/ (``<sha256>.<name>`` with consistent snapshots, ``<name>``
without). No HTTP server is started: a ``FetcherInterface`` reads the files.

The client refreshes the metadata, looks the target up, downloads and verifies it, writes
it to FILE and prints one JSON line:

    {"ok": true, "target": NAME, "length": N, "custom": {...}}        (exit status 0)
    {"ok": false, "error": "<ExceptionClass>: message"}               (exit status 1)

``custom`` is the target's custom metadata ({} when it has none). FILE is written only
once the target has been verified. With --metadata-dir the client keeps its trusted
metadata there between runs (as a box does between update checks); without it, it starts
from TRUSTED_ROOT alone in a temporary directory. --now fixes the time that expiry is
checked against (default: the system clock).

The module is also imported by tuf_scenarios.py, which uses the same fetcher and updater
set-up to check its scenarios.

Needs: tuf 6.0.0, securesystemslib 1.6.0, cryptography (run with
target/formats-venv/bin/python).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO
from urllib import parse

from tuf.api import exceptions
from tuf.ngclient import FetcherInterface, Updater

# The updater is given URLs under this base; DirFetcher maps them onto the directory.
BASE_URL = "http://tuf-repository.invalid/"
CHUNK = 8192


class TargetNotFoundError(Exception):
    """The target is not named by the trusted targets metadata (nor by a delegation)."""


class DirFetcher(FetcherInterface):
    """Serves BASE_URL/<path> from <repo_dir>/<path>: a missing file is an HTTP 404 (which
    is how the updater learns that there is no newer root). Every download's URL and the
    length limit the updater set for it are kept in ``requests``."""

    def __init__(self, repo_dir: str):
        self.repo_dir = os.path.realpath(repo_dir)
        self.requests: list[tuple[str, int]] = []

    def _fetch(self, url: str) -> Iterator[bytes]:
        if not url.startswith(BASE_URL):
            raise exceptions.DownloadHTTPError(f"{url}: not in the repository", 404)
        rel = url[len(BASE_URL):]
        if rel.startswith("metadata/"):
            # the updater percent-encodes role names; target paths are used as they are
            rel = parse.unquote(rel)
        path = os.path.realpath(os.path.join(self.repo_dir, rel))
        inside = os.path.commonpath([path, self.repo_dir]) == self.repo_dir
        if not inside or not os.path.isfile(path):
            raise exceptions.DownloadHTTPError(f"{rel}: not found", 404)

        def chunks() -> Iterator[bytes]:
            with open(path, "rb") as f:
                while chunk := f.read(CHUNK):
                    yield chunk

        return chunks()

    @contextmanager
    def download_file(self, url: str, max_length: int) -> Iterator[IO]:
        self.requests.append((url, max_length))
        with super().download_file(url, max_length) as f:
            yield f


def parse_time(text: str) -> datetime.datetime:
    """'2026-12-06T00:00:00Z' as an aware UTC datetime (the TUF 'expires' format)."""
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc
    )


def open_updater(
    trusted_root: bytes,
    repo_dir: str,
    metadata_dir: str,
    now: datetime.datetime | None = None,
) -> tuple[Updater, DirFetcher]:
    """An Updater that trusts ``trusted_root`` (and whatever it verified earlier into
    ``metadata_dir``), reads ``repo_dir`` and checks expiry against ``now``.

    python-tuf 6 takes the time once, in TrustedMetadataSet.__init__
    (``self.reference_time = datetime.now(timezone.utc)``), and checks every expiry
    against that attribute; loading the trusted root in the constructor does not look
    at expiry. Setting the attribute right after construction therefore pins the time
    for the whole refresh and every target lookup."""
    os.makedirs(metadata_dir, exist_ok=True)
    fetcher = DirFetcher(repo_dir)
    updater = Updater(
        metadata_dir=metadata_dir,
        metadata_base_url=BASE_URL + "metadata/",
        target_base_url=BASE_URL + "targets/",
        fetcher=fetcher,
        bootstrap=trusted_root,
    )
    if now is not None:
        trusted_set = updater._trusted_set  # noqa: SLF001 - the only time hook there is
        if not isinstance(getattr(trusted_set, "reference_time", None), datetime.datetime):
            raise RuntimeError(
                "this python-tuf has no TrustedMetadataSet.reference_time: "
                "the time cannot be pinned"
            )
        trusted_set.reference_time = now
    return updater, fetcher


def fetch_target(updater: Updater, name: str, out: str):
    """Refresh, look ``name`` up and download it verified to ``out``; the TargetFile."""
    updater.refresh()
    info = updater.get_targetinfo(name)
    if info is None:
        raise TargetNotFoundError(f"{name} is not in the trusted targets metadata")
    updater.download_target(info, filepath=out)
    return info


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", required=True, help="trusted root.json to start from")
    ap.add_argument("--repo", required=True, help="repository dir (metadata/, targets/)")
    ap.add_argument("--target", required=True, help="target path to download")
    ap.add_argument("--out", required=True, help="where to write the verified target")
    ap.add_argument("--metadata-dir", help="keep trusted metadata here between runs")
    ap.add_argument("--now", type=parse_time, help="time to check expiry against (UTC)")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        metadata_dir = args.metadata_dir or os.path.join(tmp, "metadata")
        try:
            with open(args.root, "rb") as f:
                trusted_root = f.read()
            updater, _ = open_updater(trusted_root, args.repo, metadata_dir, args.now)
            info = fetch_target(updater, args.target, args.out)
        except Exception as e:  # noqa: BLE001 - every failure is reported the same way
            print(json.dumps({"ok": False, "error": f"{type(e).__name__}: {e}"}))
            return 1
    print(
        json.dumps(
            {
                "ok": True,
                "target": info.path,
                "length": info.length,
                "custom": info.custom or {},
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
