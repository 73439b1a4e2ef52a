#!/usr/bin/python3
"""Hand-built RAR archives (no RAR writer is packaged for Debian), to the RAR 5.0 archive
format (rarlab.com/technote.htm) and to the RAR 1.5-4.x format (WinRAR 3/4's technote).

    make_rar.py OUT_DIR TWIN NUMBER

writes OUT_DIR/TWIN-NAME for each archive below, each holding an employee list with
NUMBER, and checks every one with bsdtar (libarchive), an independent reader: the names
must list as written and stored content must extract byte for byte.

- stored5.rar: RAR5, stored entries (a CSV with a Japanese name, a directory, a memo);
- stored4.rar: RAR4, stored entries, the CSV's name in CP932 as WinRAR 3 wrote it;
- locked5.rar: RAR5, the CSV's content encrypted (a file encryption record);
- locked-headers5.rar: RAR5 with its headers encrypted (an archive encryption header);
- locked4.rar: RAR4, the CSV's content encrypted (the LHD_PASSWORD flag).

Encrypted data is random bytes: nothing is encrypted for real, the structures say it is.
"""

import os
import random
import subprocess
import sys
import zlib

SIG5 = b"Rar!\x1a\x07\x01\x00"
SIG4 = b"Rar!\x1a\x07\x00"


def vint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def block5(kind, fields, extra=b"", data=None, flags=0):
    """A RAR5 block: CRC32, header size, then type, flags, extra and data sizes. File
    headers always have a data area, if an empty one (libarchive requires it)."""
    if extra:
        flags |= 0x01
    if data is not None:
        flags |= 0x02
    body = vint(kind) + vint(flags)
    if extra:
        body += vint(len(extra))
    if data is not None:
        body += vint(len(data))
    body += fields + extra
    head = vint(len(body)) + body
    return zlib.crc32(head).to_bytes(4, "little") + head + (data or b"")


