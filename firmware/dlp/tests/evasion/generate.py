#!/usr/bin/env python3
"""Mamori DLP evasion corpus: generator and self-check.

Writes, next to this file:
  mails/NN-name.eml   evasion mails: a valid My Number (or card number) that a recipient can
                      get at with ordinary software, or content nobody can inspect; Mamori
                      must hold or reject every one of them (expect = stop)
  clean/NN-name.eml   ordinary business mail, full of numbers that only look like personal
                      data; Mamori must let every one of them through (expect = pass)
  manifest.tsv        file, expect, class, description

Python 3.11, standard library only, deterministic: the same bytes on every run.

After writing, every mail is parsed again with independent code (email with
policy=default, zipfile, tarfile, gzip, bz2, lzma, a separate ZipCrypto decryptor, small
PNG/JPEG/RIFF/PDF/RTF/OOXML readers) and the hidden number is looked for the way a
recipient would get at it. One line per mail is printed; the run fails (exit 1) if an
evasion mail's number cannot be recovered when it should be, or if a clean mail carries
something it must not.
"""

from __future__ import annotations

import base64
import binascii
import bz2
import codecs
import csv
import email
import email.policy
import gzip
import hashlib
import html
import io
import lzma
import os
import quopri
import random
import re
import struct
import sys
import tarfile
import unicodedata
import xml.etree.ElementTree as ET
import zipfile
import zlib
from html.parser import HTMLParser

HERE = os.path.dirname(os.path.abspath(__file__))
CRLF = b"\r\n"
SEED = 20240401
MTIME = 1711929600  # 2024-04-01 00:00:00 UTC, for tar members
ZIP_DT = (2024, 4, 1, 9, 0, 0)
MAX_MAIL = 2 * 1024 * 1024
MAX_CORPUS = 8 * 1024 * 1024

# Python codec for each charset label used in this corpus (a receiving client's view:
# Shift_JIS is read as Windows' CP932, as Outlook and Thunderbird do).
CODECS = {
    "iso-2022-jp": "iso2022_jp",
    "shift_jis": "cp932",
    "windows-31j": "cp932",
    "cp932": "cp932",
    "euc-jp": "euc_jp",
    "utf-8": "utf-8",
    "utf-16le": "utf-16-le",
    "utf-16": "utf-16",
    "utf-32": "utf-32",
    "utf-7": "utf-7",
    "us-ascii": "ascii",
}

# =========================================================================================
# Numbers
# =========================================================================================


def my_number_check(d11: str) -> int:
    """Check digit of a My Number (番号法施行令第八条)."""
    assert len(d11) == 11 and d11.isdigit()
    total = 0
    for n in range(1, 12):
        p = int(d11[11 - n])  # n-th digit counted from the right
        q = n + 1 if n <= 6 else n - 5
        total += p * q
    r = total % 11
    return 0 if r <= 1 else 11 - r


def is_my_number(s: str) -> bool:
    return len(s) == 12 and s.isdigit() and int(s[11]) == my_number_check(s[:11])


