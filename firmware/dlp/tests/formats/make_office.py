#!/usr/bin/env python3
"""Office documents for the format corpus, by python-docx, openpyxl, python-pptx and xlwt
(legacy .xls), msoffcrypto-tool (a password-protected DOCX), and
some with a part those libraries do not write added to their package the way Office
writes it (a pivot cache, a text box in a drawing, custom XML, a renamed main part, an
embedded workbook). Each edited package is opened again by its library, which must still
read it (and, for the renamed main part, read the body from it).

    make_office.py OUT_DIR TWIN NUMBER
"""

import io
import re
import sys
import zipfile

import docx
import msoffcrypto
import msoffcrypto.format.ooxml
import olefile
import openpyxl
from openpyxl.worksheet.datavalidation import DataValidation
import xlwt
from odf.opendocument import OpenDocumentSpreadsheet, OpenDocumentText
from odf.table import Table, TableCell, TableRow
from odf.text import P
from pptx import Presentation
from pptx.chart.data import CategoryChartData
from pptx.enum.chart import XL_CHART_TYPE
from pptx.util import Inches

NS_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
ZIP_TIME = (2025, 12, 5, 0, 0, 0)


def rewrite(data, change):
    """The package `data` with its parts changed by `change(parts)` (a name→bytes dict),
    written in the same order with fixed times."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        parts = {name: z.read(name) for name in z.namelist()}
    change(parts)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in parts.items():
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, body)
    return out.getvalue()


def add_override(parts, part, kind):
    types = parts["[Content_Types].xml"].decode()
    types = types.replace("</Types>", f'<Override PartName="/{part}" ContentType="{kind}"/></Types>')
    parts["[Content_Types].xml"] = types.encode()


def add_rel(parts, rels, rel_id, kind, target):
    body = parts[rels].decode()
    rel = f'<Relationship Id="{rel_id}" Type="{kind}" Target="{target}"/>'
    parts[rels] = body.replace("</Relationships>", rel + "</Relationships>").encode()


def stable(parts):
    """Fixed dates in the document properties, so that a package is the same every run."""
    for name in parts:
        if "/embeddings/" in name and name.endswith((".xlsx", ".docx", ".pptx")):
            parts[name] = rewrite(parts[name], stable)
    core = parts.get("docProps/core.xml")
    if core is not None:
        parts["docProps/core.xml"] = re.sub(
            rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
            rb"\g<1>2025-12-05T00:00:00Z\g<2>",
            core,
        )


def saved(document):
    out = io.BytesIO()
    document.save(out)
    return rewrite(out.getvalue(), stable)


def build(number):
    made = {}
    # Word: body, header, table; a renamed main part; an embedded workbook.
    d = docx.Document()
    d.add_paragraph("社員名簿")
    d.add_paragraph(f"山田 太郎 個人番号 {number}")
    made["docx-body.docx"] = saved(d)
    d = docx.Document()
    d.add_paragraph("本文に番号はありません。")
    d.sections[0].header.paragraphs[0].text = f"個人番号 {number}"
    made["docx-header.docx"] = saved(d)
    d = docx.Document()
    table = d.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "氏名", "個人番号"
    table.cell(1, 0).text, table.cell(1, 1).text = "山田 太郎", number
    made["docx-table.docx"] = saved(d)
    # Hidden text (font.hidden: <w:vanish/>) inside the number: Word shows the number whole.
    d = docx.Document()
    p = d.add_paragraph("山田 太郎 個人番号 ")
    p.add_run(number[:4])
    p.add_run("社外秘").font.hidden = True
    p.add_run(number[4:])
    made["docx-hidden-run.docx"] = saved(d)
    # The number only in the document's properties (File > Info shows the title).
    d = docx.Document()
    d.add_paragraph("本文に番号はありません。")
    d.core_properties.title = f"個人番号 {number}"
    made["docx-core-title.docx"] = saved(d)

    def rename_main(parts):
        parts["word/main.xml"] = parts.pop("word/document.xml")
        parts["word/_rels/main.xml.rels"] = parts.pop("word/_rels/document.xml.rels")
        parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
            b'PartName="/word/document.xml"', b'PartName="/word/main.xml"'
        )
        parts["_rels/.rels"] = parts["_rels/.rels"].replace(b'Target="word/document.xml"', b'Target="word/main.xml"')

    made["docx-renamed-main.docx"] = rewrite(made["docx-body.docx"], rename_main)

    wb = openpyxl.Workbook()
    wb.active["A1"], wb.active["B1"] = "氏名", "個人番号"
    wb.active["A2"], wb.active["B2"] = "山田 太郎", number
    workbook = saved(wb)

    def embed(parts):
        parts["word/embeddings/Microsoft_Excel_Worksheet.xlsx"] = workbook
        add_override(
            parts,
            "word/embeddings/Microsoft_Excel_Worksheet.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        add_rel(
            parts,
            "word/_rels/document.xml.rels",
            "rIdEmbed1",
            "http://schemas.openxmlformats.org/officeDocument/2006/relationships/package",
            "embeddings/Microsoft_Excel_Worksheet.xlsx",
        )

    d = docx.Document()
    d.add_paragraph("添付の表を参照してください。")
    made["docx-embedded-xlsx.docx"] = rewrite(saved(d), embed)

    # Excel: a string cell, a number cell, a pivot cache, a text box, custom XML.
    made["xlsx-string.xlsx"] = workbook
    wb = openpyxl.Workbook()
    wb.active["A1"], wb.active["B1"] = "個人番号", int(number)
    made["xlsx-number.xlsx"] = saved(wb)
    # The number only in the page header, and only in a data validation's prompt.
    wb = openpyxl.Workbook()
    wb.active["A1"] = "社員名簿"
    wb.active.oddHeader.center.text = f"個人番号 {number}"
    made["xlsx-header.xlsx"] = saved(wb)
    wb = openpyxl.Workbook()
    wb.active["A1"] = "入力欄"
    validation = DataValidation(type="list", formula1='"A,B"', promptTitle="入力例", prompt=f"個人番号 {number}")
    wb.active.add_data_validation(validation)
    validation.add("A1")
    made["xlsx-validation-prompt.xlsx"] = saved(wb)
    wb = openpyxl.Workbook()
    wb.active["A1"] = "集計表(元データは削除済み)"
    plain = saved(wb)

    def pivot(parts):
        ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
        parts["xl/pivotCache/pivotCacheDefinition1.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<pivotCacheDefinition xmlns="{ns}" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" r:id="rId1" recordCount="1">'
            f'<cacheSource type="worksheet"><worksheetSource ref="A1:B2" sheet="削除済み"/></cacheSource>'
            f'<cacheFields count="2"><cacheField name="氏名" numFmtId="0"><sharedItems count="1"><s v="山田 太郎"/></sharedItems></cacheField>'
            f'<cacheField name="個人番号" numFmtId="0"><sharedItems containsNumber="1" containsInteger="1"/></cacheField></cacheFields>'
            f"</pivotCacheDefinition>"
        ).encode()
        parts["xl/pivotCache/pivotCacheRecords1.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<pivotCacheRecords xmlns="{ns}" count="1"><r><x v="0"/><n v="{number}"/></r></pivotCacheRecords>'
        ).encode()
        parts["xl/pivotCache/_rels/pivotCacheDefinition1.xml.rels"] = (
            b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/pivotCacheRecords" Target="pivotCacheRecords1.xml"/>'
            b"</Relationships>"
        )
        base = "application/vnd.openxmlformats-officedocument.spreadsheetml."
        add_override(parts, "xl/pivotCache/pivotCacheDefinition1.xml", base + "pivotCacheDefinition+xml")
        add_override(parts, "xl/pivotCache/pivotCacheRecords1.xml", base + "pivotCacheRecords+xml")
        add_rel(
            parts,
            "xl/_rels/workbook.xml.rels",
            "rIdPivot1",
            "http://schemas.openxmlformats.org/officeDocument/2006/relationships/pivotCacheDefinition",
            "pivotCache/pivotCacheDefinition1.xml",
        )
        book = parts["xl/workbook.xml"].decode()
        book = re.sub(
            r"(</sheets>)",
            r'\1<pivotCaches><pivotCache xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" cacheId="1" r:id="rIdPivot1"/></pivotCaches>',
            book,
            count=1,
        )
        parts["xl/workbook.xml"] = book.encode()

    made["xlsx-pivot-cache.xlsx"] = rewrite(plain, pivot)

    def textbox(parts):
        parts["xl/drawings/drawing1.xml"] = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" '
            'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
            '<xdr:twoCellAnchor><xdr:from><xdr:col>1</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>1</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from>'
            "<xdr:to><xdr:col>5</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>5</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:to>"
            '<xdr:sp macro="" textlink=""><xdr:nvSpPr><xdr:cNvPr id="2" name="TextBox 1"/><xdr:cNvSpPr txBox="1"/></xdr:nvSpPr>'
            '<xdr:spPr><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></xdr:spPr>'
            f"<xdr:txBody><a:bodyPr/><a:p><a:r><a:t>メモ: 個人番号 {number}</a:t></a:r></a:p></xdr:txBody></xdr:sp>"
            "<xdr:clientData/></xdr:twoCellAnchor></xdr:wsDr>"
        ).encode()
        add_override(
            parts, "xl/drawings/drawing1.xml", "application/vnd.openxmlformats-officedocument.drawing+xml"
        )
        parts["xl/worksheets/_rels/sheet1.xml.rels"] = (
            b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            b'<Relationship Id="rIdDraw1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/drawing" Target="../drawings/drawing1.xml"/>'
            b"</Relationships>"
        )
        sheet = parts["xl/worksheets/sheet1.xml"].decode()
        sheet = sheet.replace("</worksheet>", '<drawing r:id="rIdDraw1"/></worksheet>')
        if "xmlns:r=" not in sheet:
            sheet = sheet.replace(
                "<worksheet ",
                '<worksheet xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" ',
                1,
            )
        parts["xl/worksheets/sheet1.xml"] = sheet.encode()

    made["xlsx-drawing-textbox.xlsx"] = rewrite(plain, textbox)

    def custom_xml(parts):
        parts["customXml/item1.xml"] = f'<?xml version="1.0"?><employee><name>山田 太郎</name><mynumber>{number}</mynumber></employee>'.encode()
        add_rel(
            parts,
            "xl/_rels/workbook.xml.rels",
            "rIdCustom1",
            "http://schemas.openxmlformats.org/officeDocument/2006/relationships/customXml",
            "../customXml/item1.xml",
        )

    made["xlsx-custom-xml.xlsx"] = rewrite(plain, custom_xml)

    # PowerPoint: a slide, notes, the slide master, a layout, a table, a chart's cache.
    def deck():
        p = Presentation()
        slide = p.slides.add_slide(p.slide_layouts[6])
        slide.shapes.add_textbox(Inches(1), Inches(1), Inches(6), Inches(1)).text_frame.text = "会議資料"
        return p, slide

    p, slide = deck()
    slide.shapes.add_textbox(Inches(1), Inches(2), Inches(6), Inches(1)).text_frame.text = f"個人番号 {number}"
    made["pptx-slide.pptx"] = saved(p)
    # A picture's alternative text (what a screen reader says; Office's alt-text pane).
    p, slide = deck()
    box = slide.shapes.add_textbox(Inches(1), Inches(2), Inches(6), Inches(1))
    box.text_frame.text = "写真"
    box._element.nvSpPr.cNvPr.set("descr", f"個人番号 {number} の写し")
    made["pptx-alt-text.pptx"] = saved(p)
    p, slide = deck()
    slide.notes_slide.notes_text_frame.text = f"話すこと: 山田さんの個人番号は {number}"
    made["pptx-notes.pptx"] = saved(p)
    p, slide = deck()
    p.slide_master.placeholders[0].text_frame.text = f"社外秘 {number}"
    made["pptx-master.pptx"] = saved(p)
    p, slide = deck()
    p.slide_layouts[1].placeholders[0].text_frame.text = f"フッター {number}"
    made["pptx-layout.pptx"] = saved(p)
    p, slide = deck()
    table = slide.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(6), Inches(1)).table
    table.cell(0, 0).text, table.cell(0, 1).text = "氏名", "個人番号"
    table.cell(1, 0).text, table.cell(1, 1).text = "山田 太郎", number
    made["pptx-table.pptx"] = saved(p)
    p, slide = deck()
    data = CategoryChartData()
    data.categories = ["山田 太郎", number]
    data.add_series("件数", (1, 2))
    slide.shapes.add_chart(XL_CHART_TYPE.COLUMN_CLUSTERED, Inches(1), Inches(2), Inches(6), Inches(4), data)
    made["pptx-chart.pptx"] = saved(p)
    # Legacy Excel (BIFF8) by xlwt: a string, a number; and a workbook whose Workbook stream
    # carries a FILEPASS record (XOR obfuscation) where WRITEACCESS was, as an encrypted
    # workbook does; and a DOCX encrypted with a password by msoffcrypto-tool.
    def xls(value):
        book = xlwt.Workbook(encoding="utf-8")
        sheet = book.add_sheet("名簿")
        sheet.write(0, 0, "氏名")
        sheet.write(0, 1, "個人番号")
        sheet.write(1, 0, "山田 太郎")
        sheet.write(1, 1, value)
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()

    # OpenDocument by odfpy: a spreadsheet cell holding the number as a float (its full
    # value in office:value), and a text document.
    sheet_doc = OpenDocumentSpreadsheet()
    table = Table(name="名簿")
    row = TableRow()
    row.addElement(TableCell(valuetype="string"))
    row.childNodes[-1].addElement(P(text="山田 太郎"))
    cell = TableCell(valuetype="float", value=number)
    cell.addElement(P(text=f"{int(number):.5E}"))
    row.addElement(cell)
    table.addElement(row)
    sheet_doc.spreadsheet.addElement(table)
    made["ods-number.ods"] = odf_saved(sheet_doc)
    text_doc = OpenDocumentText()
    text_doc.text.addElement(P(text=f"山田 太郎 個人番号 {number}"))
    made["odt-body.odt"] = odf_saved(text_doc)

    made["xls-string.xls"] = xls(number)
    made["xls-number.xls"] = xls(int(number))
    made["xls-filepass.xls"] = filepass(xls(number))
    plain_docx = made["docx-body.docx"]
    encrypted = io.BytesIO()
    office = msoffcrypto.format.ooxml.OOXMLFile(io.BytesIO(plain_docx))
    office.encrypt("secret-2025", encrypted)
    made["docx-password.docx"] = encrypted.getvalue()
    return made


def odf_saved(document):
    out = io.BytesIO()
    document.write(out)
    # odfpy stamps the time of saving in meta.xml: fixed, as for OOXML.
    def fix(parts):
        meta = parts.get("meta.xml")
        if meta is not None:
            parts["meta.xml"] = re.sub(
                rb"(<(?:meta:creation-date|dc:date)>)[^<]*(</)", rb"\g<1>2025-12-05T00:00:00\g<2>", meta
            )
    return rewrite(out.getvalue(), fix)


def filepass(data):
    """`data` (an .xls) with its WRITEACCESS record replaced by FILEPASS (XOR
    obfuscation: type 0, key, verifier) and a filler record, the stream's size kept."""
    ole = olefile.OleFileIO(io.BytesIO(data), write_mode=False)
    stream = bytearray(ole.openstream("Workbook").read())
    ole.close()
    pos = 0
    while pos + 4 <= len(stream):
        kind = int.from_bytes(stream[pos : pos + 2], "little")
        size = int.from_bytes(stream[pos + 2 : pos + 4], "little")
        if kind == 0x005C and size >= 6 + 4:
            record = (0x002F).to_bytes(2, "little") + (6).to_bytes(2, "little") + bytes([0, 0, 0x34, 0x12, 0x78, 0x56])
            filler = size - 6 - 4
            record += (0x00EF).to_bytes(2, "little") + filler.to_bytes(2, "little") + bytes(filler)
            stream[pos : pos + 4 + size] = record
            break
        pos += 4 + size
    else:
        raise SystemExit("make_office.py: no WRITEACCESS record in the xlwt workbook")
    buffer = io.BytesIO(data)
    ole = olefile.OleFileIO(buffer, write_mode=True)
    ole.write_stream("Workbook", bytes(stream))
    written = buffer.getvalue()
    ole.close()
    return written


