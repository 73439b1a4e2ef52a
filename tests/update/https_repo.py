#!/usr/bin/env python3
"""A real HTTPS static file server for an update repository directory, for the update
system tests (tests/system/update.rs): what a web server or CDN in front of the directory
`mamori repo publish` writes does, with knobs that misbehave the way networks do.

    https_repo.py --dir REPO_DIR --cert CERT.pem --key KEY.pem [--log FILE]
                  [--cut-after BYTES] [--slow]

It binds 127.0.0.1 on a port the kernel chooses (port 0), prints that port on one line
once it is ready, and serves REPO_DIR (its metadata/ and targets/) over TLS with HTTP/1.1:

* GET and HEAD of regular files below REPO_DIR (anything else: 404); each request reads
  the file again, so a test may change the directory between requests;
* `Range: bytes=FROM-` and `bytes=FROM-TO` answered with 206 and `Content-Range`
  (an unsatisfiable range: 416), as static servers do;
* `--cut-after BYTES`: the FIRST time a target (a file below targets/) is served, the
  connection is closed after BYTES bytes of the body although Content-Length promised the
  whole file, so that the client must resume with a Range request; only once per run;
* `--slow`: bodies trickle out in small pieces with pauses (a slow network);
* `--log FILE`: one line per request, appended and flushed at once:
  `METHOD PATH range=<Range header or -> status=<code> sent=<bytes> [cut]`.
"""

from __future__ import annotations

import argparse
import http.server
import os
import re
import ssl
import sys
import threading
import time
from urllib.parse import unquote, urlsplit

CHUNK = 64 * 1024
SLOW_CHUNK = 4 * 1024
SLOW_PAUSE = 0.01


class State:
    """What the handlers share: the options, the log and whether the cut was made."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.root = os.path.realpath(args.dir)
        self.cut_after: int | None = args.cut_after
        self.slow: bool = args.slow
        self.cut_done = False
        self.lock = threading.Lock()
        self.log_path: str | None = args.log

    def log(self, line: str) -> None:
        if self.log_path is None:
            return
        with self.lock:
            with open(self.log_path, "a", encoding="utf-8") as f:
                f.write(line + "\n")
                f.flush()

    def take_cut(self, rel: str) -> int | None:
        """The byte count to cut this response after, once, for the first target."""
        if self.cut_after is None or not rel.startswith("targets/"):
            return None
        with self.lock:
            if self.cut_done:
                return None
            self.cut_done = True
            return self.cut_after


RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


def make_handler(state: State) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "https-repo/1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            # The request log (--log) replaces the default stderr lines.
            pass

        def resolve(self) -> tuple[str, str] | None:
            path = unquote(urlsplit(self.path).path)
            rel = path.lstrip("/")
            full = os.path.realpath(os.path.join(state.root, rel))
            if not (full == state.root or full.startswith(state.root + os.sep)):
                return None
            if not os.path.isfile(full):
                return None
            return rel, full

        def do_HEAD(self) -> None:  # noqa: N802
            self.answer(head=True)

        def do_GET(self) -> None:  # noqa: N802
            self.answer(head=False)

        def simple(self, status: int, extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def answer(self, head: bool) -> None:
            rng = self.headers.get("Range")
            found = self.resolve()
            if found is None:
                self.simple(404)
                state.log(f"{self.command} {self.path} range={rng or '-'} status=404 sent=0")
                return
            rel, full = found
            with open(full, "rb") as f:
                data = f.read()
            size = len(data)
            start, end = 0, size - 1
            status = 200
            if rng is not None:
                m = RANGE.match(rng.strip())
                if m is None:
                    # Not a single byte range: serve the whole file, as servers may.
                    pass
                else:
                    start = int(m.group(1))
                    end = int(m.group(2)) if m.group(2) else size - 1
                    end = min(end, size - 1)
                    if start >= size or start > end:
                        self.simple(416, {"Content-Range": f"bytes */{size}"})
                        state.log(f"{self.command} {self.path} range={rng} status=416 sent=0")
                        return
                    status = 206
            body = data[start : end + 1]
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(len(body)))
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.end_headers()
            if head:
                state.log(f"{self.command} {self.path} range={rng or '-'} status={status} sent=0")
                return
            cut = state.take_cut(rel)
            limit = len(body) if cut is None else min(cut, len(body))
            sent = 0
            piece = SLOW_CHUNK if state.slow else CHUNK
            try:
                while sent < limit:
                    n = min(piece, limit - sent)
                    self.wfile.write(body[sent : sent + n])
                    self.wfile.flush()
                    sent += n
                    if state.slow:
                        time.sleep(SLOW_PAUSE)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                self.close_connection = True
                state.log(f"{self.command} {self.path} range={rng or '-'} status={status} sent={sent} aborted")
                return
            if cut is not None and limit < len(body):
                state.log(f"{self.command} {self.path} range={rng or '-'} status={status} sent={sent} cut")
                self.close_connection = True
                # Close the connection under the client's feet: the body ends early.
                try:
                    self.connection.shutdown(2)
                except OSError:
                    pass
                return
            state.log(f"{self.command} {self.path} range={rng or '-'} status={status} sent={sent}")

    return Handler


class Server(http.server.ThreadingHTTPServer):
    """Threads per connection; the TLS handshake is made in the connection's thread, so a
    client that never completes one holds up nobody else."""

    daemon_threads = True
    allow_reuse_address = True
    tls: ssl.SSLContext

    def finish_request(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        request.settimeout(30)
        try:
            tls = self.tls.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        # A client that went away mid-answer is not the server's error.
        pass


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", required=True, help="the served repository directory")
    p.add_argument("--cert", required=True, help="the server certificate chain (PEM)")
    p.add_argument("--key", required=True, help="its private key (PEM)")
    p.add_argument("--log", help="append one line per request to this file")
    p.add_argument("--cut-after", type=int, help="cut the first target download after BYTES")
    p.add_argument("--slow", action="store_true", help="trickle bodies out slowly")
    args = p.parse_args()
    state = State(args)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(args.cert, args.key)
    server = Server(("127.0.0.1", 0), make_handler(state))
    server.tls = ctx
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