def luhn_ok(s: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(s)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def luhn_digit(body: str) -> str:
    for c in "0123456789":
        if luhn_ok(body + c):
            return c
    raise AssertionError


def issuer_prefix(s: str) -> bool:
    """Visa, Mastercard, JCB, Amex, Diners, Discover, UnionPay prefixes."""
    if s[0] == "4":
        return True
    if s[:2] in ("34", "37", "36", "38", "30", "62", "65") or s[:4] == "6011":
        return True
    if 51 <= int(s[:2]) <= 55 or 2221 <= int(s[:4]) <= 2720:
        return True
    return 3528 <= int(s[:4]) <= 3589


assert my_number_check("12345678901") == 8
assert is_my_number("123456789018") and not is_my_number("123456789011")


class Numbers:
    """Hands out valid numbers, distinct in their first four and last two digits (the part
    of a number that Mamori's masked findings keep), so each mail's key number can be
    told apart from every other in a report."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.first4: set[str] = set()
        self.last2: set[str] = set()
        self.used: set[str] = set()

    def _take(self, n: str, strict: bool) -> bool:
        if n in self.used or n[:4] in self.first4:
            return False
        if strict and n[-2:] in self.last2:
            return False
        if len(set(n)) < 5:  # no 111111111111-like numbers
            return False
        self.used.add(n)
        self.first4.add(n[:4])
        self.last2.add(n[-2:])
        return True

    def my_number(self, strict=True) -> str:
        for _ in range(200000):
            d = str(self.rng.randint(1, 9)) + "".join(str(self.rng.randint(0, 9)) for _ in range(10))
            n = d + str(my_number_check(d))
            if self._take(n, strict):
                return n
        raise RuntimeError("out of distinct My Numbers")

    def card(self, prefix: str, strict=True) -> str:
        for _ in range(200000):
            if prefix == "22":
                p = str(self.rng.randint(2221, 2720))
            elif prefix == "35":
                p = str(self.rng.randint(3528, 3589))
            else:
                p = prefix
            body = p + "".join(str(self.rng.randint(0, 9)) for _ in range(15 - len(p)))
            n = body + luhn_digit(body)
            assert luhn_ok(n) and issuer_prefix(n)
            if self._take(n, strict):
                return n
        raise RuntimeError("out of distinct card numbers")


def grouped(n: str, sizes=(4, 4, 4), sep="-") -> str:
    out, i = [], 0
    for s in sizes:
        out.append(n[i:i + s])
        i += s
    if i < len(n):
        out.append(n[i:])
    return sep.join(out)


def fullwidth(s: str) -> str:
    return "".join(chr(ord(c) - 0x30 + 0xFF10) if c.isdigit() else ("－" if c == "-" else c) for c in s)


# =========================================================================================
# MIME building blocks (raw bytes, CRLF, full control over every header)
# =========================================================================================


def crlf(s: str) -> str:
    return s.replace("\r\n", "\n").replace("\n", "\r\n")


def enc(s: str, charset: str) -> bytes:
    return crlf(s).encode(CODECS.get(charset.lower(), charset))


def b64(data: bytes, width=76) -> bytes:
    s = base64.b64encode(data)
    return CRLF.join(s[i:i + width] for i in range(0, len(s), width))


def qp(data: bytes) -> bytes:
    lines = data.split(CRLF)
    out = [binascii.b2a_qp(line).replace(b"\n", CRLF) for line in lines]
    return CRLF.join(out)


def ew(text: str, charset="ISO-2022-JP", chunk=10) -> str:
    """RFC 2047 B encoded words, each one self-contained, folded."""
    codec = CODECS[charset.lower()]
    words = []
    for i in range(0, len(text), chunk):
        b = text[i:i + chunk].encode(codec)
        words.append("=?%s?B?%s?=" % (charset, base64.b64encode(b).decode()))
    return "\r\n ".join(words)


def ewq(text: str, charset="UTF-8") -> str:
    b = text.encode(CODECS[charset.lower()])
    out = []
    for byte in b:
        ch = chr(byte)
        if ch.isalnum() and byte < 128:
            out.append(ch)
        elif ch == " ":
            out.append("_")
        else:
            out.append("=%02X" % byte)
    return "=?%s?Q?%s?=" % (charset, "".join(out))


def pct(s: str, codec: str) -> str:
    """RFC 2231 percent encoding."""
    out = []
    for byte in s.encode(codec):
        ch = chr(byte)
        if byte < 128 and (ch.isalnum() or ch in "._-"):
            out.append(ch)
        else:
            out.append("%%%02X" % byte)
    return "".join(out)


def hblock(fields) -> bytes:
    out = b""
    for name, value in fields:
        if isinstance(value, str):
            value = value.encode("ascii")
        out += name.encode("ascii") + b": " + value + CRLF
    return out


def entity(fields, body: bytes) -> bytes:
    return hblock(fields) + CRLF + body


def mp_body(boundary, parts, preamble=b"", epilogue=b"") -> bytes:
    if isinstance(boundary, str):
        boundary = boundary.encode("ascii")
    out = preamble
    for p in parts:
        out += b"--" + boundary + CRLF + p + CRLF
    out += b"--" + boundary + b"--" + CRLF + epilogue
    return out


def multipart(boundary, parts, subtype="mixed", extra=(), preamble=b"", epilogue=b"") -> bytes:
    return entity(
        [("Content-Type", 'multipart/%s; boundary="%s"' % (subtype, boundary))] + list(extra),
        mp_body(boundary, parts, preamble, epilogue),
    )


def text_entity(text, charset="ISO-2022-JP", cte=None, subtype="plain", params="", extra=()):
    data = enc(text, charset)
    if cte is None:
        cte = "7bit" if charset.lower() in ("iso-2022-jp", "us-ascii") else "base64"
    body = {"7bit": data, "8bit": data, "base64": b64(data), "quoted-printable": qp(data)}[cte]
    fields = [
        ("Content-Type", "text/%s; charset=%s%s" % (subtype, charset, params)),
        ("Content-Transfer-Encoding", cte),
    ] + list(extra)
    return entity(fields, body)


def attachment(data, ctype, filename, cte="base64", before=(), after=(), name_param=True, disp="attachment"):
    """filename: an ASCII file name, or a ready-made (ct_params, cd_params) pair."""
    if isinstance(filename, tuple):
        ct_p, cd_p = filename
    else:
        ct_p = '; name="%s"' % filename if name_param else ""
        cd_p = '; filename="%s"' % filename
    body = b64(data) if cte == "base64" else data
    fields = list(before) + [
        ("Content-Type", ctype + ct_p),
        ("Content-Disposition", disp + cd_p),
        ("Content-Transfer-Encoding", cte),
    ] + list(after)
    return entity(fields, body)


def jp_name_params(name: str, charset="ISO-2022-JP"):
    """How Outlook/Becky name a Japanese file: RFC 2047 inside the quotes (name and filename)."""
    w = ew(name, charset, chunk=8)
    return ('; name="%s"' % w, '; filename="%s"' % w)


# =========================================================================================
# File formats (written here, read back by the independent readers further down)
# =========================================================================================

# ---- ZIP, with traditional PKWARE (ZipCrypto) encryption --------------------------------

_CRC_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0xEDB88320 if _c & 1 else _c >> 1
    _CRC_TABLE.append(_c)


class _ZipCryptoKeys:
    def __init__(self, password: bytes):
        self.k0, self.k1, self.k2 = 0x12345678, 0x23456789, 0x34567890
        for b in password:
            self.update(b)

    def update(self, b: int):
        self.k0 = _CRC_TABLE[(self.k0 ^ b) & 0xFF] ^ (self.k0 >> 8)
        self.k1 = (self.k1 + (self.k0 & 0xFF)) & 0xFFFFFFFF
        self.k1 = (self.k1 * 134775813 + 1) & 0xFFFFFFFF
        self.k2 = _CRC_TABLE[(self.k2 ^ (self.k1 >> 24)) & 0xFF] ^ (self.k2 >> 8)

    def stream_byte(self) -> int:
        t = (self.k2 | 2) & 0xFFFF
        return ((t * (t ^ 1)) >> 8) & 0xFF


def zipcrypto_encrypt(plain: bytes, password: bytes, crc: int, rng: random.Random) -> bytes:
    keys = _ZipCryptoKeys(password)
    header = bytes(rng.randrange(256) for _ in range(11)) + bytes([(crc >> 24) & 0xFF])
    out = bytearray()
    for b in header + plain:
        out.append(b ^ keys.stream_byte())
        keys.update(b)
    return bytes(out)


def _dos_datetime(dt=ZIP_DT):
    y, mo, d, h, mi, s = dt
    return (h << 11) | (mi << 5) | (s // 2), ((y - 1980) << 9) | (mo << 5) | d


def deflate_raw(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    return c.compress(data) + c.flush()


def zip_build(entries, comment: bytes = b"", password: bytes | None = None, rng=None) -> bytes:
    """entries: (name, data) or (name, data, opts); name str (UTF-8 flag if not ASCII) or
    bytes (written as is, no flag: the CP932 names of Japanese Windows)."""
    dtime, ddate = _dos_datetime()
    local, central = b"", b""
    for e in entries:
        name, data = e[0], e[1]
        opts = e[2] if len(e) > 2 else {}
        flags = 0
        if isinstance(name, str):
            try:
                nb = name.encode("ascii")
            except UnicodeEncodeError:
                nb = name.encode("utf-8")
                flags |= 0x800
        else:
            nb = name
        method = opts.get("method", 8)
        crc = zlib.crc32(data) & 0xFFFFFFFF
        comp = deflate_raw(data) if method == 8 else data
        pw = opts.get("password", password)
        if pw is not None:
            flags |= 1
            comp = zipcrypto_encrypt(comp, pw, crc, rng)
        ecomment = opts.get("comment", b"")
        offset = len(local)
        local += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, method, dtime, ddate,
                             crc, len(comp), len(data), len(nb), 0) + nb + comp
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, flags, method, dtime,
                               ddate, crc, len(comp), len(data), len(nb), 0, len(ecomment), 0,
                               0, 0x20, offset) + nb + ecomment
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central),
                       len(local), len(comment)) + comment
    return local + central + eocd


# ---- tar and friends ----------------------------------------------------------------------


def tar_build(files) -> bytes:
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, data in files:
            ti = tarfile.TarInfo(name)
            ti.size, ti.mtime, ti.mode = len(data), MTIME, 0o644
            ti.uid = ti.gid = 1000
            ti.uname = ti.gname = "yamada"
            tf.addfile(ti, io.BytesIO(data))
    return bio.getvalue()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


# ---- PNG, JPEG, WAV -----------------------------------------------------------------------


def png_chunk(ctype: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data) & 0xFFFFFFFF)


def png_build(w=16, h=16, seed=0, chunks_before_idat=()) -> bytes:
    raw = b""
    for y in range(h):
        raw += b"\x00"
        for x in range(w):
            raw += bytes(((x * 16 + seed * 37) & 0xFF, (y * 16 + seed * 11) & 0xFF, ((x + y) * 8 + 64) & 0xFF))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    out = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
    for c in chunks_before_idat:
        out += c
    out += png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b"")
    return out


def _huffman_codes(bits, vals):
    codes, code, k = {}, 0, 0
    for length in range(1, 17):
        for _ in range(bits[length - 1]):
            codes[vals[k]] = format(code, "0%db" % length)
            code += 1
            k += 1
        code <<= 1
    return codes


def jpeg_build(w=32, h=32, seed=0, com: bytes | None = None) -> bytes:
    """A baseline greyscale JFIF, one flat grey level per 8x8 block (DC only)."""

    def seg(marker, payload):
        return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload

    dc_bits = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    dc_vals = list(range(12))
    ac_bits = [1] + [0] * 15
    ac_vals = [0x00]  # only EOB
    out = b"\xff\xd8" + seg(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    if com is not None:
        out += seg(0xFE, com)
    out += seg(0xDB, b"\x00" + bytes([8] * 64))
    out += seg(0xC0, struct.pack(">BHHB", 8, h, w, 1) + b"\x01\x11\x00")
    out += seg(0xC4, b"\x00" + bytes(dc_bits) + bytes(dc_vals) + b"\x10" + bytes(ac_bits) + bytes(ac_vals))
    out += seg(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    dc_codes = _huffman_codes(dc_bits, dc_vals)
    eob = _huffman_codes(ac_bits, ac_vals)[0]
    bits, pred = [], 0
    for by in range(h // 8):
        for bx in range(w // 8):
            level = (bx * 40 + by * 25 + seed * 17) % 200 + 20
            dc = level - 128
            diff, pred = dc - pred, dc
            cat = abs(diff).bit_length()
            bits.append(dc_codes[cat])
            if cat:
                bits.append(format(diff if diff > 0 else diff + (1 << cat) - 1, "0%db" % cat))
            bits.append(eob)
    s = "".join(bits)
    s += "1" * (-len(s) % 8)
    data = bytearray()
    for i in range(0, len(s), 8):
        b = int(s[i:i + 8], 2)
        data.append(b)
        if b == 0xFF:
            data.append(0)
    return out + bytes(data) + b"\xff\xd9"


def wav_build(samples=1600, info: dict | None = None) -> bytes:
    pcm = bytearray()
    for i in range(samples):  # a triangle wave, integer arithmetic only
        t = (i * 7) % 40
        v = (t if t < 20 else 40 - t) * 1200 - 12000
        pcm += struct.pack("<h", v)
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt
    if info:
        sub = b""
        for k, v in info.items():
            v = v + b"\x00"
            if len(v) % 2:
                v += b"\x00"
            sub += k + struct.pack("<I", len(v)) + v
        lst = b"INFO" + sub
        chunks += b"LIST" + struct.pack("<I", len(lst)) + lst
    chunks += b"data" + struct.pack("<I", len(pcm)) + bytes(pcm)
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


# ---- PDF (optionally with the standard security handler, RC4 40-bit, R2) -----------------

PDF_PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")


def rc4(key: bytes, data: bytes) -> bytes:
    s = list(range(256))
    j = 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) & 0xFF
        s[i], s[j] = s[j], s[i]
    out = bytearray()
    i = j = 0
    for b in data:
        i = (i + 1) & 0xFF
        j = (j + s[i]) & 0xFF
        s[i], s[j] = s[j], s[i]
        out.append(b ^ s[(s[i] + s[j]) & 0xFF])
    return bytes(out)


def pdf_build(content: bytes, title: str = "Document", encrypt: dict | None = None) -> bytes:
    """One page, Helvetica, a FlateDecode content stream. encrypt = {user, owner, id}."""
    key = None
    file_id = hashlib.md5(title.encode()).digest()
    if encrypt:
        pad = lambda pw: (pw + PDF_PAD)[:32]
        o = rc4(hashlib.md5(pad(encrypt["owner"])).digest()[:5], pad(encrypt["user"]))
        p = -44
        key = hashlib.md5(pad(encrypt["user"]) + o + struct.pack("<i", p) + file_id).digest()[:5]
        u = rc4(key, PDF_PAD)

    def crypt(num, data):
        if key is None:
            return data
        k = hashlib.md5(key + num.to_bytes(3, "little") + b"\x00\x00").digest()[:10]
        return rc4(k, data)

    stream = crypt(5, zlib.compress(content, 9))
    title_hex = crypt(6, title.encode("latin-1")).hex().upper().encode()
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Title <" + title_hex + b"> /Producer (Mamori corpus) >>",
    ]
    if encrypt:
        objs.append(b"<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P -44 >>" % (o.hex().upper().encode(), u.hex().upper().encode()))
    out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    trailer = b"<< /Size %d /Root 1 0 R /Info 6 0 R" % (len(objs) + 1)
    if encrypt:
        trailer += b" /Encrypt 7 0 R"
    trailer += b" /ID [<%s> <%s>] >>" % (file_id.hex().upper().encode(), file_id.hex().upper().encode())
    out += b"trailer\n" + trailer + b"\nstartxref\n%d\n%%%%EOF\n" % xref
    return out


def pdf_text_ops(lines) -> bytes:
    """lines: bytes of ready-made text operators, or plain ASCII str shown with Tj."""
    ops = [b"BT /F1 12 Tf 72 780 Td 16 TL"]
    for ln in lines:
        if isinstance(ln, str):
            esc = ln.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(b"(" + esc.encode("latin-1") + b") Tj T*")
        else:
            ops.append(ln + b" T*")
    ops.append(b"ET")
    return b"\n".join(ops) + b"\n"


# ---- 7z (LZMA) and RAR5 (stored) ----------------------------------------------------------


def _7z_num(v: int) -> bytes:
    for n in range(0, 9):
        if n == 8 or v < (1 << (8 * n + (7 - n))):
            high = (v >> (8 * n)) if n < 8 else 0
            first = ((0xFF00 >> n) & 0xFF) | high
            return bytes([first]) + (v & ((1 << (8 * n)) - 1)).to_bytes(n, "little")
    raise AssertionError


def sevenzip_build(name: str, data: bytes) -> bytes:
    dict_size = 1 << 16
    packed = lzma.compress(data, format=lzma.FORMAT_RAW, filters=[
        {"id": lzma.FILTER_LZMA1, "dict_size": dict_size, "lc": 3, "lp": 0, "pb": 2}])
    props = bytes([(2 * 5 + 0) * 9 + 3]) + struct.pack("<I", dict_size)
    crc = zlib.crc32(data) & 0xFFFFFFFF
    n = _7z_num
    names = name.encode("utf-16-le") + b"\x00\x00"
    header = (
        b"\x01"  # Header
        + b"\x04"  # MainStreamsInfo
        + b"\x06" + n(0) + n(1) + b"\x09" + n(len(packed)) + b"\x00"  # PackInfo
        + b"\x07" + b"\x0b" + n(1) + b"\x00"  # UnPackInfo, Folder, 1 folder, not external
        + n(1) + b"\x23" + b"\x03\x01\x01" + n(len(props)) + props  # 1 coder: LZMA + props
        + b"\x0c" + n(len(data))  # CodersUnPackSize
        + b"\x0a\x01" + struct.pack("<I", crc)  # CRC, all defined
        + b"\x00"  # end UnPackInfo
        + b"\x08\x00"  # SubStreamsInfo (one stream per folder)
        + b"\x00"  # end MainStreamsInfo
        + b"\x05" + n(1)  # FilesInfo, 1 file
        + b"\x11" + n(len(names) + 1) + b"\x00" + names  # Names
        + b"\x00"  # end FilesInfo
        + b"\x00"  # end Header
    )
    start = struct.pack("<QQI", len(packed), len(header), zlib.crc32(header) & 0xFFFFFFFF)
    sig = b"7z\xbc\xaf\x27\x1c\x00\x04" + struct.pack("<I", zlib.crc32(start) & 0xFFFFFFFF) + start
    return sig + packed + header


def _vint(v: int) -> bytes:
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def _rar5_block(htype: int, hflags: int, body: bytes, data_size: int | None = None) -> bytes:
    fields = _vint(htype) + _vint(hflags)
    if data_size is not None:
        fields += _vint(data_size)
    fields += body
    sized = _vint(len(fields)) + fields
    return struct.pack("<I", zlib.crc32(sized) & 0xFFFFFFFF) + sized


def rar5_build(name: str, data: bytes) -> bytes:
    main = _rar5_block(1, 0, _vint(0))
    nb = name.encode("utf-8")
    fbody = (_vint(0x0006) + _vint(len(data)) + _vint(0x20) + struct.pack("<I", MTIME)
             + struct.pack("<I", zlib.crc32(data) & 0xFFFFFFFF) + _vint(0) + _vint(0)
             + _vint(len(nb)) + nb)
    fhead = _rar5_block(2, 0x0002, fbody, data_size=len(data))
    end = _rar5_block(5, 0, _vint(0))
    return b"Rar!\x1a\x07\x01\x00" + main + fhead + data + end


# ---- OOXML (DOCX, XLSX) and RTF -----------------------------------------------------------

XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
REL_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
REL_CORE = "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties"


def xesc(s: str) -> str:
    return html.escape(s, quote=True)


def core_xml(title: str, creator: str) -> bytes:
    return (XML_HEAD + '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            "<dc:title>%s</dc:title><dc:creator>%s</dc:creator></cp:coreProperties>" % (xesc(title), xesc(creator))).encode()


def xlsx_build(sheets, title="Book1") -> bytes:
    """sheets: list of (name, rows, hidden); rows: {row: [(col, kind, value)]};
    kind 's' text, 'n' number shown with format "0", 'raw' the <v> text as given."""
    sst: list[str] = []
    index: dict[str, int] = {}

    def si(v):
        if v not in index:
            index[v] = len(sst)
            sst.append(v)
        return index[v]

    files = []
    for k, (name, rows, hidden) in enumerate(sheets, 1):
        xml = [XML_HEAD, '<worksheet xmlns="%s"><sheetData>' % NS_MAIN]
        for r in sorted(rows):
            xml.append('<row r="%d">' % r)
            for col, kind, value in rows[r]:
                ref = "%s%d" % (col, r)
                if kind == "s":
                    xml.append('<c r="%s" t="s"><v>%d</v></c>' % (ref, si(value)))
                elif kind == "n":
                    xml.append('<c r="%s" s="1"><v>%s</v></c>' % (ref, value))
                else:
                    xml.append('<c r="%s"><v>%s</v></c>' % (ref, value))
            xml.append("</row>")
        xml.append("</sheetData></worksheet>")
        files.append(("xl/worksheets/sheet%d.xml" % k, "".join(xml).encode()))
    wb = [XML_HEAD, '<workbook xmlns="%s" xmlns:r="%s"><sheets>' % (NS_MAIN, NS_R)]
    for k, (name, rows, hidden) in enumerate(sheets, 1):
        wb.append('<sheet name="%s" sheetId="%d"%s r:id="rId%d"/>' % (xesc(name), k, ' state="hidden"' if hidden else "", k))
    wb.append("</sheets></workbook>")
    rels = [XML_HEAD, '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">']
    for k in range(1, len(sheets) + 1):
        rels.append('<Relationship Id="rId%d" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet%d.xml"/>' % (k, k))
    rels.append('<Relationship Id="rId100" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>')
    rels.append('<Relationship Id="rId101" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>')
    rels.append("</Relationships>")
    sst_xml = XML_HEAD + '<sst xmlns="%s" count="%d" uniqueCount="%d">' % (NS_MAIN, len(sst), len(sst)) + "".join(
        "<si><t>%s</t></si>" % xesc(s) for s in sst) + "</sst>"
    styles = (XML_HEAD + '<styleSheet xmlns="%s"><fonts count="1"><font><sz val="11"/><name val="Yu Gothic"/></font></fonts>'
              '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
              '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
              '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
              '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
              '<xf numFmtId="1" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
              '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>' % NS_MAIN)
    ct = [XML_HEAD, '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
          '<Default Extension="xml" ContentType="application/xml"/>'
          '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>']
    for k in range(1, len(sheets) + 1):
        ct.append('<Override PartName="/xl/worksheets/sheet%d.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' % k)
    ct.append('<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
              '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
              '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/></Types>')
    root_rels = (XML_HEAD + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                 '<Relationship Id="rId1" Type="%s" Target="xl/workbook.xml"/>'
                 '<Relationship Id="rId2" Type="%s" Target="docProps/core.xml"/></Relationships>' % (REL_DOC, REL_CORE))
    entries = [("[Content_Types].xml", "".join(ct).encode()), ("_rels/.rels", root_rels.encode()),
               ("docProps/core.xml", core_xml(title, "somu")),
               ("xl/workbook.xml", "".join(wb).encode()), ("xl/_rels/workbook.xml.rels", "".join(rels).encode()),
               ("xl/styles.xml", styles.encode()), ("xl/sharedStrings.xml", sst_xml.encode())] + files
    return zip_build(entries)


def docx_build(paragraphs, title="文書", creator="somu") -> bytes:
    """paragraphs: list of lists of runs; a run is a str or raw XML bytes."""
    body = []
    for runs in paragraphs:
        body.append("<w:p>")
        for r in runs:
            if isinstance(r, bytes):
                body.append(r.decode())
            else:
                body.append('<w:r><w:t xml:space="preserve">%s</w:t></w:r>' % xesc(r))
        body.append("</w:p>")
    doc = XML_HEAD + '<w:document xmlns:w="%s"><w:body>%s<w:sectPr/></w:body></w:document>' % (NS_W, "".join(body))
    ct = (XML_HEAD + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
          '<Default Extension="xml" ContentType="application/xml"/>'
          '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
          '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/></Types>')
    rels = (XML_HEAD + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="%s" Target="word/document.xml"/>'
            '<Relationship Id="rId2" Type="%s" Target="docProps/core.xml"/></Relationships>' % (REL_DOC, REL_CORE))
    return zip_build([("[Content_Types].xml", ct.encode()), ("_rels/.rels", rels.encode()),
                      ("docProps/core.xml", core_xml(title, creator)), ("word/document.xml", doc.encode())])


def rtf_unicode(s: str) -> str:
    out = []
    for ch in s:
        cp = ord(ch)
        if cp < 128:
            out.append(ch)
        else:
            out.append("\\u%d?" % (cp - 65536 if cp > 32767 else cp))
    return "".join(out)


def rtf_hex(s: str, codec="cp932") -> str:
    return "".join("\\'%02x" % b for b in s.encode(codec))


# =========================================================================================
# Mail context
# =========================================================================================

NAMES = {
    "yamada": ("山田 花子", "yamada"), "sato": ("佐藤 健", "sato"), "suzuki": ("鈴木 一郎", "suzuki"),
    "takahashi": ("高橋 美咲", "takahashi"), "ito": ("伊藤 翔", "ito"),
}
RCPT = [("田中 誠", "tanaka"), ("中村 由美", "nakamura"), ("小林 直樹", "kobayashi"), ("加藤 優子", "kato")]


class Mail:
    def __init__(self, kind: str, idx: int, rng: random.Random):
        self.kind, self.idx, self.rng = kind, idx, rng
        sender = list(NAMES.values())[idx % len(NAMES)]
        rcpt = RCPT[idx % len(RCPT)]
        self.sender_name, self.sender_local = sender
        self.rcpt_name, self.rcpt_local = rcpt
        self.frm = "%s <%s@office.example.jp>" % (ew(self.sender_name), self.sender_local)
        self.to = "%s <%s@client.example.com>" % (ew(self.rcpt_name + "様"), self.rcpt_local)
        day = 1 if kind == "mails" else 2
        minute = 9 * 60 + idx
        self.date = "%s, %02d Apr 2024 %02d:%02d:00 +0900" % ("Mon" if day == 1 else "Tue", day, minute // 60, minute % 60)
        self.mid = "<%s-%02d.%d@office.example.jp>" % ("evasion" if kind == "mails" else "clean", idx, SEED)
        self.n = ""  # the key number of an evasion mail
        self.extras: list[str] = []

    def bnd(self, k=0) -> str:
        return "=_mamori_%s_%02d_%d" % (self.kind[0], self.idx, k)

    def greet(self) -> str:
        return "%s様\n\nいつもお世話になっております。\n株式会社オフィス 総務部の%sです。\n\n" % (
            self.rcpt_name.split()[0], self.sender_name.split()[0])

    def sign(self) -> str:
        return "\nよろしくお願いいたします。\n\n--\n%s\n株式会社オフィス 総務部\n" % self.sender_name

    def top(self, subject: str | None, extra=(), subject_raw: str | None = None, to: str | None = None) -> bytes:
        fields = [("From", self.frm), ("To", to or self.to)]
        if subject_raw is not None:
            fields.append(("Subject", subject_raw))
        elif subject is not None:
            fields.append(("Subject", ew(subject)))
        fields += [("Date", self.date), ("Message-ID", self.mid), ("MIME-Version", "1.0")] + list(extra)
        return hblock(fields)

    def wrap(self, subject, root: bytes, **kw) -> bytes:
        return self.top(subject, **kw) + root


def csv_employee(m: Mail, numbers: list[str], sep=",", quote=False, header=("社員番号", "電話番号", "個人番号")) -> str:
    phones = ["03-1234-5678", "090-2345-6789", "045-987-6543", "06-6543-2100"]
    rows = [list(header)]
    for i, n in enumerate(numbers):
        rows.append([str(1001 + i), phones[i % len(phones)], n])
    rows.append([str(1001 + len(numbers)), phones[len(numbers) % 4], ""])  # not yet handed in

    def cell(c):
        return '"%s"' % c if quote else c

    return "\n".join(sep.join(cell(c) for c in r) for r in rows) + "\n"


# =========================================================================================
# The evasion mails
# =========================================================================================

EVASIONS: list[dict] = []


def evasion(short, cls, desc, kind="my", **opts):
    def deco(fn):
        EVASIONS.append(dict(short=short, cls=cls, desc=desc, kind=kind, fn=fn, **opts))
        return fn
    return deco


def junk_fields(rng, count, width, prefix="X-Junk") -> list:
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return [("%s-%04d" % (prefix, i), "".join(rng.choice(letters) for _ in range(width))) for i in range(count)]


def csv_attachment_sjis(m: Mail, name="kojin_bango.csv", numbers=None, before=(), after=()):
    numbers = numbers or [m.n]
    data = enc(csv_employee(m, numbers), "shift_jis")
    return attachment(data, "text/csv; charset=Shift_JIS", name, before=before, after=after)


# ---- 1. header limits ---------------------------------------------------------------------


@evasion("part-header-300k-junk", "header-limit",
         "CSV attachment whose part header block has ~310 KB of X-Junk fields before its Content-Type/Disposition/CTE")
def _(m):
    junk = junk_fields(m.rng, 330, 940)
    body = text_entity(m.greet() + "新入社員の個人番号一覧をCSVで添付します。\nご確認ください。\n" + m.sign())
    att = csv_attachment_sjis(m, before=junk)
    return m.wrap("個人番号一覧の送付", multipart(m.bnd(), [body, att]))


@evasion("part-header-600-fields", "header-limit",
         "attachment part with 600 short header fields (over a 500-field limit) before its Content-Type")
def _(m):
    junk = [("X-Filler-%03d" % i, "ok") for i in range(600)]
    text = "マイナンバー控え\n氏名: 佐藤 健\nマイナンバー: %s\n" % grouped(m.n, sep=" ")
    att = attachment(enc(text, "utf-8"), "text/plain; charset=UTF-8", "memo.txt", before=junk)
    body = text_entity(m.greet() + "マイナンバーの控えを添付します。\n" + m.sign())
    return m.wrap("マイナンバー控え", multipart(m.bnd(), [body, att]))


@evasion("part-header-20k-folded", "header-limit",
         "one 20 KB X-Junk field, folded over 26 lines, before the Content-Type of a EUC-JP CSV attachment")
def _(m):
    letters = "abcdefghijklmnopqrstuvwxyz"
    folded = "\r\n ".join("".join(m.rng.choice(letters) for _ in range(780)) for _ in range(26))
    data = enc(csv_employee(m, [m.n]), "euc-jp")
    att = attachment(data, "text/csv; charset=EUC-JP", "shain.csv", before=[("X-Junk", folded)])
    body = text_entity(m.greet() + "社員の個人番号を添付ファイルでお送りします。\n" + m.sign())
    return m.wrap("社員情報", multipart(m.bnd(), [body, att]))


@evasion("boundary-after-20k-param", "header-limit",
         "nested multipart whose Content-Type carries 20 KB of RFC 2231 x-pad*N continuations before boundary=")
def _(m):
    letters = "abcdefghijklmnopqrstuvwxyz"
    pad = ";\r\n ".join('x-pad*%d="%s"' % (i, "".join(m.rng.choice(letters) for _ in range(700))) for i in range(29))
    inner_b = m.bnd(1)
    inner_parts = [csv_attachment_sjis(m, "meibo.csv")]
    inner = entity([("Content-Type", "multipart/mixed;\r\n %s;\r\n boundary=\"%s\"" % (pad, inner_b))], mp_body(inner_b, inner_parts))
    body = text_entity(m.greet() + "個人番号を含む名簿を添付します。\n" + m.sign())
    return m.wrap("名簿送付", multipart(m.bnd(), [body, inner]))


@evasion("filename-after-20k-disposition", "header-limit",
         "attachment whose Content-Disposition has 20 KB of x-pad*N parameters before filename*= holding 個人番号_<number>.pdf")
def _(m):
    letters = "abcdefghijklmnopqrstuvwxyz"
    pad = ";\r\n ".join('x-pad*%d="%s"' % (i, "".join(m.rng.choice(letters) for _ in range(700))) for i in range(29))
    cd = "; " + pad + ";\r\n filename*=UTF-8''%s" % pct("個人番号_%s.pdf" % m.n, "utf-8")
    data = pdf_build(pdf_text_ops(["See the file name."]), "Scan")
    return _name_mail(m, "書類", ("", cd), data=data)


@evasion("top-header-270k", "header-limit",
         "top-level header block of ~270 KB (X-Junk fields) with MIME-Version/Content-Type at its end; CSV attachment")
def _(m):
    junk = junk_fields(m.rng, 285, 950)
    body = text_entity(m.greet() + "個人番号の一覧です。\n" + m.sign())
    att = attachment(enc(csv_employee(m, [m.n]), "utf-8"), "text/csv; charset=UTF-8", "list.csv")
    b = m.bnd()
    top = hblock([("From", m.frm), ("To", m.to), ("Subject", ew("一覧")), ("Date", m.date), ("Message-ID", m.mid)] + junk
                 + [("MIME-Version", "1.0"), ("Content-Type", 'multipart/mixed; boundary="%s"' % b)])
    return top + CRLF + mp_body(b, [body, att])


@evasion("subject-20k-number-at-end", "header-limit",
         "Subject of ~20 KB (folded encoded words); the My Number and its label are in the last words")
def _(m):
    filler = "【ご確認のお願い】" + "書類の確認をお願いします。" * 300
    words = ew(filler, "UTF-8", chunk=12) + "\r\n " + ew("個人番号 %s" % m.n, "UTF-8", chunk=30)
    body = text_entity(m.greet() + "件名の通りです。\n" + m.sign())
    return m.wrap(None, body, subject_raw=words)


# ---- 2. tar family ------------------------------------------------------------------------


def _tar_mail(m, subject, payload, ctype, fname, inner_name, note):
    body = text_entity(m.greet() + note + m.sign())
    return m.wrap(subject, multipart(m.bnd(), [body, attachment(payload, ctype, fname)]))


@evasion("tar-gz-csv", "tar", ".tar.gz (application/gzip) holding a UTF-8-with-BOM CSV with 個人番号")
def _(m):
    csvb = b"\xef\xbb\xbf" + enc(csv_employee(m, [m.n]), "utf-8")
    return _tar_mail(m, "名簿アーカイブ", gz(tar_build([("meibo/kojin_bango.csv", csvb)])), "application/gzip",
                     "meibo.tar.gz", "", "個人番号入りの名簿を圧縮して送ります。\n")


@evasion("tar-plain-cp932", "tar", "plain .tar (application/x-tar) holding a CP932 CSV named 個人番号一覧.csv (PAX UTF-8 name)")
def _(m):
    payload = tar_build([("個人番号一覧.csv", enc(csv_employee(m, [m.n]), "shift_jis"))])
    return _tar_mail(m, "一覧", payload, "application/x-tar", "ichiran.tar", "", "一覧をtarでまとめました。\n")


@evasion("tgz-tsv", "tar", ".tgz sent as application/octet-stream holding a TSV with マイナンバー")
def _(m):
    tsv = enc(csv_employee(m, [m.n], sep="\t", header=("社員番号", "電話番号", "マイナンバー")), "utf-8")
    return _tar_mail(m, "データ", gz(tar_build([("data/staff.tsv", tsv)])), "application/octet-stream", "staff.tgz", "",
                     "マイナンバーのデータです。\n")


@evasion("tar-bz2-eucjp", "tar", ".tar.bz2 holding a EUC-JP CSV with 個人番号")
def _(m):
    payload = bz2.compress(tar_build([("shain.csv", enc(csv_employee(m, [m.n]), "euc-jp"))]), 9)
    return _tar_mail(m, "社員データ", payload, "application/x-bzip2", "shain.tar.bz2", "", "社員の個人番号データです。\n")


@evasion("tar-xz-card", "tar", ".tar.xz holding a CSV of カード番号 (card number)", kind="card", card_prefix="4")
def _(m):
    data = enc("氏名,カード番号,有効期限\n山田 太郎,%s,12/27\n" % grouped(m.n, (4, 4, 4, 4), "-"), "utf-8")
    payload = lzma.compress(tar_build([("cards.csv", data)]), format=lzma.FORMAT_XZ, preset=6)
    return _tar_mail(m, "法人カード", payload, "application/x-xz", "cards.tar.xz", "", "法人カードのカード番号一覧です。\n")


@evasion("csv-gz-single", "tar", "a single gzip-compressed CSV (kojin.csv.gz), no tar")
def _(m):
    payload = gz(enc(csv_employee(m, [m.n]), "shift_jis"))
    return _tar_mail(m, "個人番号", payload, "application/gzip", "kojin.csv.gz", "", "個人番号の一覧（gzip）です。\n")


# ---- 3. content sniffing --------------------------------------------------------------------


@evasion("csv-one-nul", "sniff", "CP932 CSV attachment with one NUL byte after its header line")
def _(m):
    data = enc(csv_employee(m, [m.n]), "shift_jis")
    i = data.index(b"\r\n") + 2
    data = data[:i] + b"\x00" + data[i:]
    body = text_entity(m.greet() + "個人番号のCSVです。\n" + m.sign())
    return m.wrap("CSV送付", multipart(m.bnd(), [body, attachment(data, "text/csv", "kojin.csv")]))


@evasion("csv-png-signature", "sniff", "CSV (.csv, text/csv) whose first 8 bytes are the PNG signature")
def _(m):
    data = b"\x89PNG\r\n\x1a\n" + enc(csv_employee(m, [m.n]), "shift_jis")
    body = text_entity(m.greet() + "個人番号一覧です。\n" + m.sign())
    return m.wrap("一覧", multipart(m.bnd(), [body, attachment(data, "text/csv", "ichiran.csv")]))


@evasion("csv-declared-image-png", "sniff", "CSV with 個人番号 declared Content-Type image/png but filename meibo.csv")
def _(m):
    data = enc(csv_employee(m, [m.n]), "utf-8")
    body = text_entity(m.greet() + "名簿を添付します（個人番号あり）。\n" + m.sign())
    return m.wrap("名簿", multipart(m.bnd(), [body, attachment(data, "image/png", "meibo.csv")]))


# ---- 4. media signatures inside ZIP entries -------------------------------------------------


def _zip_mail(m, subject, entries, fname="shiryou.zip", note="資料をZIPで送ります。\n", **kw):
    body = text_entity(m.greet() + note + m.sign())
    return m.wrap(subject, multipart(m.bnd(), [body, attachment(zip_build(entries, **kw), "application/zip", fname)]))


@evasion("zip-entry-jpeg-magic", "zip-magic", "ZIP entry meibo.csv whose bytes start with FF D8 FF (JPEG SOI) then CSV text")
def _(m):
    data = b"\xff\xd8\xff\xe0" + b"\r\n" + enc(csv_employee(m, [m.n]), "shift_jis")
    return _zip_mail(m, "名簿", [("meibo.csv", data)], note="個人番号入りの名簿です。\n")


@evasion("zip-entry-id3-magic", "zip-magic", "ZIP entry list.csv that starts with 'ID3' (MP3 tag signature) then CSV text")
def _(m):
    data = b"ID3\x03\x00\x00\x00\x00\x00\x00," + b"\r\n" + enc(csv_employee(m, [m.n]), "utf-8")
    return _zip_mail(m, "リスト", [("list.csv", data)], note="マイナンバーのリストです。\n")


@evasion("zip-entry-riff-magic", "zip-magic", "ZIP entry data.csv that starts with 'RIFF....WAVE' then CSV text")
def _(m):
    data = b"RIFF\x24\x00\x00\x00WAVEfmt ," + b"\r\n" + enc(csv_employee(m, [m.n]), "shift_jis")
    return _zip_mail(m, "データ", [("data.csv", data)], note="個人番号のデータです。\n")


@evasion("zip-photo-jpg-is-text", "zip-magic", "ZIP entry named photo.jpg that is really plain text with 個人番号")
def _(m):
    text = "山田 太郎\n個人番号: %s\n" % m.n
    return _zip_mail(m, "写真", [("photo.jpg", enc(text, "shift_jis"))], note="写真を送ります（拡張子を変えて開いてください）。\n")


# ---- 5. boundaries ------------------------------------------------------------------------


def _boundary_mail(m, boundary, subject):
    body = text_entity(m.greet() + "個人番号を次のパートに記載します。\n" + m.sign())
    part = text_entity("個人番号: %s\n" % m.n, "Shift_JIS")
    return m.wrap(subject, entity([("Content-Type", 'multipart/mixed;\r\n boundary="%s"' % boundary)], mp_body(boundary, [body, part])))


@evasion("boundary-300-bytes", "boundary", "multipart with a 300-byte boundary (RFC 2046 allows 70)")
def _(m):
    b = "".join(m.rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(300))
    return _boundary_mail(m, b, "長い区切り")


@evasion("boundary-70-chars", "boundary", "multipart with a boundary of exactly 70 characters")
def _(m):
    b = ("=_" + "".join(m.rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(68)))
    assert len(b) == 70
    return _boundary_mail(m, b, "区切り70")


@evasion("boundary-200-specials", "boundary", "quoted 200-char boundary made of every RFC 2046 bchar: ' ( ) + _ , - . / : = ? and spaces")
def _(m):
    unit = "'()+_,-./:=? ab"
    b = (unit * 14)[:199] + "Z"
    assert len(b) == 200 and b[-1] != " "
    return _boundary_mail(m, b, "特殊区切り")


# ---- 6. file names ------------------------------------------------------------------------


def _name_mail(m, subject, fname_params, data=None, ctype="application/pdf", note=None):
    if data is None:
        data = pdf_build(pdf_text_ops(["See the file name."]), "Scan")
    body = text_entity(m.greet() + (note or "ファイル名に個人番号を入れておきました。\n") + m.sign())
    return m.wrap(subject, multipart(m.bnd(), [body, attachment(data, ctype, fname_params)]))


@evasion("filename-plain-hyphens", "filename", "attachment file name yamada-1234-5678-9018.pdf style (ASCII, hyphen groups)")
def _(m):
    return _name_mail(m, "スキャン", "yamada-%s.pdf" % grouped(m.n))


@evasion("filename-rfc2047", "filename", "file name 山田_<number>.pdf as RFC 2047 ISO-2022-JP encoded words in name= and filename=")
def _(m):
    return _name_mail(m, "書類", jp_name_params("山田_%s.pdf" % m.n))


@evasion("filename-rfc2231-sjis", "filename", "file name 個人番号_山田_<number>.txt as RFC 2231 filename*=Shift_JIS''%..")
def _(m):
    v = pct("個人番号_山田_%s.txt" % m.n, "cp932")
    params = ("; name*=Shift_JIS''%s" % v, "; filename*=Shift_JIS''%s" % v)
    return _name_mail(m, "控え", params, data=enc("控え\n", "shift_jis"), ctype="text/plain")


@evasion("filename-rfc2231-utf8-card", "filename", "file name カード番号_<card>.pdf as RFC 2231 filename*=UTF-8''", kind="card", card_prefix="35")
def _(m):
    v = pct("カード番号_%s.pdf" % m.n, "utf-8")
    return _name_mail(m, "カード控え", ("; name*=UTF-8''%s" % v, "; filename*=UTF-8''%s" % v), note="カード番号はファイル名の通りです。\n")


@evasion("filename-raw-utf8", "filename", "file name 山田_<number>.xlsx as raw 8-bit UTF-8 in the quoted parameter (as Gmail sends)")
def _(m):
    name = "山田_%s.xlsx" % m.n
    data = xlsx_build([("Sheet1", {1: [("A", "s", "別紙参照")]}, False)])
    raw = name.encode("utf-8")
    fields = [("Content-Type", b'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet; name="' + raw + b'"'),
              ("Content-Disposition", b'attachment; filename="' + raw + b'"'), ("Content-Transfer-Encoding", "base64")]
    body = text_entity(m.greet() + "個人番号はファイル名に記載しました。\n" + m.sign(), "UTF-8", "8bit")
    return m.wrap("書類", multipart(m.bnd(), [body, entity(fields, b64(data))]))


@evasion("zip-entry-name-cp932", "filename", "ZIP entry named 個人番号_山田太郎_<number>.txt in CP932 without the UTF-8 flag")
def _(m):
    name = ("個人番号_山田太郎_%s.txt" % m.n).encode("cp932")
    return _zip_mail(m, "書類一式", [(name, enc("提出書類\n", "shift_jis"))], note="ZIPの中のファイル名をご確認ください。\n")


@evasion("zip-entry-name-utf8", "filename", "ZIP entry named マイナンバー/<number>_鈴木.pdf in UTF-8 (flag bit 11)")
def _(m):
    name = "マイナンバー/%s_鈴木.pdf" % m.n
    return _zip_mail(m, "書類", [(name, pdf_build(pdf_text_ops(["Scan"]), "Scan"))], note="マイナンバーの書類です。\n")


# ---- 7. the employee master ----------------------------------------------------------------


def _csv_mail(m, subject, data, ctype, fname, note="社員マスタを添付します。\n"):
    body = text_entity(m.greet() + note + m.sign())
    return m.wrap(subject, multipart(m.bnd(), [body, attachment(data, ctype, fname)]))


@evasion("csv-utf8-bom", "employee-csv", "employee master CSV 社員番号,電話番号,個人番号 in UTF-8 with BOM, numeric neighbour fields", extras=1)
def _(m):
    data = b"\xef\xbb\xbf" + enc(csv_employee(m, [m.n] + m.extras), "utf-8")
    return _csv_mail(m, "社員マスタ", data, "text/csv; charset=UTF-8", "shain_master.csv")


@evasion("csv-cp932-quoted", "employee-csv", "employee master in CP932, every field quoted, with 氏名 and 年収 \"5,400,000\" columns", extras=1)
def _(m):
    rows = ['"社員番号","氏名","電話番号","個人番号","年収"']
    rows.append('"1001","山田 太郎","03-1234-5678","%s","5,400,000"' % m.n)
    rows.append('"1002","佐藤 花子","090-2345-6789","%s","4,850,000"' % m.extras[0])
    data = enc("\n".join(rows) + "\n", "shift_jis")
    return _csv_mail(m, "社員マスタ", data, "text/csv", "master.csv")


@evasion("tsv-cp932", "employee-csv", "employee master as a tab-separated file in CP932 (.tsv)")
def _(m):
    data = enc(csv_employee(m, [m.n], sep="\t"), "shift_jis")
    return _csv_mail(m, "マスタ", data, "text/tab-separated-values", "master.tsv")


@evasion("utf16le-bom-unicode-text", "employee-csv", "Excel 'Unicode text' export: UTF-16LE with BOM, tab-separated, .txt")
def _(m):
    data = b"\xff\xfe" + crlf(csv_employee(m, [m.n], sep="\t")).encode("utf-16-le")
    return _csv_mail(m, "エクスポート", data, "text/plain", "export.txt")


@evasion("utf16le-no-bom", "employee-csv", "employee master in UTF-16LE without BOM, comma-separated, application/octet-stream")
def _(m):
    data = crlf(csv_employee(m, [m.n])).encode("utf-16-le")
    return _csv_mail(m, "エクスポート", data, "application/octet-stream", "export.csv")


@evasion("fixed-width-eucjp", "employee-csv", "fixed-width columns (社員番号 電話番号 個人番号) in EUC-JP, columns separated by single spaces")
def _(m):
    lines = ["社員番号 電話番号       個人番号    ", "1001     0312345678     %s" % m.n, "1002     09023456789    ", ""]
    return _csv_mail(m, "固定長", enc("\n".join(lines), "euc-jp"), "text/plain; charset=EUC-JP", "kotei.dat")


@evasion("csv-thousands-separators", "employee-csv", "CSV where 個人番号 sits between quoted amounts \"1,234,567\" and unquoted numeric fields")
def _(m):
    rows = ["社員番号,基本給,個人番号,賞与,扶養",
            '1001,"1,234,567",%s,"2,345,678",2' % m.n,
            '1002,"987,654",,"1,200,000",0']
    return _csv_mail(m, "給与データ", enc("\n".join(rows) + "\n", "utf-8"), "text/csv", "kyuyo.csv", "給与と個人番号のデータです。\n")


@evasion("csv-utf32-bom", "employee-csv", "employee master CSV in UTF-32 with BOM")
def _(m):
    data = crlf(csv_employee(m, [m.n])).encode("utf-32")  # with BOM (little-endian)
    return _csv_mail(m, "マスタ", data, "text/csv", "master32.csv")


# ---- 8. decoys that use up the alternatives budget ---------------------------------------


def _decoy_dup_parts(m, count=12):
    parts = []
    for i in range(count):
        txt = "議事録 第%d回 定例会議（参考資料）\n" % (i + 1)
        fields = [("Content-Type", "text/plain; charset=UTF-8"),
                  ("Content-Type", 'application/octet-stream; name="sanko%02d.bin"' % i),
                  ("Content-Transfer-Encoding", "base64"),
                  ("Content-Transfer-Encoding", "quoted-printable")]
        parts.append(entity(fields, b64(txt.encode("utf-8"))))
    return parts


@evasion("dup-headers-first-reading", "decoy-budget",
         "12 decoy parts with duplicate differing Content-Type/CTE, then a part whose FIRST Content-Type/CTE (text/plain, base64) reveal 個人番号")
def _(m):
    parts = [text_entity(m.greet() + "資料一式です。\n" + m.sign())] + _decoy_dup_parts(m)
    fields = [("Content-Type", "text/plain; charset=UTF-8"),
              ("Content-Type", 'application/octet-stream; name="final-%02d.dat"' % m.idx),
              ("Content-Transfer-Encoding", "base64"),
              ("Content-Transfer-Encoding", "7bit")]
    parts.append(entity(fields, b64(("個人番号: %s\n" % m.n).encode("utf-8"))))
    return m.wrap("資料一式", multipart(m.bnd(), parts))


@evasion("dup-headers-last-reading", "decoy-budget",
         "12 decoy parts, then a part whose LAST Content-Type/CTE (text/plain, base64) reveal 個人番号 (first ones show only base64 text)",
         reading="last-header")
def _(m):
    parts = [text_entity(m.greet() + "資料一式です。\n" + m.sign())] + _decoy_dup_parts(m)
    first_ct = ("Content-Type", 'application/octet-stream; name="final-%02d.dat"' % m.idx)
    first_cte = ("Content-Transfer-Encoding", "7bit")
    fields = [first_ct, ("Content-Type", "text/plain; charset=UTF-8"), first_cte, ("Content-Transfer-Encoding", "base64")]
    parts.append(entity(fields, b64(("個人番号: %s\n" % m.n).encode("utf-8"))))
    raw = m.wrap("資料一式", multipart(m.bnd(), parts))
    # The other reading: a client that takes the last of each duplicated field.
    strip = [hblock([first_ct]), hblock([first_cte])]
    return raw, {"alt": lambda r: _remove_last_occurrences(r, strip)}


def _remove_last_occurrences(raw: bytes, needles) -> bytes:
    for nd in needles:
        i = raw.rindex(nd)
        raw = raw[:i] + raw[i + len(nd):]
    return raw


def _two_boundary_decoys(m, count=12):
    parts = []
    for i in range(count):
        a, b = "=_d%02d_a_%02d" % (m.idx, i), "=_d%02d_b_%02d" % (m.idx, i)
        inner = mp_body(a, [text_entity("参考資料 %d（A）\n" % i, "UTF-8")]) + mp_body(b, [text_entity("参考資料 %d（B）\n" % i, "UTF-8")])
        parts.append(entity([("Content-Type", 'multipart/mixed; boundary="%s"; boundary="%s"' % (a, b))], inner))
    return parts


@evasion("two-boundaries-first", "decoy-budget",
         "12 decoy multiparts with two boundary= parameters, then one whose FIRST boundary holds the 個人番号 part")
def _(m):
    a, b = "=_real_%02d_first" % m.idx, "=_real_%02d_second" % m.idx
    inner = mp_body(a, [text_entity("個人番号: %s\n" % m.n, "UTF-8")]) + mp_body(b, [text_entity("（空）\n", "UTF-8")])
    ambiguous = entity([("Content-Type", 'multipart/mixed; boundary="%s"; boundary="%s"' % (a, b))], inner)
    parts = [text_entity(m.greet() + "資料です。\n" + m.sign())] + _two_boundary_decoys(m) + [ambiguous]
    return m.wrap("資料", multipart(m.bnd(), parts))


@evasion("two-boundaries-second", "decoy-budget",
         "12 decoy multiparts with two boundary= parameters, then one whose SECOND boundary holds the 個人番号 part",
         reading="second-boundary")
def _(m):
    a, b = "=_real_%02d_first" % m.idx, "=_real_%02d_second" % m.idx
    inner = mp_body(a, [text_entity("（空）\n", "UTF-8")]) + mp_body(b, [text_entity("個人番号: %s\n" % m.n, "UTF-8")])
    param = ('boundary="%s"; ' % a).encode()
    ambiguous = entity([("Content-Type", 'multipart/mixed; boundary="%s"; boundary="%s"' % (a, b))], inner)
    parts = [text_entity(m.greet() + "資料です。\n" + m.sign())] + _two_boundary_decoys(m) + [ambiguous]
    raw = m.wrap("資料", multipart(m.bnd(), parts))
    return raw, {"alt": lambda r: r.replace(param, b"", 1)}


# ---- 9. transfer encodings -----------------------------------------------------------------


def _qp_split_number(n: str, label: str) -> bytes:
    line = (label + "：").encode("utf-8")
    enc_label = binascii.b2a_qp(line)
    digits = "".join("=%02X" % ord(c) if i % 3 == 0 else c for i, c in enumerate(n))
    # soft line break after every 4th character of the encoded digits
    pieces, cur, count = [], "", 0
    for tok in re.findall(r"=[0-9A-F]{2}|.", digits):
        cur += tok
        count += 1
        if count % 4 == 0:
            pieces.append(cur)
            cur = ""
    if cur:
        pieces.append(cur)
    return enc_label + b"=\r\n" + "=\r\n".join(pieces).encode() + CRLF


@evasion("qp-soft-breaks-in-number", "transfer-encoding", "quoted-printable UTF-8 body: the number cut by soft line breaks every 4 digits, some digits as =3X")
def _(m):
    body = qp(enc(m.greet() + "山田さんの個人番号をお知らせします。\n", "utf-8")) + CRLF + _qp_split_number(m.n, "個人番号") + qp(enc(m.sign(), "utf-8"))
    return m.wrap("個人番号", entity([("Content-Type", "text/plain; charset=UTF-8"), ("Content-Transfer-Encoding", "quoted-printable")], body))


@evasion("qp-soft-breaks-card", "transfer-encoding", "quoted-printable Shift_JIS body with a カード番号 cut by soft line breaks", kind="card", card_prefix="53")
def _(m):
    head = qp(enc(m.greet() + "お支払いに使うカード番号です。\n", "shift_jis"))
    label = binascii.b2a_qp("カード番号：".encode("cp932"))
    digits = "=\r\n".join(m.n[i:i + 3] for i in range(0, 16, 3)).encode()
    body = head + CRLF + label + b"=\r\n" + digits + CRLF + qp(enc("有効期限 09/28\n" + m.sign(), "shift_jis"))
    return m.wrap("カード", entity([("Content-Type", "text/plain; charset=Shift_JIS"), ("Content-Transfer-Encoding", "quoted-printable")], body))


@evasion("base64-whitespace-garbage", "transfer-encoding", "base64 body with spaces, tabs, odd line lengths and non-alphabet junk (!*#) scattered in it")
def _(m):
    text = m.greet() + "マイナンバー：%s\n" % m.n + m.sign()
    s = base64.b64encode(enc(text, "utf-8")).decode()
    out, i = [], 0
    while i < len(s):
        step = m.rng.randint(5, 40)
        chunk = s[i:i + step]
        junk = m.rng.choice([" ", "\t", "!", "*", "#", "  ", " \t"])
        out.append(chunk + junk)
        if m.rng.random() < 0.3:
            out.append("\r\n")
        i += step
    body = "".join(out).encode()
    return m.wrap("マイナンバー", entity([("Content-Type", "text/plain; charset=UTF-8"), ("Content-Transfer-Encoding", "base64")], body))


@evasion("subject-split-encoded-words", "transfer-encoding",
         "Subject: number split over encoded words of three charsets (ISO-2022-JP B, UTF-8 Q, Shift_JIS B)")
def _(m):
    n = m.n
    subj = "%s %s\r\n %s" % (ew("個人番号 " + n[:4], "ISO-2022-JP", chunk=40), ewq(n[4:8], "UTF-8"), ew(n[8:] + " の件", "Shift_JIS", chunk=40))
    body = text_entity(m.greet() + "件名の番号をご確認ください。\n" + m.sign())
    return m.wrap(None, body, subject_raw=subj)


@evasion("uuencode-in-body", "transfer-encoding", "text/plain body carrying a uuencoded CSV block (begin 644 kojin.csv ... end)")
def _(m):
    data = enc(csv_employee(m, [m.n]), "shift_jis")
    lines = ["begin 644 kojin.csv"]
    for i in range(0, len(data), 45):
        lines.append(binascii.b2a_uu(data[i:i + 45]).decode().rstrip("\n"))
    lines += ["`", "end"]
    text = m.greet() + "個人番号一覧をuuencodeで貼り付けます。\n\n" + "\n".join(lines) + "\n" + m.sign()
    return m.wrap("一覧", text_entity(text, "ISO-2022-JP"))


@evasion("cte-x-uuencode", "transfer-encoding", "attachment with Content-Transfer-Encoding: x-uuencode (Thunderbird and Python decode it)")
def _(m):
    data = enc("個人番号,%s\n" % m.n, "shift_jis")
    uu = b"begin 644 kojin.txt\r\n" + binascii.b2a_uu(data).replace(b"\n", CRLF) + b"`\r\nend\r\n"
    att = attachment(uu, "text/plain; charset=Shift_JIS", "kojin.txt", cte="x-uuencode")
    body = text_entity(m.greet() + "個人番号の控えです。\n" + m.sign())
    return m.wrap("控え", multipart(m.bnd(), [body, att]))


@evasion("multipart-base64-encoded", "transfer-encoding", "a nested multipart/mixed whose own body is base64-encoded (CTE on a multipart)",
         reading="decoded-multipart")
def _(m):
    ib = m.bnd(1)
    inner = mp_body(ib, [text_entity("個人番号: %s\n" % m.n, "UTF-8", "8bit")])
    part = entity([("Content-Type", 'multipart/mixed; boundary="%s"' % ib), ("Content-Transfer-Encoding", "base64")], b64(inner))
    body = text_entity(m.greet() + "次のパートをご覧ください。\n" + m.sign())
    raw = m.wrap("資料", multipart(m.bnd(), [body, part]))

    def alt(r):  # what a client that decodes the multipart's base64 shows
        head, _, rest = r.partition(b'Content-Type: multipart/mixed; boundary="%s"\r\nContent-Transfer-Encoding: base64\r\n\r\n' % ib.encode())
        enc_body, _, tail = rest.partition(b"\r\n--" + m.bnd().encode())
        return head + b'Content-Type: multipart/mixed; boundary="%s"\r\n\r\n' % ib.encode() + base64.b64decode(enc_body) + b"\r\n--" + m.bnd().encode() + tail
    return raw, {"alt": alt}


# ---- 10. text tricks -------------------------------------------------------------------------


@evasion("fullwidth-iso2022jp", "text-tricks", "full-width digits joined by JIS minus signs (１２３４−…) in an ISO-2022-JP body")
def _(m):
    return m.wrap("番号", text_entity(m.greet() + "私の個人番号は%sです。\n" % fullwidth(grouped(m.n)).replace("－", "−") + m.sign()))


@evasion("ideographic-spaces-sjis", "text-tricks", "every digit separated by an ideographic space (U+3000), Shift_JIS 8bit body")
def _(m):
    spaced = "\u3000".join(fullwidth(m.n))
    return m.wrap("番号", text_entity(m.greet() + "マイナンバー：\n%s\n" % spaced + m.sign(), "Shift_JIS", "8bit"))


@evasion("html-char-refs-eucjp", "text-tricks", "HTML part (EUC-JP) writing the digits as &#x31; / &#50; / &#65297; character references")
def _(m):
    refs = []
    for i, c in enumerate(m.n):
        refs.append(["&#x%x;" % ord(c), "&#%d;" % ord(c), "&#%d;" % (ord(c) - 0x30 + 0xFF10)][i % 3])
    h = "<html><body><p>個人番号：%s</p></body></html>\n" % "".join(refs)
    alt = multipart(m.bnd(1), [text_entity(m.greet() + "HTML版をご覧ください。\n", "EUC-JP"),
                               text_entity(h, "EUC-JP", subtype="html")], subtype="alternative")
    return m.wrap("番号", alt)


@evasion("html-comment", "text-tricks", "number only inside an HTML comment (visible in the message source)")
def _(m):
    h = "<html><body><p>資料をお送りします。</p><!-- 個人番号 %s --></body></html>\n" % m.n
    return m.wrap("資料", text_entity(h, "UTF-8", subtype="html"))


@evasion("html-noscript", "text-tricks", "number inside <noscript> (mail clients run no script, so it is displayed)")
def _(m):
    h = "<html><body><script>document.write('')</script><noscript><p>マイナンバー：%s</p></noscript></body></html>\n" % grouped(m.n, sep=" ")
    return m.wrap("資料", text_entity(h, "ISO-2022-JP", subtype="html"))


@evasion("outlook-conditional-comment", "text-tricks", "number inside <!--[if mso]> … <![endif]--> (shown by Outlook only)")
def _(m):
    h = ("<html><body><p>いつもお世話になっております。</p>\n<!--[if mso]><p>個人番号：%s</p><![endif]-->\n"
         "<!--[if !mso]><!--><p>詳細は別途。</p><!--<![endif]--></body></html>\n" % m.n)
    return m.wrap("ご連絡", text_entity(h, "UTF-8", "quoted-printable", subtype="html"))


@evasion("html-split-tags", "text-tricks", "number split by inline tags 1234<span>5678</span><b>9018</b> with <wbr>")
def _(m):
    n = m.n
    h = "<html><body><p>個人番号：%s<span style=\"color:#333\">%s</span><wbr><b>%s</b></p></body></html>\n" % (n[:4], n[4:8], n[8:])
    return m.wrap("番号", text_entity(h, "Shift_JIS", subtype="html"))


@evasion("rfc2231-continuations-split", "text-tricks", "file name in RFC 2231 continuations filename*0*,*1*,*2*, the number cut across segments")
def _(m):
    n = m.n
    segs = [pct("個人番号_" + n[:5], "utf-8"), pct(n[5:9], "utf-8"), pct(n[9:] + ".pdf", "utf-8")]
    ctp = ";\r\n name*0*=UTF-8''%s;\r\n name*1*=%s;\r\n name*2*=%s" % tuple(segs)
    cdp = ";\r\n filename*0*=UTF-8''%s;\r\n filename*1*=%s;\r\n filename*2*=%s" % tuple(segs)
    return _name_mail(m, "書類", (ctp, cdp))


@evasion("zero-width-chars", "text-tricks", "UTF-8 body: zero-width space/joiner, word joiner and soft hyphen between the digits")
def _(m):
    inv = ["\u200b", "\u200c", "\u200d", "\u2060", "\u00ad", "\ufeff"]
    s = "".join(c + inv[i % len(inv)] for i, c in enumerate(m.n))[:-1]
    return m.wrap("番号", text_entity(m.greet() + "個人番号：%s\n" % s + m.sign(), "UTF-8", "8bit"))


@evasion("math-bold-digits", "text-tricks", "number in MATHEMATICAL BOLD DIGITS (U+1D7CE..), UTF-8 base64")
def _(m):
    s = "".join(chr(0x1D7CE + int(c)) for c in m.n)
    return m.wrap("番号", text_entity(m.greet() + "マイナンバー：%s\n" % s + m.sign(), "UTF-8"))


@evasion("fullwidth-card-ideographic", "text-tricks", "full-width カード番号 in 4-digit groups separated by ideographic spaces (EUC-JP)", kind="card", card_prefix="22")
def _(m):
    s = "\u3000".join(fullwidth(m.n[i:i + 4]) for i in range(0, 16, 4))
    return m.wrap("カード", text_entity(m.greet() + "カード番号：%s\n有効期限：０３／２９\n" % s + m.sign(), "EUC-JP", "8bit"))


@evasion("utf16le-text-part", "text-tricks", "text/plain; charset=UTF-16LE body (no BOM), base64, with 個人番号")
def _(m):
    return m.wrap("番号", text_entity(m.greet() + "個人番号：%s\n" % grouped(m.n, sep=" ") + m.sign(), "UTF-16LE"))


@evasion("kanji-numerals", "text-tricks", "number written in kanji numerals 一二三四五六七八九〇 (ISO-2022-JP); debatable, see README",
         kanji=True)
def _(m):
    k = "".join("〇一二三四五六七八九"[int(c)] for c in m.n)
    return m.wrap("番号", text_entity(m.greet() + "個人番号は %s です。\n" % k + m.sign()))


# ---- 11. containers -------------------------------------------------------------------------


@evasion("docx-split-runs", "container", "DOCX: 個人番号 in a paragraph whose digits are split over runs with a bookmark between them")
def _(m):
    n = m.n
    paras = [["社員情報"], ["氏名：山田 太郎"],
             ["個人番号：", n[:3], b'<w:bookmarkStart w:id="0" w:name="x"/>', n[3:7], b'<w:bookmarkEnd w:id="0"/>',
              b'<w:r><w:rPr><w:b/></w:rPr><w:t>%s</w:t></w:r>' % n[7:10].encode(), n[10:]]]
    body = text_entity(m.greet() + "Wordファイルを添付します。\n" + m.sign())
    att = attachment(docx_build(paras), "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "shain.docx")
    return m.wrap("社員情報", multipart(m.bnd(), [body, att]))


@evasion("xlsx-numeric-row150", "container", "XLSX: header 個人番号 in row 1, the number as a NUMERIC cell (format 0) in row 150")
def _(m):
    rows = {1: [("A", "s", "社員番号"), ("B", "s", "氏名"), ("C", "s", "個人番号")]}
    for r in range(2, 150):
        rows[r] = [("A", "raw", str(1000 + r)), ("B", "s", "社員%d" % r)]
    rows[150] = [("A", "raw", "1150"), ("B", "s", "山田 太郎"), ("C", "n", m.n)]
    data = xlsx_build([("社員一覧", rows, False)])
    body = text_entity(m.greet() + "社員一覧（個人番号入り）です。\n" + m.sign())
    att = attachment(data, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "shain.xlsx")
    return m.wrap("社員一覧", multipart(m.bnd(), [body, att]))


@evasion("xlsx-scientific-hidden-sheet", "container", "XLSX: number stored as <v>1.23456789018E+11</v> (scientific) in a HIDDEN sheet, format 0")
def _(m):
    sci = "%s.%sE+11" % (m.n[0], m.n[1:].rstrip("0") or "0")
    visible = ("表紙", {1: [("A", "s", "別シート参照")]}, False)
    hidden = ("data", {1: [("A", "s", "マイナンバー")], 2: [("A", "n", sci)]}, True)
    data = xlsx_build([visible, hidden])
    body = text_entity(m.greet() + "Excelを添付します。\n" + m.sign())
    att = attachment(data, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "book.xlsx")
    return m.wrap("資料", multipart(m.bnd(), [body, att]))


@evasion("xlsx-card-string", "container", "XLSX: カード番号 as a text cell (Excel would round a 16-digit number) in column D, row 40", kind="card", card_prefix="4")
def _(m):
    rows = {1: [("A", "s", "氏名"), ("D", "s", "カード番号")], 40: [("A", "s", "山田 太郎"), ("D", "s", m.n)]}
    data = xlsx_build([("cards", rows, False)])
    body = text_entity(m.greet() + "法人カードの一覧です。\n" + m.sign())
    att = attachment(data, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "cards.xlsx")
    return m.wrap("カード一覧", multipart(m.bnd(), [body, att]))


@evasion("zip-csv", "container", "plain ZIP (deflate) with a CP932 employee CSV")
def _(m):
    return _zip_mail(m, "名簿", [("meibo.csv", enc(csv_employee(m, [m.n]), "shift_jis"))], note="個人番号入り名簿のZIPです。\n")


@evasion("zip-in-zip-in-zip", "container", "ZIP in a ZIP in a ZIP, innermost a UTF-8 CSV with 個人番号")
def _(m):
    inner = zip_build([("kojin.csv", enc(csv_employee(m, [m.n]), "utf-8"))])
    mid = zip_build([("level2/inner.zip", inner)])
    return _zip_mail(m, "アーカイブ", [("level1/mid.zip", mid)], note="ZIPを展開してください（中にもZIPがあります）。\n")


@evasion("xlsx-in-zip", "container", "XLSX (number as numeric cell) inside a ZIP")
def _(m):
    rows = {1: [("A", "s", "氏名"), ("B", "s", "個人番号")], 2: [("A", "s", "佐藤 健"), ("B", "n", m.n)]}
    return _zip_mail(m, "Excel", [("社員/一覧.xlsx", xlsx_build([("一覧", rows, False)]))], note="Excelファイルを圧縮しました。\n")


def _nest_rfc822(m, depth, leaf: bytes) -> bytes:
    cur = leaf
    for level in range(depth, 0, -1):
        inner_msg = hblock([("From", m.frm), ("To", m.to), ("Subject", ew("転送 %d" % level)), ("Date", m.date),
                            ("Message-ID", "<nest-%02d-%d@office.example.jp>" % (m.idx, level)), ("MIME-Version", "1.0")]) + cur
        fwd = entity([("Content-Type", "message/rfc822"), ("Content-Disposition", 'attachment; filename="fwd%d.eml"' % level)], inner_msg)
        cur = multipart(m.bnd(level), [text_entity("転送します（%d）。\n" % level), fwd])
    return cur


@evasion("rfc822-nested-5", "container", "message/rfc822 attached 5 levels deep; innermost has a base64 CP932 CSV with 個人番号")
def _(m):
    leaf = multipart(m.bnd(99), [text_entity("個人番号の一覧です。\n"), csv_attachment_sjis(m)])
    return m.wrap("転送", _nest_rfc822(m, 5, leaf))


@evasion("rfc822-nested-12", "container", "message/rfc822 nested 12 levels (past a depth limit of 10); innermost text has the マイナンバー")
def _(m):
    leaf = text_entity("マイナンバー：%s\n" % m.n)
    return m.wrap("転送", _nest_rfc822(m, 12, leaf))


@evasion("pdf-flate-tj-split", "container", "PDF, FlateDecode content: the number drawn by a TJ array of hex and literal strings with kerning")
def _(m):
    n = m.n
    tj = b"(My Number / Kojin Bango: ) Tj [<%s> -12 (%s) 8 <%s> -5 (%s)] TJ" % (
        n[:3].encode().hex().encode(), n[3:6].encode(), n[6:10].encode().hex().encode(), n[10:].encode())
    data = pdf_build(pdf_text_ops(["Employee record", "Name: Yamada Taro", tj]), "Employee record")
    body = text_entity(m.greet() + "個人番号の記載された書類をPDFで送ります。\n" + m.sign())
    return m.wrap("書類", multipart(m.bnd(), [body, attachment(data, "application/pdf", "record.pdf")]))


@evasion("rtf-hex-escapes", "container", "RTF: label as \\uN escapes, digits as \\'3x hex escapes with hidden bookmark groups between")
def _(m):
    n = m.n
    digits = rtf_hex(n[:4], "ascii") + "{\\*\\bkmkstart a}{\\*\\bkmkend a}" + rtf_hex(n[4:8], "ascii") + "{\\*\\bkmkstart b}{\\*\\bkmkend b}" + rtf_hex(n[8:], "ascii")
    rtf = ("{\\rtf1\\ansi\\ansicpg932\\deff0\\uc1{\\fonttbl{\\f0\\fnil\\fcharset128 MS Gothic;}}\r\n"
           "\\f0\\fs22 %s\\par\r\n%s%s\\par\r\n}" % (rtf_unicode("社員情報"), rtf_hex("個人番号："), digits))
    body = text_entity(m.greet() + "RTFで送ります。\n" + m.sign())
    return m.wrap("書類", multipart(m.bnd(), [body, attachment(rtf.encode("ascii"), "application/rtf", "shain.rtf")]))


@evasion("eml-as-octet-stream", "container", "a whole .eml attached as application/octet-stream (not message/rfc822); it holds the 個人番号")
def _(m):
    inner = hblock([("From", m.frm), ("To", m.to), ("Subject", ew("個人番号")), ("Date", m.date),
                    ("Message-ID", "<inner-%02d@office.example.jp>" % m.idx), ("MIME-Version", "1.0")]) + text_entity("個人番号：%s\n" % m.n)
    body = text_entity(m.greet() + "元のメールを添付します。\n" + m.sign())
    return m.wrap("転送", multipart(m.bnd(), [body, attachment(inner, "application/octet-stream", "original.eml")]))


# ---- 12. unreadable or protected ------------------------------------------------------------

PPAP_PASSWORD = b"Mamori#2024"


@evasion("zipcrypto-ppap", "unreadable", "ZipCrypto-encrypted ZIP (the password 'will follow in a separate mail', PPAP style)",
         protected=True, password=PPAP_PASSWORD)
def _(m):
    data = zip_build([("個人番号一覧.csv", enc(csv_employee(m, [m.n]), "shift_jis"))], password=PPAP_PASSWORD, rng=m.rng)
    body = text_entity(m.greet() + "個人番号一覧を送付します。\nパスワードは別メールでお送りします。\n" + m.sign())
    return m.wrap("【暗号化】個人番号一覧", multipart(m.bnd(), [body, attachment(data, "application/zip", "ichiran.zip")]))


@evasion("zipcrypto-password-in-body", "unreadable", "ZipCrypto ZIP of a カード番号 CSV, password written in the same mail", kind="card",
         card_prefix="55", protected=True, password=b"kado0401")
def _(m):
    data = zip_build([("cards.csv", enc("氏名,カード番号\n山田,%s\n" % m.n, "utf-8"))], password=b"kado0401", rng=m.rng)
    body = text_entity(m.greet() + "カード情報を送付します。\nパスワード：kado0401\n" + m.sign())
    return m.wrap("カード情報", multipart(m.bnd(), [body, attachment(data, "application/zip", "cards.zip")]))


@evasion("7z-lzma", "unreadable", "real 7z archive (LZMA) with a CSV of 個人番号: 7-Zip opens it", protected=True)
def _(m):
    data = sevenzip_build("個人番号.csv", enc(csv_employee(m, [m.n]), "shift_jis"))
    body = text_entity(m.greet() + "7zで圧縮した個人番号のファイルです。\n" + m.sign())
    return m.wrap("7z", multipart(m.bnd(), [body, attachment(data, "application/x-7z-compressed", "kojin.7z")]))


@evasion("rar5-stored", "unreadable", "real RAR5 archive (stored) with a CSV of 個人番号", protected=True)
def _(m):
    data = rar5_build("kojin.csv", enc(csv_employee(m, [m.n]), "utf-8"))
    body = text_entity(m.greet() + "RARで送ります。\n" + m.sign())
    return m.wrap("rar", multipart(m.bnd(), [body, attachment(data, "application/vnd.rar", "kojin.rar")]))


@evasion("unknown-dat-utf16le", "unreadable", "unknown binary .dat: random bytes around UTF-16LE text '個人番号:<number>'", protected=True)
def _(m):
    blob = bytes(m.rng.randrange(256) for _ in range(700))
    data = blob[:300] + "個人番号:%s" % m.n + "" if False else blob[:300] + ("個人番号:%s" % m.n).encode("utf-16-le") + blob[300:]
    body = text_entity(m.greet() + "データファイルです。\n" + m.sign())
    return m.wrap("データ", multipart(m.bnd(), [body, attachment(data, "application/octet-stream", "export.dat")]))


_PARTIAL: dict = {}


def _partial_fragments(m):
    if "frags" not in _PARTIAL:
        csvb = enc(csv_employee(m, [m.n]), "utf-8")
        encapsulated = hblock([("Subject", ew("個人番号一覧")), ("Message-ID", "<partial-whole@office.example.jp>"), ("MIME-Version", "1.0")]) + \
            multipart("=_partial_inner", [text_entity("個人番号一覧です。\n"), attachment(csvb, "text/csv; charset=UTF-8", "kojin.csv")])
        enc_csv = b64(csvb)
        pos = csvb.index(m.n.encode()) + 6
        enc_pos = (pos * 4 // 3)
        enc_pos += (enc_pos // 76) * 2  # CRLF every 76 chars
        cut = encapsulated.index(enc_csv) + enc_pos
        _PARTIAL["frags"] = (encapsulated[:cut], encapsulated[cut:])
        _PARTIAL["n"] = m.n
    return _PARTIAL["frags"]


@evasion("message-partial-1of2", "unreadable", "message/partial fragment 1 of 2: the CSV's base64 is cut inside the number", protected=True)
def _(m):
    f1, f2 = _partial_fragments(m)
    return m.wrap(None, entity([("Content-Type", 'message/partial; id="mamori-partial@office.example.jp"; number=1; total=2')], f1),
                  subject_raw=ew("個人番号一覧 (1/2)"))


@evasion("message-partial-2of2", "unreadable", "message/partial fragment 2 of 2 (same number as fragment 1)", protected=True, same_number=True)
def _(m):
    f1, f2 = _partial_fragments(m)
    return m.wrap(None, entity([("Content-Type", 'message/partial; id="mamori-partial@office.example.jp"; number=2; total=2')], f2),
                  subject_raw=ew("個人番号一覧 (2/2)"))


@evasion("pdf-encrypted-empty-password", "unreadable",
         "PDF with /Encrypt (RC4-40, empty user password: every reader opens it without asking) showing the number", protected=True)
def _(m):
    data = pdf_build(pdf_text_ops(["Employee record", "My Number: %s" % grouped(m.n, sep=" ")]), "Record",
                     encrypt={"user": b"", "owner": b"owner-secret"})
    body = text_entity(m.greet() + "個人番号の書類（PDF）です。\n" + m.sign())
    return m.wrap("書類", multipart(m.bnd(), [body, attachment(data, "application/pdf", "record.pdf")]))


@evasion("pdf-encrypted-user-password", "unreadable", "PDF with /Encrypt and a user password (sent separately) holding the 個人番号",
         protected=True, password=b"0401kojin")
def _(m):
    data = pdf_build(pdf_text_ops(["Kojin Bango: %s" % m.n]), "Record", encrypt={"user": b"0401kojin", "owner": b"owner-secret"})
    body = text_entity(m.greet() + "パスワード付きPDFで個人番号をお送りします。パスワードは別途。\n" + m.sign())
    return m.wrap("書類", multipart(m.bnd(), [body, attachment(data, "application/pdf", "secure.pdf")]))


# ---- 13. media that is not only media --------------------------------------------------------


def _media_mail(m, subject, data, ctype, fname, note):
    body = text_entity(m.greet() + note + m.sign())
    return m.wrap(subject, multipart(m.bnd(), [body, attachment(data, ctype, fname)]))


@evasion("png-csv-after-iend", "fake-media", "valid PNG followed, after IEND, by a CP932 CSV with 個人番号")
def _(m):
    data = png_build(seed=m.idx) + enc(csv_employee(m, [m.n]), "shift_jis")
    return _media_mail(m, "写真", data, "image/png", "photo.png", "写真を送ります。\n")


@evasion("png-itxt-chunk", "fake-media", "valid PNG with an iTXt chunk (UTF-8) 'Comment: 個人番号 <number>' and a tEXt copy")
def _(m):
    itxt = b"Comment\x00\x00\x00ja\x00\x00" + ("個人番号 %s" % m.n).encode("utf-8")
    text = b"Description\x00Kojin Bango " + m.n.encode()
    data = png_build(seed=m.idx, chunks_before_idat=[png_chunk(b"iTXt", itxt), png_chunk(b"tEXt", text)])
    return _media_mail(m, "画像", data, "image/png", "scan.png", "画像のプロパティをご覧ください。\n")


@evasion("png-ztxt-card", "fake-media", "valid PNG with a compressed zTXt chunk holding 'Card number: <card>'", kind="card", card_prefix="52")
def _(m):
    ztxt = b"Comment\x00\x00" + zlib.compress(("Card number: " + m.n).encode("latin-1"), 9)
    data = png_build(seed=m.idx, chunks_before_idat=[png_chunk(b"zTXt", ztxt)])
    return _media_mail(m, "画像", data, "image/png", "card.png", "カード番号は画像のコメントに入れました。\n")


@evasion("jpeg-com-segment", "fake-media", "valid JPEG whose COM segment holds 'マイナンバー <number>' (UTF-8)")
def _(m):
    data = jpeg_build(seed=m.idx, com=("マイナンバー %s" % m.n).encode("utf-8"))
    return _media_mail(m, "写真", data, "image/jpeg", "photo.jpg", "写真です。\n")


@evasion("png-zip-polyglot", "fake-media", "PNG with a ZIP appended (a polyglot): saved as .png, 7-Zip/unzip open the ZIP and its CSV")
def _(m):
    z = zip_build([("kojin.csv", enc(csv_employee(m, [m.n]), "shift_jis"))])
    data = png_build(seed=m.idx) + z
    return _media_mail(m, "画像", data, "image/png", "image.png", "画像ファイルです（7-Zipで開けます）。\n")


@evasion("wav-list-info", "fake-media", "valid WAV whose LIST/INFO ICMT comment holds 'Kojin Bango <number>'")
def _(m):
    data = wav_build(info={b"INAM": b"memo", b"ICMT": ("Kojin Bango " + m.n).encode()})
    return _media_mail(m, "音声メモ", data, "audio/wav", "memo.wav", "音声メモです。個人番号はコメント欄に。\n")


# ---- 14. everything else ----------------------------------------------------------------------


def utf7_all(s: str) -> str:
    """UTF-7 with every character, digits too, in the base64 form."""
    b = base64.b64encode(s.encode("utf-16-be")).decode().rstrip("=")
    return "+" + b + "-"


@evasion("utf7-body", "misc", "text/plain; charset=UTF-7 with label and digits inside +…- base64 runs (no ASCII digit in the body)")
def _(m):
    body = utf7_all("田中様") + "\r\n\r\n" + utf7_all("個人番号：" + m.n) + "\r\n"
    return m.wrap("番号", entity([("Content-Type", "text/plain; charset=UTF-7"), ("Content-Transfer-Encoding", "7bit")], body.encode()))


@evasion("text-calendar", "misc", "text/calendar part: DESCRIPTION holds the number, cut by iCalendar line folding")
def _(m):
    desc = "DESCRIPTION:持参するもの\\n個人番号 %s" % m.n
    b = desc.encode("utf-8")
    cut = b.index(m.n.encode()) + 5
    folded = b[:cut] + b"\r\n " + b[cut:]
    ics = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Office//JP\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:evt-%02d@office.example.jp\r\n"
           b"DTSTART:20240410T010000Z\r\nDTEND:20240410T020000Z\r\nSUMMARY:" % m.idx + "手続き".encode() + b"\r\n" + folded + b"\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    part = entity([("Content-Type", "text/calendar; charset=UTF-8; method=REQUEST"), ("Content-Transfer-Encoding", "base64")], b64(ics))
    body = text_entity(m.greet() + "予定を送ります。\n" + m.sign())
    return m.wrap("予定", multipart(m.bnd(), [body, part], subtype="mixed"))


@evasion("text-vcard-qp", "misc", "text/x-vcard 2.1 part, NOTE;CHARSET=SHIFT_JIS;ENCODING=QUOTED-PRINTABLE with the 個人番号 split by QP soft breaks")
def _(m):
    note = "個人番号：%s" % m.n
    q = "".join("=%02X" % b for b in note.encode("cp932"))
    q = "=\r\n".join(q[i:i + 60] for i in range(0, len(q), 60))
    name = "".join("=%02X" % b for b in "山田;太郎".encode("cp932"))
    vcf = ("BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=SHIFT_JIS;ENCODING=QUOTED-PRINTABLE:%s\r\n"
           "NOTE;CHARSET=SHIFT_JIS;ENCODING=QUOTED-PRINTABLE:%s\r\nEND:VCARD\r\n" % (name, q)).encode()
    part = entity([("Content-Type", 'text/x-vcard; name="yamada.vcf"'), ("Content-Disposition", 'attachment; filename="yamada.vcf"'),
                   ("Content-Transfer-Encoding", "7bit")], vcf)
    body = text_entity(m.greet() + "連絡先を送ります。\n" + m.sign())
    return m.wrap("連絡先", multipart(m.bnd(), [body, part]))


@evasion("comments-header", "misc", "number only in a Comments: header (RFC 2047, shown by some clients)")
def _(m):
    body = text_entity(m.greet() + "よろしくお願いします。\n" + m.sign())
    return m.wrap("ご連絡", body, extra=[("Comments", ew("個人番号 %s" % m.n, "UTF-8", chunk=30))])


@evasion("to-display-name", "misc", "number in the display name of To: (\"田中様 マイナンバー<number>\")")
def _(m):
    to = "%s <%s@client.example.com>" % (ew("田中様 マイナンバー%s" % m.n, "ISO-2022-JP", chunk=30), m.rcpt_local)
    return m.wrap("ご連絡", text_entity(m.greet() + "宛名をご確認ください。\n" + m.sign()), to=to)


@evasion("long-line-998", "misc", "8bit UTF-8 line of ~3000 bytes; the number straddles byte 998 of the line")
def _(m):
    label = "個人番号"
    pre = "備考：" + "あ" * 330  # 3 bytes each
    prefix = (pre + label).encode("utf-8")
    while len(prefix) + 6 < 998:
        pre += "-"
        prefix = (pre + label).encode("utf-8")
    line = pre + label + m.n + "い" * 600
    assert len(line.encode("utf-8")) > 2000
    return m.wrap("備考", text_entity(m.greet() + line + "\n" + m.sign(), "UTF-8", "8bit"))


@evasion("format-flowed-delsp", "misc", "format=flowed; delsp=yes: the number cut by a soft line break whose space is deleted on display")
def _(m):
    n = m.n
    text = m.greet() + "個人番号は %s \n%s です。\n" % (n[:7], n[7:]) + m.sign()
    return m.wrap("番号", text_entity(text, "UTF-8", "8bit", params="; format=flowed; delsp=yes"))


@evasion("csv-formula-concat", "misc", "CSV cell =\"1234\"&\"5678\"&\"9018\": Excel shows the whole number")
def _(m):
    n = m.n
    rows = ["氏名,個人番号", '山田 太郎,"=""%s""&""%s""&""%s"""' % (n[:4], n[4:8], n[8:])]
    return _csv_mail(m, "一覧", enc("\n".join(rows) + "\n", "shift_jis"), "text/csv", "ichiran.csv")


@evasion("zip-archive-comment", "misc", "ZIP whose archive comment (CP932) holds 個人番号 <number>; entries harmless")
def _(m):
    return _zip_mail(m, "資料", [("readme.txt", enc("資料です。\n", "shift_jis"))], comment=("個人番号 %s" % m.n).encode("cp932"),
                     note="ZIPのコメントをご覧ください。\n")


@evasion("windows-31j-label", "misc", "charset=Windows-31J (an alias Python does not know) with full-width digits, 8bit")
def _(m):
    return m.wrap("番号", text_entity(m.greet() + "マイナンバー：%s\n" % fullwidth(m.n) + m.sign(), "Windows-31J", "8bit"))


# =========================================================================================
# The clean mails
# =========================================================================================

CLEAN: list[dict] = []


def clean(short, cls, desc):
    def deco(fn):
        CLEAN.append(dict(short=short, cls=cls, desc=desc, fn=fn))
        return fn
    return deco


class Lookalikes:
    """12-digit numbers that pass the My Number check by chance, each also valid under
    its own scheme (carriers' mod-7, UPC-A)."""

    def __init__(self, seed):
        self.rng = random.Random(seed)

    def _d(self, first="123456789"):
        return self.rng.choice(first) + "".join(str(self.rng.randint(0, 9)) for _ in range(10))

    def plain(self) -> str:
        while True:
            d = self._d()
            n = d + str(my_number_check(d))
            if len(set(n)) >= 5:
                return n

    def carrier(self, first="3456") -> str:  # Yamato / Sagawa / Japan Post: check = first 11 mod 7
        while True:
            d = self._d(first)
            if my_number_check(d) == int(d) % 7:
                return d + str(int(d) % 7)

    def upc(self) -> str:
        while True:
            d = "4" + "".join(str(self.rng.randint(0, 9)) for _ in range(10))
            u = (10 - (3 * sum(int(x) for x in d[0::2]) + sum(int(x) for x in d[1::2])) % 10) % 10
            if my_number_check(d) == u:
                return d + str(u)

    def jan(self) -> str:
        """A JAN (EAN-13) code of a Japanese maker that is NOT Luhn-valid (so it cannot be
        mistaken for a 13-digit Visa number)."""
        while True:
            d = "49" + "".join(str(self.rng.randint(0, 9)) for _ in range(10))
            c = (10 - sum(int(x) * (1 if i % 2 == 0 else 3) for i, x in enumerate(d)) % 10) % 10
            if not luhn_ok(d + str(c)):
                return d + str(c)

    def not_valid(self) -> str:
        while True:
            d = self._d()
            c = (my_number_check(d) + self.rng.randint(1, 9)) % 10
            n = d + str(c)
            if not is_my_number(n):
                return n

    def corporate(self) -> str:
        """A valid 法人番号 (13 digits, check digit first)."""
        base = "".join(str(self.rng.randint(0, 9)) for _ in range(12))
        s = sum(int(base[12 - n]) * (1 if n % 2 else 2) for n in range(1, 13))
        return str(9 - s % 9) + base


LOOK = Lookalikes(SEED + 7)


def clean_body(m, text, charset="ISO-2022-JP", cte=None, subject="ご連絡"):
    return m.wrap(subject, text_entity(text, charset, cte))


@clean("order-confirmation", "clean-order", "order confirmation, ISO-2022-JP, 注文番号 (12 digits, passes the My Number check by chance)")
def _(m):
    n = LOOK.plain()
    t = ("田中 誠 様\n\nこの度はオフィス用品ストアをご利用いただき、誠にありがとうございます。\nご注文を承りました。\n\n"
         "ご注文番号：%s\nご注文日：2024年4月1日\n\n商品名　　　　　　　数量　金額\nA4コピー用紙 5冊　　 3　　2,970円\nボールペン黒 10本　 2　　1,320円\n"
         "小計 4,290円\n送料 0円\n合計 4,290円（税込）\n\nお問い合わせ：0120-123-456（平日9:00〜18:00）\n" % n)
    return clean_body(m, t, subject="ご注文ありがとうございます"), [n]


@clean("order-confirmation-html", "clean-order", "order confirmation, multipart/alternative UTF-8 text+HTML (with mso conditional comments), 注文番号 by chance valid")
def _(m):
    n = LOOK.plain()
    t = "ご注文番号: %s\nご注文金額: 12,800円\nお届け予定日: 2024年4月3日\n" % n
    h = ("<html><head><!--[if mso]><style>td{font-family:Meiryo}</style><![endif]--></head><body>"
         "<table><tr><td>ご注文番号</td><td>%s</td></tr><tr><td>ご注文金額</td><td>12,800円</td></tr></table>"
         "<p>配送状況は<a href=\"https://shop.example.com/orders?id=%s\">こちら</a>。</p></body></html>\n" % (n, n))
    alt = multipart(m.bnd(), [text_entity(t, "UTF-8"), text_entity(h, "UTF-8", "quoted-printable", subtype="html")], subtype="alternative")
    return m.wrap("【ショップ】ご注文確認", alt), [n]


@clean("invoice-with-pdf", "clean-invoice", "invoice mail: 請求書番号 by chance valid, 登録番号 T+13-digit corporate number, amounts, plain PDF without numbers")
def _(m):
    n, corp = LOOK.plain(), LOOK.corporate()
    t = (m.greet() + "4月分のご請求書をお送りいたします。\n\n請求書番号：%s\nご請求金額：1,234,567円（税込）\n"
         "お支払期限：2024年4月30日\n振込先：みずほ銀行 本店 普通 1234567 カ）オフィス\n"
         "適格請求書発行事業者登録番号：T%s\n" % (n, corp) + m.sign())
    pdf = pdf_build(pdf_text_ops(["Invoice", "Thank you for your business.", "Details are in the mail body."]), "Invoice")
    return m.wrap("ご請求書送付のご案内", multipart(m.bnd(), [text_entity(t), attachment(pdf, "application/pdf", "invoice.pdf")])), [n]


@clean("yamato-shipping", "clean-shipping", "Yamato shipping notice: お問い合わせ伝票番号 4-4-4 (mod-7 valid and by chance My Number valid)")
def _(m):
    n = LOOK.carrier("34")
    t = ("ヤマト運輸からのお知らせ\n\nお荷物のお届け予定をお知らせします。\n\nお問い合わせ伝票番号：%s\n"
         "お届け予定日時：4月3日 14時〜16時\nご依頼主：オフィス用品ストア\n\n"
         "配達状況の確認：https://toi.kuronekoyamato.example/?no=%s\n" % (grouped(n), n))
    return clean_body(m, t, subject="お荷物お届けのお知らせ"), [n]


@clean("sagawa-shipping", "clean-shipping", "Sagawa shipping notice: お問い合わせ送り状番号, 12 digits plain (mod-7 and My Number valid)")
def _(m):
    n = LOOK.carrier("456")
    t = ("佐川急便より出荷のご案内\n\nお問い合わせ送り状番号：%s\n出荷日：2024年4月1日\n個数：2個\n"
         "お届け先：株式会社クライアント 田中様\n" % n)
    return clean_body(m, t, "UTF-8", subject="出荷のご案内"), [n]


@clean("japanpost-yupack", "clean-shipping", "Japan Post ゆうパック notice: お問い合わせ番号 1234-5678-9012 style, Shift_JIS")
def _(m):
    n = LOOK.carrier("35")
    t = "日本郵便 ゆうパック\n\nお問い合わせ番号：%s\n差出日：4月1日\n重量：2kg\n料金：1,370円\n" % grouped(n)
    return clean_body(m, t, "Shift_JIS", "base64", subject="ゆうパック発送のお知らせ"), [n]


@clean("hotel-reservation", "clean-reservation", "hotel booking: 予約番号 by chance valid, dates, amounts, phone")
def _(m):
    n = LOOK.plain()
    t = ("ホテルオフィス東京 ご予約確認\n\nご予約番号：%s\nチェックイン：2024年5月10日 15:00\nチェックアウト：2024年5月11日 11:00\n"
         "ご宿泊料金：18,700円（1泊・税サ込）\nTEL：03-5555-0123\n" % n)
    return clean_body(m, t, "UTF-8", "quoted-printable", subject="ご予約確認"), [n]


@clean("flight-reservation", "clean-reservation", "flight booking: 予約番号 (12 digits, by chance valid), 13-digit ticket number, seat")
def _(m):
    n = LOOK.plain()
    t = ("航空券 ご予約内容\n\n予約番号：%s\n航空券番号：131-2345678901\n便名：JL123 羽田 08:00 → 伊丹 09:10\n"
         "座席：23A\n運賃：15,400円\n" % n)
    return clean_body(m, t, subject="ご予約内容のお知らせ"), [n]


@clean("membership-registration", "clean-membership", "membership registration: 会員番号 by chance valid, points balance")
def _(m):
    n = LOOK.plain()
    t = ("会員登録が完了しました。\n\n会員番号：%s\nポイント残高：1,250pt\n有効期限：2025年3月31日\n"
         "ログインID：tanaka@client.example.com\n" % n)
    return clean_body(m, t, "UTF-8", subject="会員登録完了のお知らせ"), [n]


@clean("bank-transfer-notice", "clean-bank", "bank transfer notice: 受付番号 by chance valid, account numbers, amounts 1,234,567円")
def _(m):
    n = LOOK.plain()
    t = ("振込受付のお知らせ\n\n受付番号：%s\n振込日：2024年4月1日\n振込金額：1,234,567円\n手数料：440円\n"
         "振込先：三菱UFJ銀行 新宿支店 普通 7654321\n依頼人：カ）オフィス\n" % n)
    return clean_body(m, t, subject="振込受付のお知らせ"), [n]


@clean("teams-meeting", "clean-meeting", "meeting notice with a Teams 会議 ID of 12 digits in 3-3-3-3 groups (by chance valid), dial-in")
def _(m):
    n = LOOK.plain()
    t = (m.greet() + "定例会議のご案内です。\n\n日時：2024年4月10日（水）10:00〜11:00\n"
         "Microsoft Teams 会議\n会議 ID: %s\nパスコード: aB3xYz\n電話会議: +81 3-4578-0000,,123456789#\n" % grouped(n, (3, 3, 3, 3), " ") + m.sign())
    return clean_body(m, t, subject="定例会議のご案内"), [n]


@clean("newsletter-html", "clean-newsletter", "HTML newsletter (UTF-8) with conditional comments, many links, 会員番号 in the footer (by chance valid)")
def _(m):
    n = LOOK.plain()
    links = "".join('<li><a href="https://news.example.com/a/%d?utm_source=mail&amp;utm_id=20240401">記事%d</a></li>' % (i, i) for i in range(1, 31))
    h = ("<html><body><!--[if mso]><table width=\"600\"><tr><td><![endif]--><h1>オフィス通信 4月号</h1>"
         "<noscript><p>画像が表示されない場合はブラウザでご覧ください。</p></noscript><ul>%s</ul>"
         "<p style=\"font-size:10px\">会員番号：%s ／ 配信停止は<a href=\"https://news.example.com/unsub\">こちら</a></p>"
         "<!--[if mso]></td></tr></table><![endif]--></body></html>\n" % (links, n))
    return m.wrap("オフィス通信 4月号", text_entity(h, "UTF-8", "base64", subtype="html")), [n]


@clean("logo-png", "clean-attachment", "a real 16x16 PNG logo attachment (valid CRCs); 見積番号 by chance valid in the body")
def _(m):
    n = LOOK.plain()
    t = m.greet() + "ロゴ画像をお送りします。\n見積番号：%s\n" % n + m.sign()
    return m.wrap("ロゴ画像", multipart(m.bnd(), [text_entity(t), attachment(png_build(seed=3), "image/png", "logo.png")])), [n]


@clean("site-photo-jpeg", "clean-attachment", "a real baseline JPEG photo attachment")
def _(m):
    t = m.greet() + "現場の写真を添付します。\n" + m.sign()
    return m.wrap("現場写真", multipart(m.bnd(), [text_entity(t), attachment(jpeg_build(seed=5), "image/jpeg", "genba.jpg")])), []


@clean("voice-memo-wav", "clean-attachment", "a real WAV (8 kHz mono, 0.2 s) voice memo attachment")
def _(m):
    t = m.greet() + "留守電の音声を添付します。\n" + m.sign()
    return m.wrap("音声", multipart(m.bnd(), [text_entity(t), attachment(wav_build(), "audio/wav", "memo.wav")])), []


@clean("agenda-pdf", "clean-attachment", "a plain one-page PDF (agenda, no numbers in its text)")
def _(m):
    pdf = pdf_build(pdf_text_ops(["Meeting agenda", "Opening", "Sales report", "Next steps"]), "Agenda")
    t = m.greet() + "議題をPDFで添付します。\n" + m.sign()
    return m.wrap("議題", multipart(m.bnd(), [text_entity(t), attachment(pdf, "application/pdf", "agenda.pdf")])), []


@clean("product-price-csv", "clean-attachment", "CP932 CSV of 商品コード (UPC-A 12 digits, some by chance My Number valid), JAN codes and prices \"1,280\"")
def _(m):
    codes = [LOOK.upc() for _ in range(3)]
    jans = [LOOK.jan() for _ in range(3)]
    rows = ["商品コード,JANコード,商品名,単価,在庫"]
    for i, (c, j) in enumerate(zip(codes, jans)):
        rows.append('%s,%s,商品%d,"%s",%d' % (c, j, i + 1, "{:,}".format(1280 + i * 1150), 10 * i + 5))
    data = enc("\n".join(rows) + "\n", "shift_jis")
    t = m.greet() + "商品マスタをお送りします。\n" + m.sign()
    return m.wrap("商品マスタ", multipart(m.bnd(), [text_entity(t), attachment(data, "text/csv", "shohin.csv")])), codes


@clean("price-list-xlsx", "clean-attachment", "XLSX price list: header 商品コード in row 1, 12-digit numeric codes (by chance valid) down to row 150")
def _(m):
    codes = [LOOK.plain() for _ in range(2)]
    rows = {1: [("A", "s", "商品コード"), ("B", "s", "品名"), ("C", "s", "単価")]}
    for r in range(2, 150):
        rows[r] = [("A", "n", str(200000000000 + r * 7919)), ("B", "s", "品目%d" % r), ("C", "raw", str(100 + r))]
    rows[75] = [("A", "n", codes[0]), ("B", "s", "特注品A"), ("C", "raw", "12800")]
    rows[150] = [("A", "n", codes[1]), ("B", "s", "特注品B"), ("C", "raw", "9800")]
    data = xlsx_build([("価格表", rows, False)])
    t = m.greet() + "価格表を更新しました。\n" + m.sign()
    return m.wrap("価格表", multipart(m.bnd(), [text_entity(t), attachment(data, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "kakaku.xlsx")])), codes


@clean("quotation-sjis", "clean-invoice", "quotation, Shift_JIS 8bit: 見積番号 by chance valid, amounts with separators")
def _(m):
    n = LOOK.plain()
    t = m.greet() + "お見積りをお送りします。\n\n見積番号：%s\n件名：複合機リース\n金額：月額 12,100円\n有効期限：2024年4月30日\n" % n + m.sign()
    return clean_body(m, t, "Shift_JIS", "8bit", subject="お見積り"), [n]


@clean("system-notice-eucjp", "clean-misc", "EUC-JP system notice: 受付番号 by chance valid, timestamps")
def _(m):
    n = LOOK.plain()
    t = "システムからの自動送信です。\n\n申請を受け付けました。\n受付番号：%s\n受付日時：2024/04/01 09:15:27\n申請種別：備品購入\n" % n
    return clean_body(m, t, "EUC-JP", "base64", subject="申請受付"), [n]


@clean("forwarded-order", "clean-order", "forwarded message/rfc822 order confirmation with 注文番号 by chance valid")
def _(m):
    n = LOOK.plain()
    inner = hblock([("From", "shop@shop.example.com"), ("To", m.frm), ("Subject", ew("ご注文確認")), ("Date", m.date),
                    ("Message-ID", "<order-%02d@shop.example.com>" % m.idx), ("MIME-Version", "1.0")]) + \
        text_entity("ご注文番号：%s\n合計：8,800円\n" % n)
    fwd = entity([("Content-Type", "message/rfc822")], inner)
    return m.wrap("Fw: ご注文確認", multipart(m.bnd(), [text_entity(m.greet() + "注文確認を転送します。\n" + m.sign()), fwd])), [n]


@clean("zip-product-images", "clean-attachment", "ZIP holding two PNG images and a small product CSV (no personal data)")
def _(m):
    z = zip_build([("images/a.png", png_build(seed=1)), ("images/b.png", png_build(seed=2)),
                   ("list.csv", enc("ファイル,商品名,価格\na.png,棚A,\"12,000\"\nb.png,棚B,\"8,500\"\n", "shift_jis"))])
    t = m.greet() + "商品画像をZIPでお送りします。\n" + m.sign()
    return m.wrap("商品画像", multipart(m.bnd(), [text_entity(t), attachment(z, "application/zip", "images.zip")])), []


@clean("calendar-invite", "clean-meeting", "text/calendar invite: 会議室予約番号 (12 digits, by chance valid) in DESCRIPTION")
def _(m):
    n = LOOK.plain()
    ics = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Office//JP\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:clean-%02d@office.example.jp\r\n"
           "DTSTART:20240412T050000Z\r\nDTEND:20240412T060000Z\r\nSUMMARY:打ち合わせ\r\nDESCRIPTION:会議室予約番号 %s\\n場所 3階A会議室\r\n"
           "END:VEVENT\r\nEND:VCALENDAR\r\n" % (m.idx, n)).encode("utf-8")
    part = entity([("Content-Type", "text/calendar; charset=UTF-8; method=REQUEST"), ("Content-Transfer-Encoding", "base64")], b64(ics))
    return m.wrap("打ち合わせ", multipart(m.bnd(), [text_entity(m.greet() + "打ち合わせの招待です。\n" + m.sign()), part])), [n]


