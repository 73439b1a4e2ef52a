#!/usr/bin/python3
"""Helper of ci/bench-relay (a benchmark, not a test). Standard library only.

  mix DIR --count N --seed S     write the office mix: DIR/NNNNN.eml (CRLF) and DIR/index.tsv
  payload FILE --size N          a body like smtp-source -l N sends (for the disk floor)
  push DIR --port P ...          send every DIR/*.eml once over parallel SMTP sessions
  sample OUT --pid PID...        sample the RSS/PSS of PID and its descendants until SIGTERM
  floor DIR --sessions S ...     write each message to a new file, fsync, rename, fsync dir
  audit DIR                      sum up Mamori's DLP verdicts from its audit log
  verify MAMORI DIR...           run `mamori dlp scan` on messages: every one must pass
  table RESULTS                  print the final tables from the bench's results file

The mix is generated deterministically from the seed: the same seed and count give the
same bytes. It never holds a 12-digit run (My Number), a 13-digit run (corporate number)
or a 13-19 digit card number: every run of digits is short or a phone number, so Mamori's
default DLP policy passes every message (checked with `verify`).
"""

import argparse
import base64
import email.header
import email.utils
import io
import json
import math
import os
import quopri
import random
import re
import signal
import smtplib
import subprocess
import sys
import threading
import time
import urllib.parse
import zipfile
import zlib
from datetime import datetime, timedelta, timezone

# --------------------------------------------------------------------------------------
# Vocabulary. Every Japanese string is encodable in ISO-2022-JP (JIS X 0208 only: no
# wave dash, circled digits or ㈱).

COMPANIES = ["山田商事", "さくら工業", "東京精密", "みなと物流", "青葉設計", "ひかり電機",
             "北斗システム", "大和建設", "若葉食品", "富士見印刷"]
PEOPLE = [("山田 太郎", "yamada"), ("佐藤 花子", "sato"), ("鈴木 一郎", "suzuki"),
          ("高橋 美咲", "takahashi"), ("田中 健", "tanaka"), ("伊藤 直子", "ito"),
          ("渡辺 翔", "watanabe"), ("中村 彩", "nakamura"), ("小林 誠", "kobayashi"),
          ("加藤 恵", "kato")]
DEPTS = ["営業部", "総務部", "経理部", "技術部", "購買部", "品質保証部"]
PLACES = ["弊社会議室", "御社", "オンライン（Teams）", "大阪支店", "名古屋営業所"]
ADDRESSES = [("100-0005", "東京都千代田区丸の内"), ("530-0001", "大阪府大阪市北区梅田"),
             ("460-0008", "愛知県名古屋市中区栄"), ("812-0011", "福岡県福岡市博多区博多駅前"),
             ("220-0012", "神奈川県横浜市西区みなとみらい"), ("980-0021", "宮城県仙台市青葉区中央")]
PRODUCTS = ["ボルト M8", "六角ナット", "制御基板 A型", "梱包資材", "コピー用紙 A4",
            "トナーカートリッジ", "LED照明", "安全靴", "作業手袋", "配線ケーブル 5m",
            "ノートPC", "液晶モニター", "保守サービス", "設計費", "運送費"]
UNITS = ["個", "式", "箱", "本", "台", "枚"]
NOTES = ["定期発注", "至急", "分納可", "検収済", "見積済", "要確認", "通常", "返品なし"]
DOMAINS = ["client.example.co.jp", "partner.example.jp", "supplier.example.com",
           "branch.example.ne.jp"]

JA_SENTENCES = [
    "いつも大変お世話になっております。",
    "{company}の{name}です。",
    "先日ご依頼いただきました件につきまして、お見積書をお送りいたします。",
    "ご確認のほど、よろしくお願いいたします。",
    "次回の打ち合わせですが、{m}月{d}日{h}時から{place}でいかがでしょうか。",
    "納期につきましては{m}月末を予定しております。",
    "ご請求金額は{amount}円（税込）となります。",
    "お手数ですが、内容をご確認のうえご返信いただけますと幸いです。",
    "本日の会議の議事録を共有いたします。",
    "資料の修正版を添付いたしましたので、差し替えをお願いいたします。",
    "ご不明な点がございましたら、{phone}までお電話ください。",
    "配送先は〒{zip} {addr}でお願いいたします。",
    "引き続きよろしくお願い申し上げます。",
    "承知いたしました。社内で確認のうえ、改めてご連絡いたします。",
    "先ほどお電話でお話しした件、詳細を以下にまとめました。",
    "年末年始の営業日は{m}月{d}日までとなります。",
    "担当が不在のため、折り返しは{mobile}までお願いいたします。",
    "新しい事務所の住所は〒{zip} {addr}です。",
    "検収書に押印のうえ、ご返送いただけますでしょうか。",
    "来週の出張の件、ホテルの手配は完了しております。",
]
EN_SENTENCES = [
    "Thank you for your email.",
    "Please find the minutes of today's meeting below.",
    "Could you review the attached quotation by Friday?",
    "Our Tokyo office can be reached at +81 {phone_intl}.",
    "The delivery is scheduled for the end of month {m}.",
    "The invoice total is JPY {amount}, tax included.",
    "Let me know if the meeting on {m}/{d} at {h}:00 works for you.",
    "I have updated the spreadsheet with the latest figures.",
    "Please ship the parts to {addr_en}.",
    "Best regards,",
    "We will get back to you after checking internally.",
    "For urgent matters, please call my mobile, {mobile}.",
]
SUBJECTS_JA = ["お見積書送付の件", "打ち合わせ日程のご相談", "議事録の共有", "請求書について",
               "納期のご確認", "資料修正版の送付", "年末年始の営業について", "発注書送付のお知らせ",
               "事務所移転のお知らせ", "Re: ご依頼の件", "【至急】仕様変更について", "売上集計のご報告"]
SUBJECTS_EN = ["Quotation", "Meeting schedule", "Minutes of the meeting", "Invoice",
               "Re: delivery date", "Updated documents", "Monthly sales report"]

BASE_DATE = datetime(2026, 12, 1, 9, 0, 0, tzinfo=timezone(timedelta(hours=9)))
CRLF = b"\r\n"


