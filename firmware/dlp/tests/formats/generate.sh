#!/usr/bin/env bash
# Builds the format corpus (see README.md) with the real tools: tar, gzip, bzip2, xz,
# zstd, 7-Zip (7zz), jlha (lha) and bsdtar. Every file comes in two: `find-*` holds a
# valid My Number, `clean-*` the same bytes with a number whose check digit is wrong.
#
#   bash firmware/dlp/tests/formats/generate.sh [OUT]   # default: the corpus folder itself
#
# Needs: tar gzip bzip2 xz-utils zstd 7zip jlha-utils libarchive-tools qpdf, LibreOffice
# (writer and impress, -nogui), and the
# virtual environment target/formats-venv (Debian's reportlab, python-docx, openpyxl, and
# python-pptx from PyPI), all made by ci/install-deps.sh.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../../.." && pwd)
# Debian's python3 with reportlab, python-docx and openpyxl, plus python-pptx from PyPI:
# the virtual environment ci/install-deps.sh makes.
python=${MAMORI_FORMATS_PYTHON:-$root/target/formats-venv/bin/python}
out=${1:-$here/files}
manifest=${2:-$here/manifest.tsv}
for tool in tar gzip bzip2 xz zstd 7zz lha bsdtar iconv qpdf soffice "$python"; do
    command -v "$tool" >/dev/null || { echo "generate.sh: $tool is missing (run ci/install-deps.sh)" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
rm -f "$out"/find-* "$out"/clean-*
export TZ=UTC LC_ALL=C.UTF-8 SOURCE_DATE_EPOCH=1764892800
# One fixed time for every file, so that archives do not change from run to run.
stamp=202512050000

# The numbers: valid (check digit 8) and its twin with a wrong check digit.
declare -A number=([find]=123456789018 [clean]=123456789017)

# content TWIN DIR: an employee list of 300 rows in UTF-8 and its CP932 twin, and a memo.
content() {
    local twin=$1 dir=$2 i
    mkdir -p "$dir/docs"
    {
        printf '社員番号,氏名,部署,個人番号\n'
        for ((i = 1; i <= 300; i++)); do
            if ((i == 150)); then
                printf 'E%04d,山田 太郎,総務部,%s\n' "$i" "${number[$twin]}"
            else
                printf 'E%04d,社員 %d,営業部,\n' "$i" "$i"
            fi
        done
    } >"$dir/社員名簿.csv"
    iconv -f UTF-8 -t CP932 "$dir/社員名簿.csv" >"$dir/docs/meibo-sjis.csv"
    printf '議事録\n次回の打合せは来週です。\n' >"$dir/docs/memo.txt"
    find "$dir" -exec touch -t "$stamp" {} +
}

rows=()
# add NAME TOOL DESCRIPTION [EXPECT]: records a file made for both twins. EXPECT: `read`
# (the default: the find twin's number is found, the clean twin is clean, no problem) or
# `encrypted` (both twins are reported encrypted, and nothing is found).
add() { rows+=("$1"$'\t'"${4:-read}"$'\t'"$2"$'\t'"$3"); }

for twin in find clean; do
    src=$work/$twin
    content "$twin" "$src"
    csv=$src/社員名簿.csv
    o() { printf '%s/%s-%s' "$out" "$twin" "$1"; }
    (
        cd "$src"
        # tar, in each header format, and compressed by each tool.
        tar --format=ustar -cf "$(o ustar.tar)" 社員名簿.csv docs
        tar --format=gnu -cf "$(o gnu.tar)" 社員名簿.csv docs
        pax=(--format=pax --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime)
        tar "${pax[@]}" -cf "$(o pax.tar)" 社員名簿.csv docs
        tar "${pax[@]}" -cf - 社員名簿.csv docs | gzip -n >"$(o pax.tar.gz)"
        tar --format=gnu -czf "$(o gnu.tgz)" 社員名簿.csv docs
        tar -cjf "$(o files.tar.bz2)" 社員名簿.csv docs
        tar -cJf "$(o files.tar.xz)" 社員名簿.csv docs
        tar --zstd -cf "$(o files.tar.zst)" 社員名簿.csv docs
        bsdtar --format=ustar -cf "$(o bsdtar-ustar.tar)" 社員名簿.csv docs
        # Single compressed files, and two gzip members one after the other.
        gzip -9n <社員名簿.csv >"$(o meibo.csv.gz)"
        bzip2 -9 <社員名簿.csv >"$(o meibo.csv.bz2)"
        xz -6 <社員名簿.csv >"$(o meibo.csv.xz)"
        zstd -q -19 <社員名簿.csv >"$(o meibo.csv.zst)"
        { printf 'header member\n' | gzip -n; gzip -n <社員名簿.csv; } >"$(o two-members.csv.gz)"
        # 7z: each method and filter 7-Zip offers, solid and not.
        z7() { local name=$1; shift; 7zz a -bd -bso0 -bsp0 -y "$@" "$(o "$name")" 社員名簿.csv docs >/dev/null; }
        z7 lzma2.7z
        z7 lzma.7z -m0=LZMA
        z7 ppmd.7z -m0=PPMd
        z7 bzip2.7z -m0=BZip2
        z7 deflate.7z -m0=Deflate
        z7 copy.7z -m0=Copy
        z7 solid-ultra.7z -mx=9 -ms=on
        z7 not-solid.7z -ms=off
        z7 bcj2.7z -m0=BCJ2 -m1=LZMA -m2=LZMA -m3=LZMA -mb0:1 -mb0s1:2 -mb0s2:3
        z7 delta.7z -m0=Delta:4 -m1=LZMA2
        z7 arm64.7z -m0=ARM64 -m1=LZMA2
        # ZIP by 7-Zip, in each method it writes.
        zp() { local name=$1; shift; 7zz a -bd -bso0 -bsp0 -y -tzip "$@" "$(o "$name")" 社員名簿.csv docs >/dev/null; }
        zp deflate.zip -mm=Deflate
        zp deflate64.zip -mm=Deflate64
        zp bzip2.zip -mm=BZip2
        zp lzma.zip -mm=LZMA
        zp ppmd.zip -mm=PPMd
        zp store.zip -mm=Copy
        zp cp932-names.zip -mcu=off -mcp=932
        # LZH by jlha: each method and header level, and CP932 names.
        # `y`: names in CP932, as LHA for Windows writes them (without it jlha writes "?").
        lh() { local name=$1 opts=$2; shift 2; lha "a${opts}y" "$(o "$name")" "$@" >/dev/null 2>&1; }
        lh lh5.lzh "" 社員名簿.csv docs/memo.txt
        lh lh6.lzh o6 社員名簿.csv
        lh lh7.lzh o7 社員名簿.csv
        lh lh0.lzh z 社員名簿.csv
        lh level0.lzh 0 docs/meibo-sjis.csv
        lh level1.lzh 1 docs/meibo-sjis.csv
        lh level2.lzh 2 docs/meibo-sjis.csv
        lh dir-entries.lzh "" docs
        # Nested: a 7z in a ZIP, a tar.xz in an LZH, a .csv.zst in a 7z.
        7zz a -bd -bso0 -bsp0 -y "$work/$twin-inner.7z" 社員名簿.csv >/dev/null
        cp "$work/$twin-inner.7z" inner.7z
        touch -t "$stamp" inner.7z
        7zz a -bd -bso0 -bsp0 -y -tzip "$(o 7z-in-zip.zip)" inner.7z >/dev/null
        tar -cJf inner.tar.xz 社員名簿.csv
        touch -t "$stamp" inner.tar.xz
        lh tarxz-in-lzh.lzh "" inner.tar.xz
        zstd -q <社員名簿.csv >meibo.csv.zst
        touch -t "$stamp" meibo.csv.zst
        7zz a -bd -bso0 -bsp0 -y "$(o zst-in-7z.7z)" meibo.csv.zst >/dev/null
        rm -f inner.7z inner.tar.xz meibo.csv.zst
        # Encrypted: content only, and names too; ZipCrypto and AES ZIP.
        z7 locked-content.7z -pSecret-2025
        z7 locked-headers.7z -pSecret-2025 -mhe=on
        zp locked-zipcrypto.zip -pSecret-2025 -mem=ZipCrypto
        zp locked-aes.zip -pSecret-2025 -mem=AES256
    )
    # RAR: no RAR writer is packaged; make_rar.py builds them to the format notes and
    # checks each with bsdtar.
    "$python" "$here/make_rar.py" "$out" "$twin" "${number[$twin]}"
    # PDF: reportlab and hand-written files (checked with qpdf), then qpdf's variants:
    # every revision of the standard security handler with an owner password only (the
    # file opens without one), user passwords, object streams, linearized, uncompressed.
    "$python" "$here/make_pdf.py" "$out" "$twin" "${number[$twin]}"
    # Office: python-docx, openpyxl, python-pptx, and parts they do not write added the way
    # Office writes them (each package then opened again by its library).
    "$python" "$here/make_office.py" "$out" "$twin" "${number[$twin]}"
    # Legacy Word and PowerPoint (the 97-2003 binary formats): LibreOffice saves DOCX and
    # PPTX made above as .doc and .ppt. (It drops a slide master's own text on the way, so
    # only documents whose number it keeps are converted.)
    lo=$work/lo-$twin
    mkdir -p "$lo"
    for name in docx-body docx-header docx-table docx-hidden-run pptx-slide pptx-notes pptx-table; do
        cp "$(o "$name.${name%%-*}")" "$lo/legacy-$name.${name%%-*}"
    done
    # A hyperlink over the middle of the number: Word keeps the link as a field whose
    # result sits between the digits.
    n=${number[$twin]}
    printf '<html><body><p>氏名 山田 太郎 個人番号 %s<a href="http://example.com/">%s</a>%s</p></body></html>' \
        "${n:0:4}" "${n:4:4}" "${n:8:4}" >"$lo/legacy-field-link.html"
    soffice -env:UserInstallation="file://$work/lo-profile" --headless --infilter="HTML (StarWriter)" \
        --convert-to "doc:MS Word 97" --outdir "$lo" "$lo/legacy-field-link.html" >"$work/soffice.log" 2>&1 ||
        { cat "$work/soffice.log" >&2; exit 1; }
    for kind in doc ppt; do
        soffice -env:UserInstallation="file://$work/lo-profile" --headless \
            --convert-to "$kind" --outdir "$lo" "$lo"/*."${kind}x" >"$work/soffice.log" 2>&1 ||
            { cat "$work/soffice.log" >&2; exit 1; }
    done
    for made in "$lo"/*.doc "$lo"/*.ppt; do
        cp "$made" "$(o "$(basename "$made")")"
    done
    # Passwords to open: LibreOffice over UNO (its command line cannot set one) encrypts an
    # ODT (the manifest marks its parts) and a DOC (RC4 CryptoAPI); each must then refuse a
    # wrong password and open with the right one. (Its PowerPoint filter writes no password.)
    "$python" "$here/lo_password.py" "$work/lo-profile" \
        "$(o odt-body.odt):$(o odt-password.odt):writer8" \
        "$(o legacy-docx-body.doc):$(o legacy-password.doc):MS Word 97"
    base=$(o reportlab.pdf)
    qpdf --allow-weak-crypto --encrypt "" owner-pw 40 -- "$base" "$(o owner-rc4-40.pdf)"
    qpdf --allow-weak-crypto --encrypt "" owner-pw 128 --use-aes=n -- "$base" "$(o owner-rc4-128.pdf)"
    qpdf --encrypt "" owner-pw 128 --use-aes=y -- "$base" "$(o owner-aes-128.pdf)"
    qpdf --encrypt "" owner-pw 128 --use-aes=y --cleartext-metadata -- "$base" "$(o owner-aes-128-clear-metadata.pdf)"
    qpdf --encrypt "" owner-pw 256 --force-R5 -- "$base" "$(o owner-aes-256-r5.pdf)"
    qpdf --encrypt "" owner-pw 256 -- "$base" "$(o owner-aes-256.pdf)"
    qpdf --encrypt "" owner-pw 256 -- --object-streams=generate "$base" "$(o owner-aes-256-objstm.pdf)"
    qpdf --allow-weak-crypto --encrypt user-pw owner-pw 128 --use-aes=n -- "$base" "$(o user-rc4-128.pdf)"
    qpdf --encrypt user-pw owner-pw 256 -- "$base" "$(o user-aes-256.pdf)"
    qpdf --deterministic-id --object-streams=generate "$base" "$(o object-streams.pdf)"
    qpdf --deterministic-id --linearize "$base" "$(o linearized.pdf)"
    qpdf --deterministic-id --stream-data=uncompress "$base" "$(o uncompressed.pdf)"
    qpdf --deterministic-id --object-streams=generate "$(o form-field.pdf)" "$(o form-field-objstm.pdf)"
done

for name in ustar.tar gnu.tar pax.tar bsdtar-ustar.tar; do add "$name" tar "tar archive ($name)"; done
add pax.tar.gz tar "PAX tar, gzip"
add gnu.tgz tar "GNU tar, gzip, .tgz"
add files.tar.bz2 tar "tar, bzip2"
add files.tar.xz tar "tar, xz"
add files.tar.zst tar "tar, zstd"
add meibo.csv.gz gzip "single gzip file"
add meibo.csv.bz2 bzip2 "single bzip2 file"
add meibo.csv.xz xz "single xz file"
add meibo.csv.zst zstd "single zstd file"
add two-members.csv.gz gzip "two gzip members, the number in the second"
for name in lzma2 lzma ppmd bzip2 deflate copy solid-ultra not-solid bcj2 delta arm64; do
    add "$name.7z" 7zz "7z archive ($name)"
done
for name in deflate deflate64 bzip2 lzma ppmd store cp932-names; do
    add "$name.zip" 7zz "ZIP by 7-Zip ($name)"
done
for name in lh5 lh6 lh7 lh0 level0 level1 level2 dir-entries; do
    add "$name.lzh" jlha "LZH archive ($name)"
done
add 7z-in-zip.zip 7zz "a 7z archive inside a ZIP"
add tarxz-in-lzh.lzh jlha "a .tar.xz inside an LZH archive"
add zst-in-7z.7z 7zz "a .csv.zst inside a 7z archive"
add locked-content.7z 7zz "7z, content encrypted (AES)" encrypted
add locked-headers.7z 7zz "7z, names and content encrypted (-mhe)" encrypted
add locked-zipcrypto.zip 7zz "ZIP, ZipCrypto" encrypted
add locked-aes.zip 7zz "ZIP, AES-256" encrypted
add stored5.rar make_rar.py "RAR 5, stored entries, a UTF-8 Japanese name"
add stored4.rar make_rar.py "RAR 4, stored entries, a CP932 name"
add locked5.rar make_rar.py "RAR 5, an entry with a file encryption record" encrypted
add locked-headers5.rar make_rar.py "RAR 5, headers encrypted" encrypted
add locked4.rar make_rar.py "RAR 4, an entry with the password flag" encrypted
add reportlab.pdf reportlab "PDF, Japanese text in a CID font (UniJIS-UCS2-H)"
add lzw.pdf make_pdf.py "PDF, content under LZWDecode"
add runlength.pdf make_pdf.py "PDF, content under RunLengthDecode"
add ascii85-flate.pdf make_pdf.py "PDF, content under ASCII85Decode then FlateDecode"
add flate-png-predictor.pdf make_pdf.py "PDF, FlateDecode with the PNG Up predictor"
add lzw-png-predictor.pdf make_pdf.py "PDF, LZWDecode with PNG predictors"
add encrypt-in-comment.pdf make_pdf.py "PDF, not encrypted, /Encrypt in a comment and a string"
add incremental.pdf make_pdf.py "PDF, the number in an incremental update"
add form-field.pdf reportlab "PDF, the number in a form field"
add form-field-objstm.pdf qpdf "PDF, a form field in an object stream"
add comment.pdf reportlab "PDF, the number in a comment (text annotation)"
add owner-rc4-40.pdf qpdf "PDF, owner password only, RC4 40-bit (R2)"
add owner-rc4-128.pdf qpdf "PDF, owner password only, RC4 128-bit (R3)"
add owner-aes-128.pdf qpdf "PDF, owner password only, AES-128 (R4)"
add owner-aes-128-clear-metadata.pdf qpdf "PDF, owner password only, AES-128, metadata in clear"
add owner-aes-256-r5.pdf qpdf "PDF, owner password only, AES-256 (R5)"
add owner-aes-256.pdf qpdf "PDF, owner password only, AES-256 (R6)"
add owner-aes-256-objstm.pdf qpdf "PDF, owner password only, AES-256, object streams"
add object-streams.pdf qpdf "PDF, object streams"
add linearized.pdf qpdf "PDF, linearized"
add uncompressed.pdf qpdf "PDF, streams uncompressed"
add user-rc4-128.pdf qpdf "PDF, a user password, RC4 128-bit" encrypted
add user-aes-256.pdf qpdf "PDF, a user password, AES-256" encrypted
add docx-body.docx python-docx "DOCX, the body"
add docx-header.docx python-docx "DOCX, a header"
add docx-table.docx python-docx "DOCX, a table"
add docx-hidden-run.docx python-docx "DOCX, hidden text (w:vanish) inside the number as Word shows it"
add docx-core-title.docx python-docx "DOCX, the number only in the document's title (properties)"
add docx-renamed-main.docx make_office.py "DOCX whose main part is renamed word/main.xml"
add docx-embedded-xlsx.docx make_office.py "DOCX with an embedded workbook"
add xlsx-string.xlsx openpyxl "XLSX, a string cell"
add xlsx-number.xlsx openpyxl "XLSX, a number cell"
add xlsx-header.xlsx openpyxl "XLSX, the number only in the page header"
add xlsx-validation-prompt.xlsx openpyxl "XLSX, the number only in a data validation prompt"
add xlsx-pivot-cache.xlsx make_office.py "XLSX, the number only in a pivot cache"
add xlsx-drawing-textbox.xlsx make_office.py "XLSX, a text box in a drawing"
add xlsx-custom-xml.xlsx make_office.py "XLSX, a custom XML part"
add pptx-slide.pptx python-pptx "PPTX, a text box"
add pptx-alt-text.pptx python-pptx "PPTX, the number only in a shape's alternative text"
add pptx-notes.pptx python-pptx "PPTX, the speaker notes"
add pptx-master.pptx python-pptx "PPTX, the slide master"
add pptx-layout.pptx python-pptx "PPTX, a slide layout"
add pptx-table.pptx python-pptx "PPTX, a table"
add pptx-chart.pptx python-pptx "PPTX, a chart's categories"
add ods-number.ods odfpy "ODS, the number in a float cell shown as 1.23457E+11"
add odt-body.odt odfpy "ODT, the body"
add xls-string.xls xlwt "XLS (BIFF8), a string cell in the shared strings"
add xls-number.xls xlwt "XLS (BIFF8), a number cell"
add legacy-docx-body.doc libreoffice "DOC (Word 97), the body"
add legacy-docx-header.doc libreoffice "DOC (Word 97), a header"
add legacy-docx-table.doc libreoffice "DOC (Word 97), a table"
add legacy-docx-hidden-run.doc libreoffice "DOC (Word 97), hidden text (sprmCFVanish) inside the number"
add legacy-field-link.doc libreoffice "DOC (Word 97), a hyperlink field over the middle of the number"
add legacy-pptx-slide.ppt libreoffice "PPT (PowerPoint 97), a text box"
add legacy-pptx-notes.ppt libreoffice "PPT (PowerPoint 97), the speaker notes"
add legacy-pptx-table.ppt libreoffice "PPT (PowerPoint 97), a table"
add odt-password.odt lo_password.py "ODT with a password (parts encrypted, as its manifest says)" encrypted
add legacy-password.doc lo_password.py "DOC with a password (RC4 CryptoAPI)" encrypted
add xls-filepass.xls make_office.py "XLS with a FILEPASS record (an encrypted workbook)" encrypted
add docx-password.docx msoffcrypto-tool "DOCX with a password (an encrypted OOXML package)" encrypted

{
    printf 'file\texpect\ttool\tdescription\n'
    printf '%s\n' "${rows[@]}"
} >"$manifest"
echo "generate.sh: ${#rows[@]} formats, $((2 * ${#rows[@]})) files in $out"