@clean("card-receipt-last4", "clean-bank", "card payment receipt: masked カード番号 ************1234, 取引番号 12 digits by chance valid")
def _(m):
    n = LOOK.plain()
    t = ("ご利用明細\n\nご利用日：2024/04/01\nご利用先：オフィス用品ストア\nご利用金額：4,290円\n"
         "カード番号：************1234\n承認番号：012345\n取引番号：%s\n" % n)
    return clean_body(m, t, "UTF-8", subject="カードご利用のお知らせ"), [n]


@clean("hr-mynumber-request", "clean-misc", "HR notice asking staff to bring their マイナンバーカード: keyword only, no 12-digit number")
def _(m):
    t = ("各位\n\n年末調整に向けて、マイナンバー（個人番号）の確認を行います。\n4月15日までに人事部窓口へマイナンバーカードをご持参ください。\n"
         "メールでの送付は禁止です。\n\n人事部 内線 2345 / 03-1234-5678\n")
    return clean_body(m, t, subject="マイナンバー確認のお願い"), []


@clean("signature-corporate-number", "clean-misc", "business mail whose signature has 法人番号 (13 digits), T-number, postal code, TEL/FAX")
def _(m):
    corp = LOOK.corporate()
    t = (m.greet() + "資料を拝受しました。来週中にご回答いたします。\n" + m.sign() + "〒100-0001 東京都千代田区千代田1-1\nTEL 03-1234-5678 / FAX 03-1234-5679\n"
         "法人番号 %s\n登録番号 T%s\n" % (corp, corp))
    return clean_body(m, t), []