def file5(name, data, directory=False, method=0, encrypted=False, rng=None):
    """A RAR5 file header with its data (stored when method is 0)."""
    file_flags = 0x01 if directory else 0x04  # directory, or CRC32 present
    fields = vint(file_flags) + vint(len(data)) + vint(0x10 if directory else 0x20)
    if not directory:
        fields += zlib.crc32(data).to_bytes(4, "little")
    fields += vint(method << 7) + vint(0)  # compression info, host OS Windows
    raw = name.encode("utf-8")
    fields += vint(len(raw)) + raw
    extra = b""
    if encrypted:
        # File encryption record (type 0x01): version 0 (AES-256), flags 1 (check value),
        # KDF count, salt, IV, check value.
        record = vint(0x01) + vint(0) + vint(0x01) + bytes([15])
        record += rng.randbytes(16) + rng.randbytes(16) + rng.randbytes(12)
        extra = vint(len(record)) + record
        data = rng.randbytes((len(data) + 15) // 16 * 16)
    return block5(2, fields, extra, data)


def archive5(entries, rng, headers_encrypted=False):
    out = bytearray(SIG5)
    if headers_encrypted:
        # Archive encryption header (type 4): version, flags, KDF count, salt, check value;
        # every header after it is encrypted (here: random bytes in 16-byte blocks).
        fields = vint(0) + vint(0x01) + bytes([15]) + rng.randbytes(16) + rng.randbytes(12)
        out += block5(4, fields)
        out += rng.randbytes(16 * 40)
        return bytes(out)
    out += block5(1, vint(0))  # main archive header, no flags
    for entry in entries:
        out += file5(*entry, rng=rng)
    out += block5(5, vint(0))  # end of archive
    return bytes(out)


def block4(kind, flags, fields, data=b""):
    """A RAR4 block: CRC16 (low half of CRC32), type, flags, size, fields."""
    size = 7 + len(fields)
    head = bytes([kind]) + flags.to_bytes(2, "little") + size.to_bytes(2, "little") + fields
    crc = zlib.crc32(head) & 0xFFFF
    return crc.to_bytes(2, "little") + head + data


def file4(raw_name, data, directory=False, encrypted=False, rng=None):
    flags = 0x8000  # LONG_BLOCK: the packed size follows
    if directory:
        flags |= 0x00E0
    if encrypted:
        flags |= 0x0004
        packed = rng.randbytes((len(data) + 15) // 16 * 16 + 8)  # salt flag off: 8 spare
    else:
        packed = data
    fields = len(packed).to_bytes(4, "little") + len(data).to_bytes(4, "little")
    fields += bytes([2])  # host OS: Win32
    fields += zlib.crc32(data).to_bytes(4, "little")
    fields += (0x5B850000).to_bytes(4, "little")  # DOS time: 2025-12-05
    fields += bytes([29, 0x30])  # version 2.9, method 0x30 (store)
    fields += len(raw_name).to_bytes(2, "little")
    fields += (0x10 if directory else 0x20).to_bytes(4, "little")
    fields += raw_name
    return block4(0x74, flags, fields, packed)


def archive4(entries, rng):
    out = bytearray(SIG4)
    out += block4(0x73, 0x0000, bytes(6))  # main header: two reserved fields
    for entry in entries:
        out += file4(*entry, rng=rng)
    out += block4(0x7B, 0x4000, b"")  # end of archive
    return bytes(out)


def bsdtar(*args):
    return subprocess.run(["bsdtar", *args], capture_output=True, check=False)


def main():
    out_dir, twin, number = sys.argv[1], sys.argv[2], sys.argv[3]
    rng = random.Random(f"mamori-rar-{twin}")
    rows = ["社員番号,氏名,部署,個人番号"]
    for i in range(1, 301):
        rows.append(f"E{i:04d},山田 太郎,総務部,{number}" if i == 150 else f"E{i:04d},社員 {i},営業部,")
    csv = ("\n".join(rows) + "\n").encode("utf-8")
    memo = "議事録\n次回の打合せは来週です。\n".encode("utf-8")
    name = "社員名簿.csv"
    made = {
        "stored5.rar": archive5([(name, csv), ("docs", b"", True), ("docs/memo.txt", memo)], rng),
        "stored4.rar": archive4(
            [(name.encode("cp932"), csv), (b"docs", b"", True), (b"docs\\memo.txt", memo)], rng
        ),
        "locked5.rar": archive5([(name, csv, False, 0, True), ("docs/memo.txt", memo)], rng),
        "locked-headers5.rar": archive5([], rng, headers_encrypted=True),
        "locked4.rar": archive4([(name.encode("cp932"), csv, False, True)], rng),
    }
    failures = []
    for file, data in made.items():
        path = os.path.join(out_dir, f"{twin}-{file}")
        with open(path, "wb") as f:
            f.write(data)
        listing = bsdtar("-tf", path)
        names = listing.stdout.decode("utf-8", "replace").splitlines()
        if file.startswith("stored"):
            if listing.returncode != 0 or not any(n.endswith("memo.txt") for n in names):
                failures.append(f"{file}: bsdtar lists {names!r}: {listing.stderr!r}")
            member = name if file == "stored5.rar" else None
            if member is not None:
                got = bsdtar("-xOf", path, member)
                if got.returncode != 0 or got.stdout != csv:
                    failures.append(f"{file}: bsdtar extracts {len(got.stdout)} bytes: {got.stderr!r}")
            got = bsdtar("-xOf", path, "docs/memo.txt")
            if got.returncode != 0 or got.stdout != memo:
                failures.append(f"{file}: bsdtar extracts memo {got.stdout!r}: {got.stderr!r}")
        elif file == "locked5.rar":
            if listing.returncode != 0 or name not in names:
                failures.append(f"{file}: bsdtar lists {names!r}: {listing.stderr!r}")
    for failure in failures:
        print(f"make_rar.py: {failure}", file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
