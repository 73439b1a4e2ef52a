#!/usr/bin/env python3
"""Figures of the booted qemu image, read from inside it: boot time (systemd-analyze), the
daemon set's idle memory as PSS and RSS (the daemons share one binary, so PSS is what they
cost together), and `systemd-analyze security` of every Mamori unit.

    python3 image-build/qemu/measure.py [IMAGE_DIR] [--idle SECONDS]

It assembles a developer's variant of the image in IMAGE_DIR/debug (`assemble.sh
--debug-console`: a root shell on the serial console, never for a box anyone uses), boots
it with user-mode networking (run.sh), waits until every Mamori unit is active and then
IDLE seconds more (default 60), and prints the figures as Markdown. Run as root after
`bash image-build/qemu/build.sh`.
"""

import argparse
import os
import re
import select
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
UNITS = [
    "mamori-settingsd",
    "mamori-firewalld",
    "mamori-smtpd",
    "mamori-admind",
    "mamori-linkd",
    "mamori-updated",
]
PROMPT = "root@mamori"


class Console:
    """The serial console of a booted debug image: commands in, their output back."""

    def __init__(self, disk, log):
        self.proc = subprocess.Popen(
            ["bash", os.path.join(HERE, "run.sh"), disk],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.buf = b""
        self.log = open(log, "wb")

    def read_until(self, pattern, timeout):
        end = time.time() + timeout
        rx = re.compile(pattern.encode())
        while time.time() < end:
            m = rx.search(self.buf)
            if m:
                out, self.buf = self.buf[: m.end()], self.buf[m.end():]
                return out.decode(errors="replace")
            ready, _, _ = select.select([self.proc.stdout], [], [], 1)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                self.log.write(chunk)
                self.log.flush()
                self.buf += chunk
        raise TimeoutError(f"no {pattern!r} within {timeout} s; last: {self.buf[-2000:]!r}")

    def run(self, command, timeout=120):
        # The marker as the shell prints it differs from the command line it echoes.
        n = time.time_ns()
        self.proc.stdin.write(f"{command}; echo __END_$((0+{n}))__\n".encode())
        self.proc.stdin.flush()
        out = self.read_until(re.escape(f"__END_{n}__"), timeout)
        out = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.replace("\r", ""))
        # Without echo (the first command turns it off) what remains is the prompt left
        # from the last command, the output, and the marker's line.
        lines = [l for l in out.split("\n")[:-1] if l.strip() and not l.startswith(PROMPT)]
        return "\n".join(lines)

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("image", nargs="?", default=os.path.join(ROOT, "target/image/qemu-aarch64-virt"))
    ap.add_argument("--idle", type=int, default=60)
    args = ap.parse_args()
    debug = os.path.join(args.image, "debug")
    version = open(os.path.join(args.image, "release.json")).read()
    version = re.search(r'"version": "([^"]+)"', version).group(1)
    subprocess.run(
        ["bash", os.path.join(HERE, "assemble.sh"), "--binary", os.path.join(args.image, "mamori"),
         "--out", debug, "--version", version, "--repo", os.path.join(args.image, "repo"),
         "--debug-console"],
        check=True,
    )
    vars_file = os.path.join(debug, "disk.img.vars")
    if os.path.exists(vars_file):
        os.remove(vars_file)
    con = Console(os.path.join(debug, "disk.img"), os.path.join(debug, "console.log"))
    try:
        con.read_until(PROMPT, 600)
        con.run("stty -echo cols 200; export SYSTEMD_COLORS=0 SYSTEMD_PAGER=")
        units = " ".join(u + ".service" for u in UNITS)
        deadline = time.time() + 600
        while con.run(f"systemctl is-active {units} | sort -u").strip() != "active":
            if time.time() > deadline:
                sys.exit("the Mamori units never became active:\n" + con.run(f"systemctl status {units}"))
            time.sleep(5)
        # The boot's remaining units (mamori-time runs after the daemons) print their status
        # lines on this console: let them finish before reading figures from it.
        con.run("systemctl is-system-running --wait >/dev/null", 600)
        boot = con.run("systemd-analyze")
        active = {}
        for u in UNITS:
            ts = con.run(f"systemctl show -p ActiveEnterTimestampMonotonic --value {u}.service").strip()
            active[u] = int(ts.split()[-1]) / 1e6
        time.sleep(args.idle)
        mem = con.run(
            "for u in " + " ".join(UNITS) + "; do p=$(systemctl show -p MainPID --value $u.service); "
            "awk -v u=$u '/^Rss:/{r=$2} /^Pss:/{p=$2} END{print u, p, r}' /proc/$p/smaps_rollup; done"
        )
        security = con.run("systemd-analyze security --no-pager " + " ".join(
            [u + ".service" for u in UNITS] + ["mamori-lan-dns.service", "mamori-boot-notice.service",
                                              "mamori-settings-seed.service", "mamori-time.service"]))
        free = con.run("head -3 /proc/meminfo")
    finally:
        con.stop()
    print("## Boot\n\n```\n" + boot.strip() + "\n```\n")
    print("Mamori units active (seconds after the kernel started):\n")
    for u, t in sorted(active.items(), key=lambda x: x[1]):
        print(f"- {u}: {t:.1f} s")
    print(f"\nlast: {max(active.values()):.1f} s\n")
    print(f"## Idle memory after {args.idle} s (KiB)\n\n| daemon | PSS | RSS |\n| --- | --- | --- |")
    tp = tr = 0
    for line in mem.strip().split("\n"):
        u, p, r = line.split()
        tp += int(p)
        tr += int(r)
        print(f"| {u} | {p} | {r} |")
    print(f"| **all** | **{tp}** ({tp / 1024:.1f} MiB) | {tr} ({tr / 1024:.1f} MiB) |\n")
    print("```\n" + free.strip() + "\n```\n")
    print("## systemd-analyze security\n\n```\n" + security.strip() + "\n```")


if __name__ == "__main__":
    main()