@clean("tracking-list-csv", "clean-shipping", "UTF-8-BOM CSV of 伝票番号 (Yamato numbers, all by chance My Number valid) with addresses and counts")
def _(m):
    nums = [LOOK.carrier("34") for _ in range(4)]
    rows = ["伝票番号,お届け先,個数,出荷日"] + ["%s,支店%d,%d,2024/04/01" % (n, i + 1, i + 1) for i, n in enumerate(nums)]
    data = b"\xef\xbb\xbf" + enc("\n".join(rows) + "\n", "utf-8")
    t = m.greet() + "本日の出荷分の伝票番号一覧です。\n" + m.sign()
    return m.wrap("出荷一覧", multipart(m.bnd(), [text_entity(t), attachment(data, "text/csv; charset=UTF-8", "shukka.csv")])), nums


@clean("sales-report-amounts", "clean-misc", "monthly sales report, ISO-2022-JP: many amounts 12,345,678円, percentages, a 12-digit 案件番号 by chance valid")
def _(m):
    n = LOOK.plain()
    t = (m.greet() + "3月の売上をご報告します。\n\n東日本　12,345,678円（前年比 104.2%%）\n西日本　 9,876,543円（前年比  98.7%%）\n"
         "合計　　22,222,221円\n\n大型案件（案件番号 %s）は4月計上予定です。\n" % n + m.sign())
    return clean_body(m, t, subject="3月売上報告"), [n]