def check(made, number):
    """Each edited package still opens in its library, and what was meant is in it."""
    failures = []
    body = [p.text for p in docx.Document(io.BytesIO(made["docx-renamed-main.docx"])).paragraphs]
    if not any(number in text for text in body):
        failures.append(f"docx-renamed-main.docx: python-docx reads {body!r}")
    for name in ["xlsx-pivot-cache.xlsx", "xlsx-drawing-textbox.xlsx", "xlsx-custom-xml.xlsx"]:
        try:
            openpyxl.load_workbook(io.BytesIO(made[name]))
        except Exception as error:  # noqa: BLE001
            failures.append(f"{name}: openpyxl: {error}")
    runs = docx.Document(io.BytesIO(made["docx-hidden-run.docx"])).paragraphs[0].runs
    shown = "".join(r.text for r in runs if not r.font.hidden)
    if number not in shown or not any(r.font.hidden for r in runs):
        failures.append(f"docx-hidden-run.docx: python-docx shows {shown!r}")
    d = docx.Document(io.BytesIO(made["docx-embedded-xlsx.docx"]))
    if not any("embeddings" in str(part.partname) for part in d.part.package.iter_parts()):
        failures.append("docx-embedded-xlsx.docx: python-docx does not see the embedding")
    office = msoffcrypto.OfficeFile(io.BytesIO(made["docx-password.docx"]))
    if not office.is_encrypted():
        failures.append("docx-password.docx: msoffcrypto-tool does not see it encrypted")
    for name in ["xls-string.xls", "xls-number.xls", "xls-filepass.xls"]:
        ole = olefile.OleFileIO(io.BytesIO(made[name]))
        if not ole.exists("Workbook"):
            failures.append(f"{name}: olefile finds no Workbook stream")
        ole.close()
    alt = Presentation(io.BytesIO(made["pptx-alt-text.pptx"])).slides[0].shapes[1]
    if number not in alt._element.nvSpPr.cNvPr.get("descr", ""):
        failures.append("pptx-alt-text.pptx: python-pptx finds no alt text")
    if number not in docx.Document(io.BytesIO(made["docx-core-title.docx"])).core_properties.title:
        failures.append("docx-core-title.docx: python-docx finds no title")
    header = openpyxl.load_workbook(io.BytesIO(made["xlsx-header.xlsx"])).active.oddHeader.center.text
    if number not in (header or ""):
        failures.append(f"xlsx-header.xlsx: openpyxl reads the header {header!r}")
    for name in [n for n in made if n.startswith("pptx-") and n != "pptx-alt-text.pptx"]:
        p = Presentation(io.BytesIO(made[name]))
        texts = []
        for s in [*p.slides, p.slide_master, *p.slide_layouts]:
            for shape in s.shapes:
                if shape.has_text_frame:
                    texts.append(shape.text_frame.text)
                if getattr(shape, "has_table", False) and shape.has_table:
                    texts += [c.text for r in shape.table.rows for c in r.cells]
                if getattr(shape, "has_chart", False) and shape.has_chart:
                    texts += [str(c) for c in shape.chart.plots[0].categories]
        for s in p.slides:
            if s.has_notes_slide:
                texts.append(s.notes_slide.notes_text_frame.text)
        if not any(number in t for t in texts):
            failures.append(f"{name}: python-pptx reads {texts!r}")
    return failures


def main():
    out_dir, twin, number = sys.argv[1], sys.argv[2], sys.argv[3]
    made = build(number)
    for name, data in made.items():
        with open(f"{out_dir}/{twin}-{name}", "wb") as f:
            f.write(data)
    failures = check(made, number)
    for failure in failures:
        print(f"make_office.py: {failure}", file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
