#!/usr/bin/python3
"""PDFs for the format corpus: some by reportlab (text in a Japanese CID font, a form
field, a comment), some written here because no packaged tool writes them (content
streams under LZW, RunLength, ASCII85 and predictors; an incremental update; a `/Encrypt`
token in a comment), each of those checked with qpdf, an independent reader: `qpdf
--check` must pass and qpdf must decode each content stream to exactly what was meant.

    make_pdf.py OUT_DIR TWIN NUMBER

qpdf then makes the encrypted, object-stream and linearized variants (generate.sh).
"""

import subprocess
import sys
import zlib

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas


def lzw(data):
    """PDF LZW (EarlyChange 1), as libtiff writes it."""
    out, acc, count = bytearray(), 0, 0

    def put(code, width):
        nonlocal acc, count
        acc = (acc << width) | code
        count += width
        while count >= 8:
            count -= 8
            out.append((acc >> count) & 0xFF)
            acc &= (1 << count) - 1

    table = {bytes([i]): i for i in range(256)}
    width, nxt = 9, 258
    put(256, width)
    current = b""
    for byte in data:
        longer = current + bytes([byte])
        if longer in table:
            current = longer
            continue
        put(table[current], width)
        if nxt <= 4094:
            table[longer] = nxt
            nxt += 1
            if nxt >= 1 << width and width < 12:
                width += 1
        else:
            put(256, width)
            table = {bytes([i]): i for i in range(256)}
            width, nxt = 9, 258
        current = bytes([byte])
    if current:
        put(table[current], width)
    put(257, width)
    if count:
        put(0, 8 - count)
    return bytes(out)


def run_length(data):
    out = bytearray()
    for i in range(0, len(data), 128):
        chunk = data[i : i + 128]
        out.append(len(chunk) - 1)
        out += chunk
    out.append(128)
    return bytes(out)


def ascii85(data):
    import base64

    return base64.a85encode(data) + b"~>"


def png_up(data, columns):
    out, previous = bytearray(), bytes(columns)
    for i in range(0, len(data), columns):
        row = data[i : i + columns]
        out.append(2)
        out += bytes((b - previous[j]) & 0xFF for j, b in enumerate(row))
        previous = row.ljust(columns, b"\0")
    return bytes(out)


def pdf(objects, trailer_extra=b""):
    """A PDF of numbered objects (bytes bodies), with its xref table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number, body in objects:
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    size = max(offsets) + 1
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for n in range(1, size):
        out += b"%010d 00000 n \n" % offsets.get(n, 0)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s >>\nstartxref\n%d\n%%%%EOF\n" % (
        size,
        trailer_extra,
        xref,
    )
    return bytes(out), offsets, xref


def stream(extra, data):
    return b"<< /Length %d %s >>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def page_pdf(extra, data):
    objects = [
        (1, b"<< /Type /Catalog /Pages 2 0 R >>"),
        (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
        (
            3,
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        ),
        (4, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"),
        (5, stream(extra, data)),
    ]
    return objects


def incremental(content_before, content_after):
    """A file whose update section replaces the page content (object 5)."""
    objects = page_pdf(b"", content_before)
    first, offsets, xref = pdf(objects)
    update = bytearray(first)
    at = len(update)
    update += b"5 0 obj\n" + stream(b"", content_after) + b"\nendobj\n"
    xref2 = len(update)
    update += b"xref\n0 1\n0000000000 65535 f \n5 1\n%010d 00000 n \n" % at
    update += b"trailer\n<< /Size 6 /Root 1 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (
        xref,
        xref2,
    )
    return bytes(update)


def qpdf_stream(path, number):
    result = subprocess.run(
        ["qpdf", f"--show-object={number}", "--filtered-stream-data", path],
        capture_output=True,
        check=False,
    )
    return result.stdout


def main():
    out_dir, twin, number = sys.argv[1], sys.argv[2], sys.argv[3]
    path = lambda name: f"{out_dir}/{twin}-{name}"  # noqa: E731
    content = b"BT /F1 12 Tf 72 760 Td (Employee list) Tj 0 -20 Td (Yamada Taro, My Number %s) Tj ET" % number.encode()
    # Predictor rows are whole: the content padded with spaces to a multiple of 24.
    padded = content + b" " * (-len(content) % 24)
    hand = {
        "lzw.pdf": (b"/Filter /LZWDecode", lzw(content)),
        "runlength.pdf": (b"/Filter /RunLengthDecode", run_length(content)),
        "ascii85-flate.pdf": (b"/Filter [/ASCII85Decode /FlateDecode]", ascii85(zlib.compress(content))),
        "flate-png-predictor.pdf": (
            b"/Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 8 >>",
            zlib.compress(png_up(padded, 8)),
        ),
        "lzw-png-predictor.pdf": (
            b"/Filter /LZWDecode /DecodeParms << /Predictor 15 /Columns 6 >>",
            lzw(png_up(padded, 6)),
        ),
    }
    failures = []
    for name, (extra, data) in hand.items():
        body, _, _ = pdf(page_pdf(extra, data))
        with open(path(name), "wb") as f:
            f.write(body)
    # A comment that names /Encrypt, in an unencrypted file.
    objects = page_pdf(b"/Filter /FlateDecode", zlib.compress(content))
    objects.append((6, b"% trailer << /Encrypt 9 0 R >> was here\n<< /Note (/Encrypt) >>"))
    body, _, _ = pdf(objects)
    with open(path("encrypt-in-comment.pdf"), "wb") as f:
        f.write(body)
    # An incremental update: the number arrives in the update.
    with open(path("incremental.pdf"), "wb") as f:
        f.write(incremental(b"BT /F1 12 Tf 72 760 Td (draft) Tj ET", content))
    for name in [*hand, "incremental.pdf"]:
        got = qpdf_stream(path(name), 5)
        if got != (padded if "predictor" in name else content):
            failures.append(f"{name}: qpdf decodes {got[:80]!r}")
    # reportlab: Japanese text in a CID font, a form field, a comment.
    pdfmetrics.registerFont(UnicodeCIDFont("HeiseiKakuGo-W5"))
    c = canvas.Canvas(path("reportlab.pdf"), invariant=1)
    c.setFont("HeiseiKakuGo-W5", 12)
    c.drawString(72, 760, "社員名簿")
    c.drawString(72, 740, f"山田 太郎 個人番号 {number}")
    c.save()
    c = canvas.Canvas(path("form-field.pdf"), invariant=1)
    c.drawString(72, 760, "Application")
    c.acroForm.textfield(name="mynumber", value=number, x=72, y=700, width=200, height=20)
    c.save()
    c = canvas.Canvas(path("comment.pdf"), invariant=1)
    c.drawString(72, 760, "Reviewed")
    c.textAnnotation(f"My Number: {number}", Rect=(72, 700, 200, 720))
    c.save()
    for name in [*hand, "encrypt-in-comment.pdf", "incremental.pdf", "reportlab.pdf", "form-field.pdf", "comment.pdf"]:
        check = subprocess.run(["qpdf", "--check", path(name)], capture_output=True, check=False)
        if check.returncode != 0:
            failures.append(f"{name}: qpdf --check: {check.stdout[-300:]!r}")
    for failure in failures:
        print(f"make_pdf.py: {failure}", file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