@clean("newsletter-mynumber-topic", "clean-newsletter", "newsletter article on マイナンバーカード far (>300 chars) from a 会員番号 by chance valid in the footer")
def _(m):
    n = LOOK.plain()
    article = ("【特集】マイナンバーカードの健康保険証利用について\n"
               "2024年12月から、健康保険証の新規発行が終了し、マイナンバーカードを保険証として利用する仕組みへ移行します。"
               "従業員の皆様への周知方法や、資格確認書の扱いなど、総務担当者が押さえておきたいポイントを解説します。\n"
               + "制度の詳細は各保険者の案内をご確認ください。" * 8 + "\n\n")
    t = article + "――――――――――――――――\nオフィス通信をご購読いただきありがとうございます。\n会員番号：%s\n配信停止：https://news.example.com/unsub\n" % n
    return clean_body(m, t, "UTF-8", "base64", subject="オフィス通信 特集号"), [n]


@clean("order-number-4-4-4", "clean-order", "注文番号 written 1234-5678-9012 (the shape of a My Number) and by chance valid")
def _(m):
    n = LOOK.plain()
    t = "ご注文ありがとうございます。\n\n注文番号：%s\n商品：トナーカートリッジ ×2\n金額：21,560円\n" % grouped(n)
    return clean_body(m, t, "UTF-8", "quoted-printable", subject="ご注文受付"), [n]