class Ctx:
    """Random choices for one message, from one seeded generator."""

    def __init__(self, rng):
        self.rng = rng

    def pick(self, seq):
        return self.rng.choice(seq)

    def digits(self, n):
        # A group of exactly n digits; the first one is never 0 (no leading zero to lose).
        return str(self.rng.randint(10 ** (n - 1), 10 ** n - 1))

    def phone(self):
        kind = self.rng.randrange(6)
        if kind == 0:
            return "03-%s-%s" % (self.digits(4), self.digits(4))
        if kind == 1:
            return "06-%s-%s" % (self.digits(4), self.digits(4))
        if kind == 2:
            return "052-%s-%s" % (self.digits(3), self.digits(4))
        if kind == 3:
            return "045-%s-%s" % (self.digits(3), self.digits(4))
        if kind == 4:
            return "0120-%s-%s" % (self.digits(3), self.digits(3))
        return "092-%s-%s" % (self.digits(3), self.digits(4))

    def mobile(self):
        return "%s-%s-%s" % (self.pick(["090", "080", "070"]), self.digits(4), self.digits(4))

    def address(self):
        zipc, base = self.pick(ADDRESSES)
        return zipc, "%s%d-%d-%d" % (base, self.rng.randint(1, 9), self.rng.randint(1, 20),
                                     self.rng.randint(1, 30))

    def amount(self):
        return "{:,}".format(self.rng.randint(1, 9999) * 100)

    def fields(self):
        zipc, addr = self.address()
        name, _ = self.pick(PEOPLE)
        return {
            "company": "株式会社" + self.pick(COMPANIES), "name": name, "place": self.pick(PLACES),
            "m": self.rng.randint(1, 12), "d": self.rng.randint(1, 28), "h": self.rng.randint(9, 17),
            "amount": self.amount(), "phone": self.phone(), "mobile": self.mobile(),
            "zip": zipc, "addr": addr,
            "phone_intl": "3-%s-%s" % (self.digits(4), self.digits(4)),
            "addr_en": "%d-%d Marunouchi, Chiyoda-ku, Tokyo" % (self.rng.randint(1, 9),
                                                              self.rng.randint(1, 20)),
        }

    def sentence(self, ja=True):
        return self.pick(JA_SENTENCES if ja else EN_SENTENCES).format(**self.fields())

    def signature(self, ja=True):
        f = self.fields()
        name, local = self.pick(PEOPLE)
        lines = ["--", f["company"], "%s %s" % (self.pick(DEPTS), name),
                 "〒%s %s" % (f["zip"], f["addr"]),
                 "TEL: %s / FAX: %s" % (self.phone(), self.phone()),
                 "携帯: %s" % self.mobile(), "Mail: %s@office.example.jp" % local]
        if not ja:
            lines = ["--", name.replace(" ", "") + " (" + local.title() + ")",
                     "Sales Dept., %s Co., Ltd." % local.title(),
                     "Tel: +81 %s" % f["phone_intl"], "Mail: %s@office.example.jp" % local]
        return lines

    def paragraphs(self, target_chars, ja=True):
        """Lines of text (wrapped) of about target_chars characters, a letter's shape."""
        out = []
        f = self.fields()
        out.append(("%s様" % f["name"]) if ja else "Dear %s," % self.pick(PEOPLE)[1].title())
        out.append("")
        total = 0
        while total < target_chars:
            para = "".join(self.sentence(ja) + ("" if ja else " ")
                           for _ in range(self.rng.randint(1, 4)))
            out.extend(wrap(para, 36 if ja else 72))
            out.append("")
            total += len(para)
            if self.rng.random() < 0.15:
                # A short itemised block, as business mail has.
                for k in range(self.rng.randint(2, 5)):
                    out.append(("・%s %d%s %s円" if ja else "- %s %d %s JPY %s") %
                               (self.pick(PRODUCTS), self.rng.randint(1, 50),
                                self.pick(UNITS), self.amount()))
                out.append("")
        out.extend(self.signature(ja))
        return out


def busy_cpu_seconds():
    """The machine's CPU time spent so far, all processes and the kernel (/proc/stat's user,
    nice, system, irq and softirq; not idle, iowait or time stolen by the host): the bench
    reads it at the start and the end of a run."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    user, nice, system, _idle, _iowait, irq, softirq = (int(x) for x in fields[1:8])
    return "%.2f" % ((user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK"))


def wrap(text, width):
    """Lines of at most `width` characters, broken only between words: a run of ASCII
    (a phone number, a postcode, an amount, an English word) is never cut, each Japanese
    character is a word of its own."""
    lines, cur = [], ""
    for tok in re.findall(r"[\x21-\x7e]+|\s+|.", text):
        if cur and len(cur) + len(tok) > width:
            lines.append(cur.rstrip())
            cur = tok.lstrip()
        else:
            cur += tok
    lines.append(cur.rstrip())
    return lines


# --------------------------------------------------------------------------------------
# MIME

def enc_header(value, charset):
    """An RFC 2047 encoded header value (folded with CRLF), or the value if ASCII."""
    try:
        value.encode("ascii")
        return value
    except UnicodeEncodeError:
        pass
    return email.header.Header(value, charset).encode(maxlinelen=76).replace("\n", "\r\n")


def enc_addr(name, addr, charset):
    try:
        name.encode("ascii")
        return '"%s" <%s>' % (name, addr)
    except UnicodeEncodeError:
        return "%s <%s>" % (email.header.Header(name, charset).encode(), addr)


def encode_text(lines, kind):
    """(charset, Content-Transfer-Encoding, body bytes with CRLF) for text lines."""
    if kind == "jis":
        # Each line on its own, so that every line ends back in ASCII, as mailers write it.
        body = CRLF.join(line.encode("iso-2022-jp") for line in lines) + CRLF
        return "ISO-2022-JP", "7bit", body
    raw = "\n".join(lines).encode("utf-8") + b"\n"
    if kind == "8bit":
        return "UTF-8", "8bit", raw.replace(b"\n", CRLF)
    if kind == "qp":
        return "UTF-8", "quoted-printable", quopri.encodestring(raw).replace(b"\n", CRLF)
    return "UTF-8", "base64", base64.encodebytes(raw).replace(b"\n", CRLF)


def text_part(lines, kind, subtype="plain"):
    charset, cte, body = encode_text(lines, kind)
    head = ["Content-Type: text/%s; charset=%s" % (subtype, charset if kind != "jis" else
                                                   '"ISO-2022-JP"'),
            "Content-Transfer-Encoding: %s" % cte]
    return head, body


def html_of(lines):
    out = ["<html><head><meta charset=\"utf-8\"></head><body>"]
    for line in lines:
        esc = line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        out.append("<div>%s</div>" % esc if esc else "<div><br></div>")
    out.append("</body></html>")
    return out


def attachment_part(name, ctype, data, charset, rfc2231):
    b64 = base64.encodebytes(data).replace(b"\n", CRLF)
    if charset == "ISO-2022-JP":
        word = email.header.Header(name, "iso-2022-jp").encode(maxlinelen=10_000)
    else:
        word = "=?UTF-8?B?%s?=" % base64.b64encode(name.encode("utf-8")).decode()
    if rfc2231:
        disp = "attachment;\r\n filename*=UTF-8''%s" % urllib.parse.quote(name.encode("utf-8"))
    else:
        disp = 'attachment;\r\n filename="%s"' % word
    head = ['Content-Type: %s;\r\n name="%s"' % (ctype, word), "Content-Disposition: " + disp,
            "Content-Transfer-Encoding: base64"]
    return head, b64


def multipart(subtype, boundary, parts):
    head = ['Content-Type: multipart/%s;\r\n boundary="%s"' % (subtype, boundary)]
    body = io.BytesIO()
    body.write(b"This is a multi-part message in MIME format.\r\n")
    for phead, pbody in parts:
        body.write(b"\r\n--" + boundary.encode() + CRLF)
        body.write("\r\n".join(phead).encode("ascii") + CRLF + CRLF)
        body.write(pbody)
    body.write(b"\r\n--" + boundary.encode() + b"--\r\n")
    return head, body.getvalue()


# --------------------------------------------------------------------------------------
# Binary content: an image-like JPEG (structurally whole: SOI, JFIF, DQT, SOF0, DHT, SOS,
# entropy-coded data with no marker in it, EOI), Office packages, a PDF, a ZIP.

def segment(marker, data):
    return bytes([0xFF, marker]) + (len(data) + 2).to_bytes(2, "big") + data


NO_FF = bytes(range(255)) + b"\xfe"


def jpeg(rng, size):
    head = b"\xff\xd8" + segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x48\x00\x48\x00\x00")
    head += segment(0xDB, b"\x00" + bytes(rng.randint(1, 60) for _ in range(64)))
    width, height = 1600 + rng.randrange(8) * 160, 1200 + rng.randrange(6) * 120
    head += segment(0xC0, b"\x08" + height.to_bytes(2, "big") + width.to_bytes(2, "big") +
                    b"\x03\x01\x22\x00\x02\x11\x00\x03\x11\x00")
    # A DC table: 12 codes of lengths 2..9 (the standard luminance one).
    head += segment(0xC4, b"\x00" + bytes([0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]) +
                    bytes(range(12)))
    head += segment(0xDA, b"\x03\x01\x00\x02\x00\x03\x00\x00\x3f\x00")
    n = max(1024, size - len(head) - 2)
    return head + rng.randbytes(n).translate(NO_FF) + b"\xff\xd9"


def padded_zip(parts, at, picture, rng, size):
    """The OOXML package `parts` with a picture inserted at `at` that brings it to about
    `size` bytes (the bulk of an office document is its pictures)."""
    rest = len(zip_bytes(parts)) + 200
    parts.insert(at, (picture, jpeg(rng, size - rest), False))
    return zip_bytes(parts)


def zip_bytes(entries):
    """entries: (name, data, compress). Fixed timestamps: the same bytes every time."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data, compress in entries:
            info = zipfile.ZipInfo(name, date_time=(2026, 11, 30, 9, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
    return buf.getvalue()


def xml_escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
NS_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
NS_OREL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def rels(items):
    out = [XML_DECL, '<Relationships xmlns="%s">' % NS_REL]
    for rid, kind, target in items:
        out.append('<Relationship Id="%s" Type="%s" Target="%s"/>' % (rid, kind, target))
    out.append("</Relationships>")
    return "".join(out).encode()


def package_rels(main):
    """The package's own relationships: its main part and the two property parts."""
    return rels([
        ("rId1", NS_OREL + "/officeDocument", main),
        ("rId2", NS_REL + "/metadata/core-properties", "docProps/core.xml"),
        ("rId3", NS_OREL + "/extended-properties", "docProps/app.xml")])


def core_props(ctx, title):
    name, _ = ctx.pick(PEOPLE)
    return (XML_DECL + '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/'
            '2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            "<dc:title>%s</dc:title><dc:creator>%s</dc:creator>"
            '<dcterms:created xsi:type="dcterms:W3CDTF">2026-11-30T09:00:00Z</dcterms:created>'
            "</cp:coreProperties>" % (xml_escape(title), xml_escape(name))).encode()


def app_props(app):
    return (XML_DECL + '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
            'extended-properties"><Application>%s</Application></Properties>' % app).encode()


def docx(ctx, size, title):
    """A Word document: headings, paragraphs, a contact table, a picture for the bulk."""
    rng = ctx.rng
    body = []

    def para(text, bold=False):
        rpr = "<w:rPr><w:b/></w:rPr>" if bold else ""
        body.append('<w:p><w:r>%s<w:t xml:space="preserve">%s</w:t></w:r></w:p>'
                    % (rpr, xml_escape(text)))

    para(title, bold=True)
    for _ in range(rng.randint(20, 120)):
        para("".join(ctx.sentence(True) for _ in range(rng.randint(1, 4))))
    para("連絡先一覧", bold=True)
    cols = ["会社名", "担当者", "部署", "電話番号", "住所"]
    body.append('<w:tbl><w:tblPr><w:tblW w:w="0" w:type="auto"/></w:tblPr><w:tblGrid>%s'
                "</w:tblGrid>" % ("<w:gridCol w:w=\"1800\"/>" * len(cols)))

    def row(cells):
        body.append("<w:tr>%s</w:tr>" % "".join(
            '<w:tc><w:tcPr><w:tcW w:w="1800" w:type="dxa"/></w:tcPr><w:p><w:r><w:t>%s</w:t>'
            "</w:r></w:p></w:tc>" % xml_escape(c) for c in cells))

    row(cols)
    for _ in range(rng.randint(5, 40)):
        zipc, addr = ctx.address()
        row(["株式会社" + ctx.pick(COMPANIES), ctx.pick(PEOPLE)[0], ctx.pick(DEPTS),
             ctx.phone(), "〒%s %s" % (zipc, addr)])
    body.append("</w:tbl>")
    for _ in range(rng.randint(5, 30)):
        para("".join(ctx.sentence(True) for _ in range(rng.randint(1, 3))))
    body.append(
        '<w:p><w:r><w:drawing><wp:inline distT="0" distB="0" distL="0" distR="0">'
        '<wp:extent cx="5400000" cy="4050000"/><wp:docPr id="1" name="図 1"/><a:graphic>'
        '<a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture">'
        '<pic:pic><pic:nvPicPr><pic:cNvPr id="1" name="image1.jpeg"/><pic:cNvPicPr/>'
        '</pic:nvPicPr><pic:blipFill><a:blip r:embed="rId1"/><a:stretch><a:fillRect/>'
        '</a:stretch></pic:blipFill><pic:spPr><a:xfrm><a:off x="0" y="0"/>'
        '<a:ext cx="5400000" cy="4050000"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/>'
        "</a:prstGeom></pic:spPr></pic:pic></a:graphicData></a:graphic></wp:inline>"
        "</w:drawing></w:r></w:p>")
    body.append('<w:sectPr><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1985" '
                'w:right="1701" w:bottom="1701" w:left="1701" w:header="851" w:footer="992" '
                'w:gutter="0"/></w:sectPr>')
    document = (XML_DECL + '<w:document xmlns:w="http://schemas.openxmlformats.org/'
                'wordprocessingml/2006/main" xmlns:r="%s" xmlns:wp="http://schemas.'
                'openxmlformats.org/drawingml/2006/wordprocessingDrawing" xmlns:a="http://'
                'schemas.openxmlformats.org/drawingml/2006/main" xmlns:pic="http://schemas.'
                'openxmlformats.org/drawingml/2006/picture"><w:body>%s</w:body></w:document>'
                % (NS_OREL, "".join(body))).encode()
    types = (XML_DECL + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
             'content-types"><Default Extension="rels" ContentType="application/vnd.'
             'openxmlformats-package.relationships+xml"/><Default Extension="xml" '
             'ContentType="application/xml"/><Default Extension="jpeg" ContentType="image/'
             'jpeg"/><Override PartName="/word/document.xml" ContentType="application/vnd.'
             'openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override '
             'PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-'
             'package.core-properties+xml"/><Override PartName="/docProps/app.xml" '
             'ContentType="application/vnd.openxmlformats-officedocument.extended-'
             'properties+xml"/></Types>').encode()
    parts = [
        ("[Content_Types].xml", types, True),
        ("_rels/.rels", package_rels("word/document.xml"), True),
        ("word/document.xml", document, True),
        ("word/_rels/document.xml.rels", rels([("rId1", NS_OREL + "/image",
                                                "media/image1.jpeg")]), True),
        ("docProps/core.xml", core_props(ctx, title), True),
        ("docProps/app.xml", app_props("Microsoft Office Word"), True),
    ]
    return padded_zip(parts, 4, "word/media/image1.jpeg", rng, size)


def col_name(i):
    return "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[i]


SHEET_COLS = ["日付", "伝票番号", "取引先", "担当者", "電話番号", "品名", "単価", "数量", "単位",
              "金額", "備考"]


def sheet_rows(ctx, count):
    """Rows of a sales ledger. No two numeric cells make a long digit chain: the numbers
    (unit price, quantity: at most 7 digits together; the amount alone between text
    cells) are separated by text, and every row starts and ends with text."""
    rng = ctx.rng
    rows = []
    for _ in range(count):
        price = rng.randint(1, 999) * 10
        qty = rng.randint(1, 99)
        rows.append(["2026/%02d/%02d" % (rng.randint(1, 11), rng.randint(1, 28)),
                     "INV-%s" % ctx.digits(5), "株式会社" + ctx.pick(COMPANIES),
                     ctx.pick(PEOPLE)[0], ctx.phone(), ctx.pick(PRODUCTS), price, qty,
                     ctx.pick(UNITS), price * qty, ctx.pick(NOTES)])
    return rows


def xlsx(ctx, size, title):
    rng = ctx.rng
    strings, index = [], {}

    def sidx(s):
        if s not in index:
            index[s] = len(strings)
            strings.append(s)
        return index[s]

    rows = [SHEET_COLS] + sheet_rows(ctx, rng.randint(100, 1500))
    xml_rows = []
    for r, cells in enumerate(rows, start=1):
        out = []
        for c, value in enumerate(cells):
            ref = "%s%d" % (col_name(c), r)
            if isinstance(value, int):
                out.append('<c r="%s"><v>%d</v></c>' % (ref, value))
            else:
                out.append('<c r="%s" t="s"><v>%d</v></c>' % (ref, sidx(value)))
        xml_rows.append('<row r="%d">%s</row>' % (r, "".join(out)))
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    sheet = (XML_DECL + '<worksheet xmlns="%s" xmlns:r="%s"><sheetData>%s</sheetData>'
             '<drawing r:id="rId1"/></worksheet>' % (ns, NS_OREL, "".join(xml_rows))).encode()
    sst = (XML_DECL + '<sst xmlns="%s" count="%d" uniqueCount="%d">%s</sst>' % (
        ns, len(strings), len(strings),
        "".join("<si><t>%s</t></si>" % xml_escape(s) for s in strings))).encode()
    workbook = (XML_DECL + '<workbook xmlns="%s" xmlns:r="%s"><sheets><sheet name="%s" '
                'sheetId="1" r:id="rId1"/></sheets></workbook>' % (ns, NS_OREL, "売上明細")
                ).encode()
    styles = (XML_DECL + '<styleSheet xmlns="%s"><fonts count="1"><font><sz val="11"/>'
              '<name val="Yu Gothic"/></font></fonts><fills count="2"><fill><patternFill '
              'patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
              '</fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/>'
              '</border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" '
              'fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="1"><xf numFmtId="0" '
              'fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs></styleSheet>' % ns
              ).encode()
    drawing = (XML_DECL + '<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/'
               '2006/spreadsheetDrawing" xmlns:a="http://schemas.openxmlformats.org/drawingml/'
               '2006/main" xmlns:r="%s"><xdr:oneCellAnchor><xdr:from><xdr:col>12</xdr:col>'
               '<xdr:colOff>0</xdr:colOff><xdr:row>1</xdr:row><xdr:rowOff>0</xdr:rowOff>'
               '</xdr:from><xdr:ext cx="4800000" cy="3600000"/><xdr:pic><xdr:nvPicPr>'
               '<xdr:cNvPr id="2" name="図 1"/><xdr:cNvPicPr/></xdr:nvPicPr><xdr:blipFill>'
               '<a:blip r:embed="rId1"/><a:stretch><a:fillRect/></a:stretch></xdr:blipFill>'
               '<xdr:spPr><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></xdr:spPr></xdr:pic>'
               '<xdr:clientData/></xdr:oneCellAnchor></xdr:wsDr>' % NS_OREL).encode()
    ct = "application/vnd.openxmlformats-officedocument."
    types = (XML_DECL + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
             'content-types"><Default Extension="rels" ContentType="application/vnd.'
             'openxmlformats-package.relationships+xml"/><Default Extension="xml" '
             'ContentType="application/xml"/><Default Extension="jpeg" ContentType="image/jpeg"/>'
             '<Override PartName="/xl/workbook.xml" ContentType="{ct}spreadsheetml.sheet.main+xml"/>'
             '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{ct}spreadsheetml.'
             'worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="{ct}'
             'spreadsheetml.sharedStrings+xml"/><Override PartName="/xl/styles.xml" '
             'ContentType="{ct}spreadsheetml.styles+xml"/><Override PartName="/xl/drawings/'
             'drawing1.xml" ContentType="{ct}drawing+xml"/><Override PartName="/docProps/'
             'core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
             '<Override PartName="/docProps/app.xml" ContentType="{ct}extended-properties+xml"/>'
             '</Types>').format(ct=ct).encode()
    parts = [
        ("[Content_Types].xml", types, True),
        ("_rels/.rels", package_rels("xl/workbook.xml"), True),
        ("xl/workbook.xml", workbook, True),
        ("xl/_rels/workbook.xml.rels", rels([
            ("rId1", NS_OREL + "/worksheet", "worksheets/sheet1.xml"),
            ("rId2", NS_OREL + "/sharedStrings", "sharedStrings.xml"),
            ("rId3", NS_OREL + "/styles", "styles.xml")]), True),
        ("xl/worksheets/sheet1.xml", sheet, True),
        ("xl/worksheets/_rels/sheet1.xml.rels", rels([
            ("rId1", NS_OREL + "/drawing", "../drawings/drawing1.xml")]), True),
        ("xl/drawings/drawing1.xml", drawing, True),
        ("xl/drawings/_rels/drawing1.xml.rels", rels([
            ("rId1", NS_OREL + "/image", "../media/image1.jpeg")]), True),
        ("xl/sharedStrings.xml", sst, True),
        ("xl/styles.xml", styles, True),
        ("docProps/core.xml", core_props(ctx, title), True),
        ("docProps/app.xml", app_props("Microsoft Excel"), True),
    ]
    return padded_zip(parts, 8, "xl/media/image1.jpeg", rng, size)


def pdf_text(s):
    """A PDF string for the font: UTF-16BE hex for the Japanese CID font (UniJIS-UCS2-H)."""
    return "<%s>" % s.encode("utf-16-be").hex().upper()


def pdf(ctx, size, title):
    """A PDF of a few pages of text (Helvetica for English, a non-embedded Japanese CID font
    with UniJIS-UCS2-H, as office software writes them) and a DCT image on page 1 for the
    bulk. Streams Flate-compressed, a correct xref table."""
    rng = ctx.rng
    pages = rng.randint(1, 5)
    objs = {}
    # 1 catalog, 2 pages, 3 Helvetica, 4 Japanese Type0, 5 CIDFont, 6 descriptor, 7 image,
    # 8 info, then per page: page, content.
    first = 9
    kids = " ".join("%d 0 R" % (first + 2 * p) for p in range(pages))
    objs[1] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objs[2] = ("<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages)).encode()
    objs[3] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    objs[4] = (b"<< /Type /Font /Subtype /Type0 /BaseFont /HeiseiKakuGo-W5 /Encoding "
               b"/UniJIS-UCS2-H /DescendantFonts [5 0 R] >>")
    objs[5] = (b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /HeiseiKakuGo-W5 "
               b"/CIDSystemInfo << /Registry (Adobe) /Ordering (Japan1) /Supplement 2 >> "
               b"/FontDescriptor 6 0 R /DW 1000 >>")
    objs[6] = (b"<< /Type /FontDescriptor /FontName /HeiseiKakuGo-W5 /Flags 4 /FontBBox "
               b"[-92 -250 1010 922] /ItalicAngle 0 /Ascent 752 /Descent -221 /CapHeight 737 "
               b"/StemV 114 >>")
    objs[8] = ("<< /Producer (Mamori bench-relay) /Title %s >>" % (
        "<FEFF%s>" % title.encode("utf-16-be").hex().upper())).encode()
    for p in range(pages):
        lines = ["BT /F4 16 Tf 56 780 Td %s Tj ET" % pdf_text(title if p == 0 else
                                                            "%s（%d）" % (title, p + 1)),
                 "BT /F4 10 Tf 56 750 Td 15 TL"]
        for _ in range(rng.randint(15, 40) if p else 12):
            if rng.random() < 0.8:
                lines.append("%s Tj T*" % pdf_text(ctx.sentence(True)[:40]))
            else:
                s = ctx.sentence(False)[:80].replace("\\", "").replace("(", "").replace(")", "")
                lines.append("/F3 10 Tf (%s) Tj T* /F4 10 Tf" % s)
        zipc, addr = ctx.address()
        lines.append("%s Tj T*" % pdf_text("〒%s %s TEL %s" % (zipc, addr, ctx.phone())))
        lines.append("ET")
        if p == 0:
            lines.append("q 400 0 0 300 96 80 cm /Im1 Do Q")
        content = zlib.compress("\n".join(lines).encode("ascii"), 6)
        objs[first + 2 * p] = (
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << "
            "/F3 3 0 R /F4 4 0 R >> /XObject << /Im1 7 0 R >> >> /Contents %d 0 R >>"
            % (first + 2 * p + 1)).encode()
        objs[first + 2 * p + 1] = (b"<< /Length %d /Filter /FlateDecode >>\nstream\n" %
                                   len(content) + content + b"\nendstream")

    def assemble(image):
        objs[7] = (b"<< /Type /XObject /Subtype /Image /Width 1600 /Height 1200 /ColorSpace "
                   b"/DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n"
                   % len(image) + image + b"\nendstream")
        out = io.BytesIO()
        out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        offsets = {}
        for n in sorted(objs):
            offsets[n] = out.tell()
            out.write(b"%d 0 obj\n" % n + objs[n] + b"\nendobj\n")
        xref = out.tell()
        count = max(objs) + 1
        out.write(b"xref\n0 %d\n0000000000 65535 f \n" % count)
        for n in range(1, count):
            out.write(b"%010d 00000 n \n" % offsets[n])
        out.write(b"trailer\n<< /Size %d /Root 1 0 R /Info 8 0 R >>\nstartxref\n%d\n%%%%EOF\n"
                  % (count, xref))
        return out.getvalue()

    rest = len(assemble(b"")) + 40
    return assemble(jpeg(rng, size - rest))


def csv_cp932(ctx, rows):
    lines = [",".join(SHEET_COLS)]
    for row in sheet_rows(ctx, rows):
        lines.append(",".join('"%s"' % v if isinstance(v, str) else str(v) for v in row))
    return ("\r\n".join(lines) + "\r\n").encode("cp932")


def zip_attachment(ctx, size):
    """An archive as offices send them: a quotation PDF, minutes, a CSV export, a note and
    site photos."""
    rng = ctx.rng
    company = ctx.pick(COMPANIES)
    csv = csv_cp932(ctx, rng.randint(50, 800))
    note = "\r\n".join(ctx.paragraphs(600, True)).encode("utf-8")
    share = max(60_000, (size - len(csv) - len(note)) // 3)
    entries = [
        ("見積書_%s.pdf" % company, pdf(ctx, share, "御見積書 %s御中" % company), False),
        ("議事録_12月.docx", docx(ctx, share // 2, "定例会議 議事録"), False),
        ("売上集計.csv", csv, True),
        ("お読みください.txt", note, True),
    ]
    photos = rng.randint(1, 3)
    per = max(30_000, (size - sum(len(e[1]) for e in entries)) // photos)
    for k in range(photos):
        entries.append(("現場写真/写真%02d.jpg" % (k + 1), jpeg(rng, per), False))
    return zip_bytes(entries)


ATTACH_KINDS = {
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             ["見積書", "議事録", "提案書", "報告書", "仕様書"], docx),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             ["売上明細", "請求一覧", "在庫表", "発注リスト", "経費精算"], xlsx),
    "pdf": ("application/pdf", ["御見積書", "請求書", "会社案内", "カタログ", "注文書"], pdf),
}


def log_uniform(rng, lo, hi):
    return int(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def make_message(seed, i):
    """Message i of the mix for this seed: (kind, bytes). Each message has its own generator
    seeded from (seed, i), so any message can be made alone and the mix does not change
    when the count does."""
    rng = random.Random("%d/%d" % (seed, i))
    ctx = Ctx(rng)
    roll = rng.random()
    if roll < 0.80:
        kind = "text"
    elif roll < 0.86:
        kind = "docx"
    elif roll < 0.91:
        kind = "xlsx"
    elif roll < 0.97:
        kind = "pdf"
    else:
        kind = "zip"
    enc = rng.choices(["jis", "8bit", "qp", "b64"], weights=[35, 25, 20, 20])[0]
    ja = enc == "jis" or rng.random() < 0.8
    charset = "iso-2022-jp" if enc == "jis" else "utf-8"
    sender_name, sender_local = ctx.pick(PEOPLE)
    rcpt_name, rcpt_local = ctx.pick(PEOPLE)
    subject = ctx.pick(SUBJECTS_JA if ja else SUBJECTS_EN)
    date = BASE_DATE + timedelta(seconds=73 * i)
    headers = [
        "Date: " + email.utils.format_datetime(date),
        "From: " + enc_addr(sender_name, "%s@office.example.jp" % sender_local, charset),
        "To: " + enc_addr(rcpt_name, "%s@%s" % (rcpt_local, ctx.pick(DOMAINS)), charset),
        "Subject: " + enc_header(subject, charset),
        "Message-ID: <%d.%05d.bench@office.example.jp>" % (seed, i),
        "MIME-Version: 1.0",
        "X-Mailer: %s" % ctx.pick(["Microsoft Outlook 16.0", "Thunderbird 128.5",
                                   "Becky! ver. 2.81", "Apple Mail (2.3826)"]),
    ]
    text_chars = log_uniform(rng, 200, 6_000) if kind == "text" else rng.randint(150, 800)
    lines = ctx.paragraphs(text_chars, ja)
    if kind == "text" and rng.random() < 0.3:
        quoted = ctx.paragraphs(log_uniform(rng, 200, 3_000), ja)
        lines += ["", ("%sさんは書きました:" if ja else "%s wrote:") % rcpt_name]
        lines += ["> " + q for q in quoted]
    parts = []
    if rng.random() < 0.25:
        alt = multipart("alternative", "=_alt_%d_%05d" % (seed, i),
                        [text_part(lines, enc), text_part(html_of(lines), enc, "html")])
        parts.append(alt)
    else:
        parts.append(text_part(lines, enc))
    if kind != "text":
        size = log_uniform(rng, 200_000, 5_000_000)
        if kind == "zip":
            data = zip_attachment(ctx, size)
            name = "%s_資料一式.zip" % ctx.pick(COMPANIES)
            ctype = rng.choice(["application/zip", "application/x-zip-compressed"])
        else:
            ctype, names, make = ATTACH_KINDS[kind]
            title = ctx.pick(names)
            data = make(ctx, size, title)
            name = "%s_%s.%s" % (title, ctx.pick(COMPANIES), kind)
        parts.append(attachment_part(name, ctype, data, charset.upper(), rng.random() < 0.3))
        head, body = multipart("mixed", "=_mixed_%d_%05d" % (seed, i), parts)
    else:
        head, body = parts[0]
    out = "\r\n".join(headers + head).encode("ascii") + CRLF + CRLF + body
    return kind, out


def cmd_mix(args):
    os.makedirs(args.dir, exist_ok=True)
    kinds, total = {}, 0
    with open(os.path.join(args.dir, "index.tsv"), "w") as index:
        for i in range(args.count):
            kind, data = make_message(args.seed, i)
            name = "%05d.eml" % i
            with open(os.path.join(args.dir, name), "wb") as f:
                f.write(data)
            index.write("%s\t%d\t%s\n" % (name, len(data), kind))
            k = kinds.setdefault(kind, [0, 0])
            k[0] += 1
            k[1] += len(data)
            total += len(data)
    summary = ", ".join("%s %d (%.1f MB)" % (k, v[0], v[1] / 1e6) for k, v in sorted(kinds.items()))
    print("%d messages, %.1f MB: %s" % (args.count, total / 1e6, summary))


def cmd_payload(args):
    """A file the size of smtp-source's -l payload, lines of 78 characters and CRLF."""
    line = b"X" * 78 + CRLF
    with open(args.file, "wb") as f:
        full, rest = divmod(args.size, len(line))
        f.write(line * full + b"X" * rest)


# --------------------------------------------------------------------------------------
# Pushing prepared messages

def wire(data):
    """CRLF line ends, dot-stuffed, with the final dot: ready to write after DATA's 354."""
    data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    if data.startswith(b"."):
        data = b"." + data
    return data.replace(b"\r\n.", b"\r\n..") + b".\r\n"


def cmd_push(args):
    files = sorted(f for f in os.listdir(args.dir) if f.endswith(".eml"))
    messages = []
    for name in files:
        with open(os.path.join(args.dir, name), "rb") as f:
            raw = f.read()
        messages.append((name, wire(raw), any(b >= 0x80 for b in raw)))
    lock = threading.Lock()
    state = {"next": 0, "ok": 0, "failed": [], "waits": []}

    def one(name, data, eight_bit):
        s = smtplib.SMTP(args.host, args.port, local_hostname="client.bench.test",
                         timeout=args.timeout)
        try:
            s.ehlo()
            opts = ["BODY=8BITMIME"] if eight_bit and s.has_extn("8bitmime") else []
            if s.has_extn("size"):
                opts.append("SIZE=%d" % len(data))
            code, msg = s.mail(args.sender, opts)
            if code != 250:
                return "MAIL %d %s" % (code, msg)
            code, msg = s.rcpt(args.recipient)
            if code not in (250, 251):
                return "RCPT %d %s" % (code, msg)
            s.putcmd("data")
            code, msg = s.getreply()
            if code != 354:
                return "DATA %d %s" % (code, msg)
            if args.rate > 0:
                # A sender's uplink: the content at --rate octets a second per session.
                chunk = max(4096, args.rate // 50)
                start = time.monotonic()
                for at in range(0, len(data), chunk):
                    # Each chunk once the uplink has carried the ones before it.
                    ahead = start + at / args.rate - time.monotonic()
                    if ahead > 0:
                        time.sleep(ahead)
                    s.send(data[at:at + chunk])
            else:
                s.send(data)
            dot = time.monotonic()
            code, msg = s.getreply()
            if len(data) > 256 * 1024:
                with lock:
                    state["waits"].append(time.monotonic() - dot)
            if code != 250:
                return "end of data %d %s" % (code, msg)
            return None
        finally:
            try:
                s.quit()
            except (smtplib.SMTPException, OSError):
                s.close()

    def worker():
        while True:
            with lock:
                i = state["next"]
                if i >= len(messages):
                    return
                state["next"] = i + 1
            name, data, eight_bit = messages[i]
            try:
                err = one(name, data, eight_bit)
            except (smtplib.SMTPException, OSError) as e:
                err = repr(e)
            with lock:
                if err is None:
                    state["ok"] += 1
                else:
                    state["failed"].append("%s: %s" % (name, err))

    threads = [threading.Thread(target=worker) for _ in range(args.sessions)]
    t0 = time.time()
    with open(args.t0_file, "w") as f:
        f.write("%.6f %s\n" % (t0, busy_cpu_seconds()))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    t1 = time.time()
    print("pushed %d of %d messages in %.3f s over %d sessions" %
          (state["ok"], len(messages), t1 - t0, args.sessions))
    waits = sorted(state["waits"])
    if waits:
        pick = lambda q: waits[min(len(waits) - 1, int(q * len(waits)))] * 1000
        print("wait after the final dot, messages over 256 KiB (%d): median %.1f ms, "
              "p90 %.1f ms, mean %.1f ms" % (len(waits), pick(0.5), pick(0.9),
                                           1000 * sum(waits) / len(waits)))
    for line in state["failed"][:20]:
        print("error: " + line, file=sys.stderr)
    sys.exit(0 if not state["failed"] else 1)


# --------------------------------------------------------------------------------------
# Memory sampling

def descendants(roots):
    parent = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        parent[int(entry)] = int(fields[1])
    found = {r for r in roots if r in parent}
    changed = True
    while changed:
        changed = False
        for pid, ppid in parent.items():
            if ppid in found and pid not in found:
                found.add(pid)
                changed = True
    return found


def status_kib(pid, keys):
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                key = line.split(":", 1)[0]
                if key in keys:
                    out[key] = int(line.split()[1])
    except OSError:
        pass
    return out


def pss_kib(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cmd_sample(args):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    peak_rss = peak_pss = peak_procs = samples = 0
    hwm = {}
    names = {}
    while not stop:
        procs = descendants(args.pid)
        rss = pss = 0
        for pid in procs:
            st = status_kib(pid, ("VmRSS", "VmHWM"))
            rss += st.get("VmRSS", 0)
            if args.pss:
                pss += pss_kib(pid)
            if pid not in names:
                try:
                    with open("/proc/%d/comm" % pid) as f:
                        names[pid] = f.read().strip()
                except OSError:
                    names[pid] = "?"
            hwm[pid] = max(hwm.get(pid, 0), st.get("VmHWM", 0))
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        peak_procs = max(peak_procs, len(procs))
        samples += 1
        time.sleep(args.interval)
    by_name = {}
    for pid, kib in hwm.items():
        by_name.setdefault(names.get(pid, "?"), []).append(kib)
    result = {"peak_rss_kib": peak_rss, "peak_pss_kib": peak_pss, "peak_procs": peak_procs,
              "samples": samples,
              "hwm_by_name_kib": {k: max(v) for k, v in sorted(by_name.items())}}
    with open(args.out, "w") as f:
        json.dump(result, f)


# --------------------------------------------------------------------------------------
# The disk floor: what a spool must do at least, message by message.

def cmd_floor(args):
    if args.size is not None:
        payload = open(args.payload, "rb").read() if args.payload else b"X" * args.size
        messages = [payload] * args.count
    else:
        messages = []
        for name in sorted(f for f in os.listdir(args.messages) if f.endswith(".eml")):
            with open(os.path.join(args.messages, name), "rb") as f:
                messages.append(f.read())
    tmp, dest = os.path.join(args.dir, "tmp"), os.path.join(args.dir, "msg")
    os.makedirs(tmp, exist_ok=True)
    os.makedirs(dest, exist_ok=True)
    dest_fd = os.open(dest, os.O_RDONLY | os.O_DIRECTORY)
    lock = threading.Lock()
    state = {"next": 0}

    def worker():
        while True:
            with lock:
                i = state["next"]
                if i >= len(messages):
                    return
                state["next"] = i + 1
            path = os.path.join(tmp, str(i))
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                view = memoryview(messages[i])
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(path, os.path.join(dest, str(i)))
            os.fsync(dest_fd)

    threads = [threading.Thread(target=worker) for _ in range(args.sessions)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - t0
    os.close(dest_fd)
    for name in os.listdir(dest):
        os.unlink(os.path.join(dest, name))
    print(json.dumps({"seconds": elapsed, "msgs": len(messages),
                      "bytes": sum(len(m) for m in messages)}))


# --------------------------------------------------------------------------------------
# Mamori's audit log: every message inspected, what DLP decided.

def cmd_audit(args):
    inspected, actions, findings, problems = 0, {}, {}, {}
    for name in sorted(os.listdir(args.dir)):
        if not name.startswith("audit"):
            continue
        with open(os.path.join(args.dir, name), encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line)
                if rec.get("event") != "dlp_verdict" or rec.get("generated"):
                    continue
                inspected += 1
                actions[rec.get("action")] = actions.get(rec.get("action"), 0) + 1
                totals = rec.get("totals") or {}
                for item in totals.get("findings", []):
                    key = "%s/%s" % (item.get("detector"), item.get("confidence"))
                    findings[key] = findings.get(key, 0) + item.get("count", 1)
                for item in totals.get("problems", []):
                    key = item.get("kind", str(item))
                    problems[key] = problems.get(key, 0) + item.get("count", 1)
    print(json.dumps({"inspected": inspected, "actions": actions, "findings": findings,
                      "problems": problems}, sort_keys=True))


def cmd_verify(args):
    """Every message must pass Mamori's default policy, with no My Number, corporate number
    or card number found at any confidence, and nothing left unread."""
    files = []
    for d in args.dirs:
        files += sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".eml"))
    bad, findings, batch = 0, {}, 50
    for k in range(0, len(files), batch):
        out = subprocess.run([args.mamori, "dlp", "scan", "--json"] + files[k:k + batch],
                             capture_output=True, text=True)
        if out.returncode not in (0, 1):
            sys.exit("mamori dlp scan failed: %s" % out.stderr)
        for line in out.stdout.splitlines():
            rep = json.loads(line)
            for fnd in rep["findings"]:
                key = "%s/%s" % (fnd["detector"], fnd["confidence"])
                findings[key] = findings.get(key, 0) + 1
            serious = [f for f in rep["findings"] if f["detector"] != "phone"]
            if rep["decision"]["action"] != "pass" or rep["problems"] or serious:
                bad += 1
                print("%s: %s, problems %s, findings %s" % (
                    rep["file"], rep["decision"]["action"], rep["problems"], serious))
    print("%d messages scanned, %d not clean; findings %s" % (len(files), bad, findings))
    sys.exit(1 if bad else 0)


# --------------------------------------------------------------------------------------
# The final tables

def median(xs):
    """The median of a non-empty list (the mean of the middle two for an even count)."""
    xs = sorted(xs)
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2


def summarize(recs):
    """The rounds of one target on one workload as one record: the median of its rates,
    MB/s and machine CPU, the highest of its peaks, the lowest and highest rate."""
    if not recs:
        return None
    out = dict(recs[0])
    for key in ("rate", "mbps", "cpu_ms"):
        vals = [r[key] for r in recs if r.get(key)]
        out[key] = median(vals) if vals else None
    for key in ("peak_rss_kib", "peak_pss_kib", "vmhwm_kib"):
        out[key] = max(r.get(key, 0) for r in recs)
    out["rates"] = [r["rate"] for r in recs]
    return out


def spread(x):
    """' (lowest-highest)' of a summary's rates when there is more than one round."""
    rates = x["rates"]
    return " (%.1f-%.1f)" % (min(rates), max(rates)) if len(rates) > 1 else ""


def cmd_table(args):
    rows = {}
    order = []
    with open(args.results) as f:
        for line in f:
            rec = json.loads(line)
            case = rec["case"]
            if case not in rows:
                rows[case] = {}
                order.append(case)
            rows[case].setdefault(rec["who"], []).append(rec)

    def mib(kib):
        return "%.1f" % (kib / 1024) if kib else "-"

    def paired_ratios(r):
        """Each round's own Mamori/Postfix ratio (the two ran side by side in time)."""
        p_by_round = {x.get("round", 1): x["rate"] for x in r.get("postfix", [])}
        return [x["rate"] / p_by_round[x.get("round", 1)]
                for x in r.get("mamori", []) if x.get("round", 1) in p_by_round]

    rounds = max(len(v) for r in rows.values() for v in r.values()) if rows else 0
    print()
    if rounds > 1:
        print("Medians of %d rounds (lowest-highest msgs/s); the ratio is the median of each "
              "round's own ratio (lowest-highest)." % rounds)
    print("| workload | msgs | MB | Mamori msgs/s | Mamori MB/s | Postfix msgs/s | Postfix MB/s "
          "| ratio M/P | machine CPU ms/msg M / P (P/M) | no relay msgs/s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for case in order:
        r = rows[case]
        m, p, d = (summarize(r.get(who, [])) for who in ("mamori", "postfix", "direct"))
        any_run = m or p or d
        cells = [case, str(any_run["msgs"]) if any_run else "-",
                 "%.1f" % (any_run["bytes"] / 1e6) if any_run else "-"]
        for x in (m, p):
            cells += ["%.1f%s" % (x["rate"], spread(x)), "%.1f" % x["mbps"]] if x else ["-", "-"]
        ratios = paired_ratios(r)
        if ratios:
            cells.append("%.2f" % median(ratios)
                         + (" (%.2f-%.2f)" % (min(ratios), max(ratios)) if len(ratios) > 1 else ""))
        else:
            cells.append("-")
        cpu = [x.get("cpu_ms") if x else None for x in (m, p)]
        cells.append(" / ".join("%.2f" % c if c else "-" for c in cpu)
                     + (" (%.2f)" % (cpu[1] / cpu[0]) if all(cpu) else ""))
        cells.append("%.1f%s" % (d["rate"], spread(d)) if d else "-")
        print("| " + " | ".join(cells) + " |")
    print()
    print("| workload | Mamori peak RSS MiB (VmHWM) | Postfix peak RSS MiB, sum (PSS) "
          "| floor dd msgs/s (MB/s) | floor spool 1 writer | floor spool %s writers "
          "| Mamori/floor dd |" % args.sessions)
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for case in order:
        r = rows[case]
        m, p = summarize(r.get("mamori", [])), summarize(r.get("postfix", []))
        cells = [case]
        cells.append("%s (%s)" % (mib(m["peak_rss_kib"]), mib(m.get("vmhwm_kib", 0)))
                     if m else "-")
        cells.append("%s (%s)" % (mib(p["peak_rss_kib"]), mib(p["peak_pss_kib"])) if p else "-")
        for who in ("floor-dd", "floor-spool-1", "floor-spool-n"):
            x = summarize(r.get(who, []))
            cells.append("%.1f (%.1f)" % (x["rate"], x["mbps"]) if x else "-")
        dd = summarize(r.get("floor-dd", []))
        cells.append("%.2f" % (m["rate"] / dd["rate"]) if m and dd else "-")
        print("| " + " | ".join(cells) + " |")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("mix")
    p.add_argument("dir")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--seed", type=int, default=12)
    p = sub.add_parser("payload")
    p.add_argument("file")
    p.add_argument("--size", type=int, required=True)
    p = sub.add_parser("push")
    p.add_argument("dir")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--sessions", type=int, default=10)
    p.add_argument("--sender", default="bench@sender.test")
    p.add_argument("--recipient", default="rcpt@sink.test")
    p.add_argument("--timeout", type=float, default=300)
    p.add_argument("--t0-file", required=True)
    p.add_argument("--rate", type=int, default=0,
                   help="octets a second each session sends the content at (0: at once)")
    p = sub.add_parser("sample")
    p.add_argument("out")
    p.add_argument("--pid", type=int, action="append", required=True)
    p.add_argument("--interval", type=float, default=0.1)
    p.add_argument("--pss", action="store_true")
    p = sub.add_parser("floor")
    p.add_argument("dir")
    p.add_argument("--sessions", type=int, default=1)
    p.add_argument("--size", type=int)
    p.add_argument("--payload")
    p.add_argument("--count", type=int)
    p.add_argument("--messages")
    p = sub.add_parser("audit")
    p.add_argument("dir")
    p = sub.add_parser("verify")
    p.add_argument("mamori")
    p.add_argument("dirs", nargs="+")
    p = sub.add_parser("table")
    p.add_argument("results")
    p.add_argument("--sessions", default="N")
    args = ap.parse_args()
    if args.cmd == "floor" and (args.size is None) == (args.messages is None):
        ap.error("floor: give --size and --count, or --messages")
    {"mix": cmd_mix, "payload": cmd_payload, "push": cmd_push, "sample": cmd_sample,
     "floor": cmd_floor, "audit": cmd_audit, "verify": cmd_verify,
     "table": cmd_table}[args.cmd](args)


if __name__ == "__main__":
    main()