@clean("reply-with-quote", "clean-misc", "an ordinary reply quoting the previous mail, dates and times only")
def _(m):
    t = (m.greet() + "承知いたしました。4月10日 15:00 に伺います。\n" + m.sign()
         + "\n> 2024年4月1日 10:12 田中 誠 <tanaka@client.example.com>:\n> 打ち合わせの日程ですが、4/10(水) 15:00 はいかがでしょうか。\n")
    return clean_body(m, t, subject="Re: 打ち合わせ日程"), []


# =========================================================================================
# Independent readers (the recipient's side)
# =========================================================================================

ZW = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"), None)
KANJI = str.maketrans("〇一二三四五六七八九", "0123456789")
SEP = r"[ \t\r\n\-‐‑–—―−ー]{0,3}"


def pattern(number: str) -> re.Pattern:
    return re.compile(r"(?<![0-9])" + SEP.join(number) + r"(?![0-9])")


def normal(text: str, kanji=False) -> str:
    t = unicodedata.normalize("NFKC", text).translate(ZW)
    return t.translate(KANJI) if kanji else t


def decode_declared(data: bytes, charset: str | None) -> str:
    cs = (charset or "us-ascii").lower()
    codec = CODECS.get(cs, cs)
    try:
        return data.decode(codec, errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


def sniff_text(data: bytes) -> list[str]:
    """What a text editor or Excel makes of a file: BOMs, UTF-16 without BOM, else
    UTF-8 / CP932 / EUC-JP."""
    out = []
    for bom, codec in ((b"\xff\xfe\x00\x00", "utf-32"), (b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            out.append(data.decode(codec, errors="replace"))
            return out
    if data[1::2].count(0) > len(data) // 4:
        out.append(data.decode("utf-16-le", errors="replace"))
    if data[0::2].count(0) > len(data) // 4:
        out.append(data[1:].decode("utf-16-le", errors="replace"))
    for codec in ("utf-8", "cp932", "euc_jp"):
        try:
            out.append(data.decode(codec))
            break
        except UnicodeDecodeError:
            pass
    else:
        out.append(data.decode("cp932", errors="replace"))
        out.append(data.decode("utf-8", errors="replace"))
    return out


def excel_cells(text: str) -> list[str]:
    """CSV/TSV cells as Excel shows them: ="…" and ="…"&"…" evaluated."""
    out = []
    delim = "\t" if text.count("\t") > text.count(",") else ","
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delim))
    except csv.Error:
        return out
    for row in rows:
        for cell in row:
            c = cell.strip()
            if c.startswith("="):
                parts = re.findall(r'"((?:[^"]|"")*)"|(\d+)', c[1:])
                if re.fullmatch(r'(\s*("(?:[^"]|"")*"|\d+)\s*&?)+', c[1:]):
                    c = "".join((a.replace('""', '"') if a else b) for a, b in parts)
            out.append(c)
    return out


class _Render(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        if tag in ("p", "br", "div", "tr", "li", "h1", "h2", "table"):
            self.out.append("\n")
        if tag == "td":
            self.out.append("\t")

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self.skip:
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.out.append(data)


def render_html(h: str) -> str:
    r = _Render()
    r.feed(h)
    r.close()
    return "".join(r.out)


def unflow(text: str, delsp: bool) -> str:
    out, cur = [], ""
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.startswith(" "):
            line = line[1:]
        if line.endswith(" ") and line != "-- ":
            cur += line[:-1] if delsp else line
        else:
            out.append(cur + line)
            cur = ""
    if cur:
        out.append(cur)
    return "\n".join(out)


def uudecode_blocks(text: str) -> list[bytes]:
    out = []
    for mt in re.finditer(r"^begin [0-7]{3} \S+\r?\n(.*?)^end\s*$", text, re.S | re.M):
        data = b""
        for line in mt.group(1).splitlines():
            if line.strip() in ("", "`"):
                continue
            data += binascii.a2b_uu(line)
        out.append(data)
    return out


def zipcrypto_decrypt(data: bytes, password: bytes) -> bytes:
    """A second, separate implementation of the PKWARE traditional cipher."""
    table = [zlib.crc32(bytes([i])) ^ 0xFFFFFFFF for i in range(256)]
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
        table.append(c)
    k = [0x12345678, 0x23456789, 0x34567890]

    def upd(b):
        k[0] = table[(k[0] ^ b) & 0xFF] ^ (k[0] >> 8)
        k[1] = ((k[1] + (k[0] & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        k[2] = table[(k[2] ^ (k[1] >> 24)) & 0xFF] ^ (k[2] >> 8)

    for b in password:
        upd(b)
    out = bytearray()
    for c in data:
        t = (k[2] | 2) & 0xFFFF
        p = c ^ (((t * (t ^ 1)) >> 8) & 0xFF)
        upd(p)
        out.append(p)
    return bytes(out[12:])


def zip_views(name, data, ctx, depth):
    views = []
    try:
        zf = zipfile.ZipFile(io.BytesIO(data), metadata_encoding=None)
    except (zipfile.BadZipFile, ValueError):
        return views
    if zf.comment:
        views.append(("zip comment", sniff_text(zf.comment)[0]))
    names = zf.namelist()
    if "word/document.xml" in names or "xl/workbook.xml" in names:
        views += ooxml_views(zf)
    for info in zf.infolist():
        ename = info.filename if info.flag_bits & 0x800 else info.filename.encode("cp437").decode("cp932", errors="replace")
        views.append(("zip entry name", ename))
        if info.flag_bits & 1:
            pw = ctx.get("password")
            if not pw:
                ctx["encrypted"] = True
                continue
            # ours, then Python's own decryption as a cross-check
            with open_raw_entry(data, info) as raw:
                plain = zipcrypto_decrypt(raw, pw)
            content = zlib.decompress(plain, -15) if info.compress_type == 8 else plain
            assert content == zf.read(info, pwd=pw), "ZipCrypto readers disagree"
        else:
            content = zf.read(info)
        views += file_views(ename, content, ctx, depth + 1)
    return views


class open_raw_entry:
    def __init__(self, data, info):
        off = info.header_offset
        nlen, xlen = struct.unpack("<HH", data[off + 26:off + 30])
        start = off + 30 + nlen + xlen
        self.raw = data[start:start + info.compress_size]

    def __enter__(self):
        return self.raw

    def __exit__(self, *a):
        return False


def ooxml_views(zf):
    views = []
    names = zf.namelist()
    if "word/document.xml" in names:
        root = ET.fromstring(zf.read("word/document.xml"))
        paras = []
        for p in root.iter("{%s}p" % NS_W):
            paras.append("".join(t.text or "" for t in p.iter("{%s}t" % NS_W)))
        views.append(("docx text", "\n".join(paras)))
    if "xl/workbook.xml" in names:
        sst = []
        if "xl/sharedStrings.xml" in names:
            for si in ET.fromstring(zf.read("xl/sharedStrings.xml")).iter("{%s}si" % NS_MAIN):
                sst.append("".join(t.text or "" for t in si.iter("{%s}t" % NS_MAIN)))
        for nm in names:
            if nm.startswith("xl/worksheets/") and nm.endswith(".xml"):
                lines = []
                for row in ET.fromstring(zf.read(nm)).iter("{%s}row" % NS_MAIN):
                    cells = []
                    for c in row.iter("{%s}c" % NS_MAIN):
                        v = c.find("{%s}v" % NS_MAIN)
                        if v is None:
                            continue
                        if c.get("t") == "s":
                            cells.append(sst[int(v.text)])
                        else:
                            x = float(v.text)
                            cells.append(str(int(x)) if x.is_integer() and abs(x) < 1e15 else v.text)
                    lines.append("\t".join(cells))
                views.append(("xlsx " + nm, "\n".join(lines)))
    if "docProps/core.xml" in names:
        views.append(("docprops", " ".join(ET.fromstring(zf.read("docProps/core.xml")).itertext())))
    return views


def png_views(data, ctx, depth):
    views, pos = [], 8
    while pos + 8 <= len(data):
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc = data[pos + 8 + length:pos + 12 + length]
        if len(crc) < 4 or struct.unpack(">I", crc)[0] != zlib.crc32(ctype + body) & 0xFFFFFFFF:
            return views
        if ctype == b"tEXt":
            views.append(("png tEXt", body.decode("latin-1")))
        elif ctype == b"zTXt":
            k, _, rest = body.partition(b"\x00")
            views.append(("png zTXt", zlib.decompress(rest[1:]).decode("latin-1")))
        elif ctype == b"iTXt":
            k, _, rest = body.partition(b"\x00")
            comp = rest[0]
            rest = rest[2:]
            lang, _, rest = rest.partition(b"\x00")
            tk, _, text = rest.partition(b"\x00")
            views.append(("png iTXt", (zlib.decompress(text) if comp else text).decode("utf-8")))
        pos += 12 + length
        if ctype == b"IEND":
            if pos < len(data):
                views.append(("after IEND", "\n".join(sniff_text(data[pos:]))))
                views += file_views("trailer", data[pos:], ctx, depth + 1)
            break
    return views


def jpeg_views(data):
    views, pos = [], 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        if marker == 0xFE:
            views.append(("jpeg COM", data[pos + 4:pos + 2 + length].decode("utf-8", errors="replace")))
        if marker == 0xDA:
            break
        pos += 2 + length
    return views


def riff_views(data):
    views, pos = [], 12
    while pos + 8 <= len(data):
        cid, size = struct.unpack("<4sI", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + size]
        if cid == b"LIST" and body[:4] == b"INFO":
            p = 4
            while p + 8 <= len(body):
                sid, ssize = struct.unpack("<4sI", body[p:p + 8])
                views.append(("wav INFO " + sid.decode(), body[p + 8:p + 8 + ssize].rstrip(b"\x00").decode("utf-8", errors="replace")))
                p += 8 + ssize + (ssize & 1)
        pos += 8 + size + (size & 1)
    return views


def pdf_views(data, ctx):
    """Objects, optional RC4 decryption (empty password or the one told), Flate streams,
    text operators (Tj, TJ, ', ")."""
    objs = {}
    for mt in re.finditer(rb"(\d+) (\d+) obj\s*(.*?)\s*endobj", data, re.S):
        objs[int(mt.group(1))] = mt.group(3)
    key = None
    enc_ref = re.search(rb"/Encrypt (\d+) 0 R", data)
    if enc_ref:
        d = objs[int(enc_ref.group(1))]
        o = bytes.fromhex(re.search(rb"/O <([0-9A-Fa-f]+)>", d).group(1).decode())
        u = bytes.fromhex(re.search(rb"/U <([0-9A-Fa-f]+)>", d).group(1).decode())
        p = int(re.search(rb"/P (-?\d+)", d).group(1))
        fid = bytes.fromhex(re.search(rb"/ID \[<([0-9A-Fa-f]+)>", data).group(1).decode())
        for pw in [b"", ctx.get("password") or b""]:
            k = hashlib.md5((pw + PDF_PAD)[:32] + o + struct.pack("<i", p) + fid).digest()[:5]
            if rc4(k, PDF_PAD) == u:
                key = k
                break
        if key is None:
            ctx["encrypted"] = True
            return []
    views = []
    for num, body in objs.items():
        sm = re.search(rb"stream\r?\n(.*)\r?\nendstream", body, re.S)
        if not sm:
            continue
        raw = sm.group(1)
        if key is not None:
            raw = rc4(hashlib.md5(key + num.to_bytes(3, "little") + b"\x00\x00").digest()[:10], raw)
        if b"/FlateDecode" in body:
            raw = zlib.decompress(raw)
        views.append(("pdf text", pdf_content_text(raw)))
    return views


def pdf_content_text(content: bytes) -> str:
    out, pos, arr = [], 0, None
    tok = re.compile(rb"\((?:\\.|[^\\)])*\)|<[0-9A-Fa-f\s]*>|\[|\]|-?\d+(?:\.\d+)?|/[^\s/\[\]()<>]+|[A-Za-z'\"*]+")
    pending = []
    for mt in tok.finditer(content):
        t = mt.group(0)
        if t.startswith(b"("):
            s = re.sub(rb"\\([nrtbf()\\]|[0-7]{1,3})", lambda x: {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"", b"f": b""}.get(x.group(1), x.group(1) if not x.group(1).isdigit() else bytes([int(x.group(1), 8)])), t[1:-1])
            pending.append(s.decode("latin-1"))
        elif t.startswith(b"<"):
            pending.append(bytes.fromhex(re.sub(rb"\s", b"", t[1:-1]).decode()).decode("latin-1"))
        elif t == b"[":
            pending = []
        elif re.fullmatch(rb"-?\d+(?:\.\d+)?", t):
            if float(t) < -200 and pending:
                pending.append(" ")
        elif t in (b"Tj", b"TJ", b"'", b'"'):
            out.append("".join(pending))
            pending = []
        elif t in (b"T*", b"Td", b"TD", b"ET"):
            out.append("\n")
    return "".join(out)


def rtf_text(rtf: str) -> str:
    out, buf, i, skip_depth, depth, uc_skip = [], bytearray(), 0, None, 0, 0

    def flush():
        if buf:
            out.append(buf.decode("cp932", errors="replace"))
            buf.clear()

    while i < len(rtf):
        c = rtf[i]
        if c == "{":
            depth += 1
            if skip_depth is None and (rtf.startswith("{\\*", i) or rtf.startswith("{\\fonttbl", i)):
                skip_depth = depth
            i += 1
        elif c == "}":
            if skip_depth == depth:
                skip_depth = None
            depth -= 1
            i += 1
        elif c == "\\":
            if rtf[i + 1] == "'":
                if skip_depth is None:
                    buf.append(int(rtf[i + 2:i + 4], 16))
                i += 4
                continue
            mt = re.match(r"\\([a-z]+)(-?\d+)? ?", rtf[i:])
            if mt:
                word, arg = mt.group(1), mt.group(2)
                i += len(mt.group(0))
                if skip_depth is None:
                    if word == "u":
                        flush()
                        out.append(chr(int(arg) % 65536))
                        i += 1  # the fallback character (\uc1)
                    elif word == "par":
                        flush()
                        out.append("\n")
                continue
            i += 2
        else:
            if skip_depth is None and c not in "\r\n":
                flush()
                out.append(c)
            i += 1
    flush()
    return "".join(out)


def vcard_text(v: str) -> str:
    v = re.sub(r"=\r?\n", "", v)
    out = []
    for line in v.splitlines():
        head, _, value = line.partition(":")
        params = head.upper().split(";")
        if "ENCODING=QUOTED-PRINTABLE" in params:
            raw = quopri.decodestring(value.encode())
            cs = next((p.split("=", 1)[1] for p in params if p.startswith("CHARSET=")), "UTF-8")
            value = decode_declared(raw, cs)
        out.append(value)
    return "\n".join(out)


def ical_text(v: str) -> str:
    v = re.sub(r"\r?\n[ \t]", "", v)
    return v.replace("\\n", "\n").replace("\\,", ",")


def file_views(name, data: bytes, ctx, depth=0) -> list:
    if depth > 40 or not data:
        return []
    views = []
    lname = (name or "").lower()
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        views += png_views(data, ctx, depth)
    if data.startswith(b"\xff\xd8\xff"):
        views += jpeg_views(data)
    if data.startswith(b"RIFF") and data[8:12] == b"WAVE":
        views += riff_views(data)
    if data.startswith(b"%PDF"):
        views += pdf_views(data, ctx)
    if data.startswith(b"{\\rtf"):
        views.append(("rtf", rtf_text(data.decode("ascii", errors="replace"))))
    if b"PK\x05\x06" in data[-4096:]:
        views += zip_views(name, data, ctx, depth)
    if data.startswith(b"\x1f\x8b"):
        views += file_views(lname[:-3] if lname.endswith(".gz") else lname + ".out", gzip.decompress(data), ctx, depth + 1)
    if data.startswith(b"BZh"):
        views += file_views(lname + ".out", bz2.decompress(data), ctx, depth + 1)
    if data.startswith(b"\xfd7zXZ\x00"):
        views += file_views(lname + ".out", lzma.decompress(data), ctx, depth + 1)
    if len(data) >= 512 and data[257:262] == b"ustar":
        with tarfile.open(fileobj=io.BytesIO(data)) as tf:
            for member in tf.getmembers():
                views.append(("tar member name", member.name))
                if member.isfile():
                    views += file_views(member.name, tf.extractfile(member).read(), ctx, depth + 1)
    if lname.endswith(".eml"):
        views += message_views(email.message_from_bytes(data, policy=email.policy.default), ctx, depth + 1)
    if data.startswith(b"7z\xbc\xaf\x27\x1c") or data.startswith(b"Rar!\x1a\x07"):
        ctx["encrypted"] = True  # nothing in the standard library reads these
        return views
    texts = sniff_text(data)
    for t in texts:
        views.append(("text of " + (name or "?"), t))
        if lname.endswith((".csv", ".tsv", ".txt")):
            views.append(("excel cells", "\n".join(excel_cells(t))))
        for block in uudecode_blocks(t):
            views += file_views("uu", block, ctx, depth + 1)
    if lname.endswith((".vcf",)):
        views.append(("vcard", vcard_text(texts[0])))
    return views


SHOWN = ("subject", "comments", "keywords", "from", "to", "cc", "reply-to")


def message_views(msg, ctx, depth=0) -> list:
    views = []
    for h in SHOWN:
        for v in msg.get_all(h) or []:
            views.append(("header " + h, str(v)))
    for part in msg.walk():
        if part.get_content_type() == "message/rfc822":
            for sub in part.get_payload():
                for h in SHOWN:
                    for v in sub.get_all(h) or []:
                        views.append(("nested header " + h, str(v)))
        if part.is_multipart():
            continue
        fname = part.get_filename()
        if fname:
            try:
                fname = fname.encode("utf-8", "surrogateescape").decode("utf-8")
            except UnicodeError:
                pass
            views.append(("file name", fname))
        ctype = part.get_content_type()
        data = part.get_payload(decode=True) or b""
        if ctype.startswith("text/"):
            text = decode_declared(data, part.get_content_charset())
            views.append(("text " + ctype, text))
            if ctype == "text/html":
                views.append(("html rendered", render_html(text)))
                views.append(("html as Outlook", render_html(re.sub(r"<!--\[if [^\]]*\]>|<!\[endif\]-->", "", text))))
            if part.get_param("format", "").lower() == "flowed":
                views.append(("flowed", unflow(text, part.get_param("delsp", "").lower() == "yes")))
            if ctype in ("text/calendar",):
                views.append(("calendar", ical_text(text)))
            if ctype in ("text/vcard", "text/x-vcard", "text/directory"):
                views.append(("vcard", vcard_text(text)))
            for block in uudecode_blocks(text):
                views += file_views("uu", block, ctx, depth + 1)
            if part.get_content_disposition() == "attachment" or fname:
                views += file_views(fname, data, ctx, depth + 1)
        elif ctype == "message/partial":
            ctx["encrypted"] = True
        else:
            views += file_views(fname, data, ctx, depth + 1)
    return views


def parse(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


def recovered(raw: bytes, number: str, ctx: dict, kanji=False) -> list:
    """The places (view names) where a recipient finds `number`."""
    pat = pattern(number)
    hits = []
    for where, text in message_views(parse(raw), ctx):
        if pat.search(normal(text, kanji)):
            hits.append(where)
    return hits


# =========================================================================================
# Checks of the written formats with the readers above
# =========================================================================================


def check_7z(data: bytes, number: str) -> bool:
    assert data[:6] == b"7z\xbc\xaf\x27\x1c"
    start = data[12:32]
    assert struct.unpack("<I", data[8:12])[0] == zlib.crc32(start) & 0xFFFFFFFF
    off, size, crc = struct.unpack("<QQI", start)
    header = data[32 + off:32 + off + size]
    assert zlib.crc32(header) & 0xFFFFFFFF == crc
    dec = lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA1, "dict_size": 1 << 16, "lc": 3, "lp": 0, "pb": 2}])
    plain = dec.decompress(data[32:32 + off])
    return bool(pattern(number).search(normal(sniff_text(plain)[0])))


def check_rar5(data: bytes, number: str) -> bool:
    assert data[:8] == b"Rar!\x1a\x07\x01\x00"
    pos, found = 8, False

    def vint(p):
        v, s = 0, 0
        while True:
            b = data[p]
            v |= (b & 0x7F) << s
            p += 1
            s += 7
            if not b & 0x80:
                return v, p

    while pos < len(data):
        crc = struct.unpack("<I", data[pos:pos + 4])[0]
        size, p = vint(pos + 4)
        assert zlib.crc32(data[pos + 4:p + size]) & 0xFFFFFFFF == crc, "RAR5 header CRC"
        htype, q = vint(p)
        flags, q = vint(q)
        dsize = 0
        if flags & 2:
            dsize, q = vint(q)
        if htype == 2:
            payload = data[p + size:p + size + dsize]
            found = bool(pattern(number).search(normal(sniff_text(payload)[0])))
        pos = p + size + dsize
        if htype == 5:
            break
    return found


def attachment_bytes(raw: bytes, suffix: str) -> bytes:
    for part in parse(raw).walk():
        if (part.get_filename() or "").endswith(suffix):
            return part.get_payload(decode=True)
    raise AssertionError("no attachment *" + suffix)


def check_media(data: bytes):
    """Structure checks for the clean attachments."""
    if data.startswith(b"\x89PNG"):
        pos = 8
        seen = []
        while pos < len(data):
            length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
            body = data[pos + 8:pos + 8 + length]
            assert struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0] == zlib.crc32(ctype + body) & 0xFFFFFFFF
            seen.append(ctype)
            pos += 12 + length
        assert seen[0] == b"IHDR" and seen[-1] == b"IEND" and pos == len(data)
    elif data.startswith(b"\xff\xd8"):
        assert data.endswith(b"\xff\xd9") and b"\xff\xc0" in data and b"\xff\xda" in data
    elif data.startswith(b"RIFF"):
        assert struct.unpack("<I", data[4:8])[0] == len(data) - 8 and data[8:12] == b"WAVE"
    elif data.startswith(b"%PDF"):
        xref = int(re.search(rb"startxref\n(\d+)", data).group(1))
        assert data[xref:xref + 4] == b"xref"
        for mt in re.finditer(rb"(\d{10}) 00000 n", data):
            assert re.match(rb"\d+ 0 obj", data[int(mt.group(1)):])
    elif data.startswith(b"PK"):
        zf = zipfile.ZipFile(io.BytesIO(data))
        assert zf.testzip() is None
        for nm in zf.namelist():
            check_media(zf.read(nm))


KEYWORDS = ("個人番号", "マイナンバー", "my number", "kojin bango")


def clean_findings(raw: bytes) -> tuple[list[str], list[str]]:
    """(chance-valid 12-digit numbers, problems) over every view of a clean mail."""
    valid, problems = [], []
    for where, text in message_views(parse(raw), {}):
        t = normal(text)
        for mt in re.finditer(r"(?<![0-9])(?:[0-9][ \-]?){11,18}[0-9](?![0-9])", t):
            digits = re.sub(r"\D", "", mt.group(0))
            if len(digits) == 12 and is_my_number(digits):
                valid.append(digits)
                around = t[max(0, mt.start() - 200):mt.end() + 200].lower()
                if any(k in around for k in KEYWORDS):
                    problems.append("My Number keyword within 200 characters of %s (%s)" % (digits, where))
            if 13 <= len(digits) <= 19 and luhn_ok(digits) and issuer_prefix(digits):
                problems.append("card-like number %s (%s)" % (digits, where))
    return sorted(set(valid)), problems


# =========================================================================================
# Main
# =========================================================================================


def build():
    nums = Numbers(SEED)
    out = {"mails": [], "clean": []}
    prev_number = None
    for idx, spec in enumerate(EVASIONS, 1):
        m = Mail("mails", idx, random.Random("%d-e-%d" % (SEED, idx)))
        if spec.get("same_number"):
            m.n = prev_number
        elif spec["kind"] == "card":
            m.n = nums.card(spec["card_prefix"])
        else:
            m.n = nums.my_number()
        m.extras = [nums.my_number(strict=False) for _ in range(spec.get("extras", 0))]
        prev_number = m.n
        res = spec["fn"](m)
        raw, info = (res if isinstance(res, tuple) else (res, {}))
        name = "%02d-%s.eml" % (idx, spec["short"])
        out["mails"].append(dict(spec=spec, name=name, raw=raw, info=info, number=m.n, extras=m.extras))
    for idx, spec in enumerate(CLEAN, 1):
        m = Mail("clean", idx, random.Random("%d-c-%d" % (SEED, idx)))
        raw, look = spec["fn"](m)
        out["clean"].append(dict(spec=spec, name="%02d-%s.eml" % (idx, spec["short"]), raw=raw, lookalikes=look))
    return out


def self_check(out) -> bool:
    ok = True
    frags = {}
    for e in out["mails"]:
        spec, raw, info, n = e["spec"], e["raw"], e["info"], e["number"]
        ctx = {"password": spec.get("password")}
        kanji = spec.get("kanji", False)
        note = ""
        if spec["cls"] == "unreadable":
            status = "n.a."
            if spec["short"].startswith("message-partial"):
                frags[spec["short"]] = parse(raw).get_payload()
                body = parse(raw).get_body() if False else None
                whole = raw.split(b"\r\n\r\n", 1)[1]
                frags[spec["short"]] = whole
                if len(frags) == 2:
                    joined = frags["message-partial-1of2"] + frags["message-partial-2of2"]
                    hits = recovered(joined, n, {})
                    note = "(both fragments reassembled: %s)" % ("yes" if hits else "NO")
                    ok &= bool(hits)
                else:
                    note = "(alone: %s)" % ("yes" if recovered(raw, n, {}) else "no")
            elif spec["short"] == "7z-lzma":
                good = check_7z(attachment_bytes(raw, ".7z"), n)
                note = "(7z headers/CRCs valid, LZMA stream unpacks to the number: %s)" % ("yes" if good else "NO")
                ok &= good
            elif spec["short"] == "rar5-stored":
                good = check_rar5(attachment_bytes(raw, ".rar"), n)
                note = "(RAR5 header CRCs valid, stored CSV holds the number: %s)" % ("yes" if good else "NO")
                ok &= good
            else:
                without = recovered(raw, n, {"password": None})
                hits = recovered(raw, n, ctx)
                if spec.get("password"):
                    note = "(without the password: %s; with it: %s)" % ("yes" if without else "no", "yes" if hits else "NO")
                    ok &= bool(hits) and not without
                else:
                    note = "(readable by a recipient: %s)" % ("yes, via " + hits[0] if hits else "no")
                    if spec["short"] == "unknown-dat-utf16le":
                        blob = attachment_bytes(raw, ".dat")
                        seen = any(pattern(n).search(normal(blob[k:].decode("utf-16-le", errors="replace"))) for k in (0, 1))
                        note = "(UTF-16LE strings in the blob, as `strings -el` shows them: %s)" % ("yes" if seen else "NO")
                        ok &= seen
                    if spec["short"] == "pdf-encrypted-empty-password":
                        ok &= bool(hits)
        else:
            hits = recovered(raw, n, ctx, kanji)
            if info.get("alt"):
                alt_hits = recovered(info["alt"](raw), n, ctx, kanji)
                note = "(Python's default reading: %s; %s reading: %s)" % (
                    "yes" if hits else "no", spec.get("reading", "other"), "yes via " + alt_hits[0] if alt_hits else "NO")
                good = bool(alt_hits)
            else:
                good = bool(hits)
                note = "(via %s)" % hits[0] if hits else ""
            status = "yes" if good else "no"
            if not good:
                ok = False
                note += "  <-- NOT RECOVERABLE"
        if not raw.startswith(b"From: ") or b"\n" in raw.replace(b"\r\n", b""):
            ok = False
            note += "  <-- bad line endings or start"
        if len(raw) > MAX_MAIL:
            ok = False
            note += "  <-- over 2 MB"
        print("%-42s %-17s recoverable: %s %s" % ("mails/" + e["name"], spec["cls"], status, note))
    with_lookalike = 0
    for c in out["clean"]:
        raw = c["raw"]
        valid, problems = clean_findings(raw)
        for part in parse(raw).walk():
            if part.get_content_disposition() == "attachment":
                check_media(part.get_payload(decode=True))
        missing = [x for x in c["lookalikes"] if is_my_number(x) and x not in valid]
        if missing:
            problems.append("planted look-alikes not found: %s" % missing)
        if valid:
            with_lookalike += 1
        if not raw.startswith(b"From: ") or b"\n" in raw.replace(b"\r\n", b""):
            problems.append("bad line endings")
        note = "(chance-valid 12-digit numbers: %d)" % len(valid)
        if problems:
            ok = False
            note += "  <-- " + "; ".join(problems)
        print("%-42s %-17s recoverable: n.a. %s" % ("clean/" + c["name"], c["spec"]["cls"], note))
    if with_lookalike < 10:
        print("FAIL: only %d clean mails carry a chance-valid number" % with_lookalike)
        ok = False
    keys = [e["number"] for e in out["mails"] if not e["spec"].get("same_number")]
    if len({k[:4] for k in keys}) != len(keys) or len({k[-2:] for k in keys}) != len(keys):
        print("FAIL: key numbers are not distinct in their first four / last two digits")
        ok = False
    for e in out["mails"]:
        assert (is_my_number(e["number"]) if e["spec"]["kind"] == "my" else luhn_ok(e["number"]) and issuer_prefix(e["number"]))
    return ok


def write(out):
    for sub in ("mails", "clean"):
        d = os.path.join(HERE, sub)
        os.makedirs(d, exist_ok=True)
        for f in sorted(os.listdir(d)):
            if f.endswith(".eml"):
                os.remove(os.path.join(d, f))
    total = 0
    rows = ["file\texpect\tclass\tdescription"]
    for sub, expect in (("mails", "stop"), ("clean", "pass")):
        for e in out[sub]:
            with open(os.path.join(HERE, sub, e["name"]), "wb") as f:
                f.write(e["raw"])
            total += len(e["raw"])
            desc = e["spec"]["desc"]
            if sub == "mails":
                desc += " [%s=%s]" % ("my_number" if e["spec"]["kind"] == "my" else "card", e["number"])
            assert "\t" not in desc and "\n" not in desc
            rows.append("%s/%s\t%s\t%s\t%s" % (sub, e["name"], expect, e["spec"]["cls"], desc))
    with open(os.path.join(HERE, "manifest.tsv"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(rows) + "\n")
    return total


def main() -> int:
    out = build()
    total = write(out)
    ok = self_check(out)
    print("%d evasion mails, %d clean mails, %.2f MB in all" % (len(out["mails"]), len(out["clean"]), total / 1e6))
    if total > MAX_CORPUS:
        print("FAIL: corpus over 8 MB")
        ok = False
    if len(out["mails"]) < 40 or len(out["clean"]) < 25 or len(out["mails"]) > 99 or len(out["clean"]) > 99:
        print("FAIL: wrong number of mails")
        ok = False
    print("self-check: %s" % ("OK" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
