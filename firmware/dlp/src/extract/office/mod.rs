//! Office packages: OOXML (DOCX, XLSX, PPTX and their macro twins) and ODF (ODT, ODS,
//! ODP), which are ZIP archives of XML parts.
//!
//! A package is recognised by its parts (`[Content_Types].xml`, `word/document.xml` …;
//! `content.xml` with `mimetype` or a manifest). An OOXML part is read for what its content
//! type says it is (`types`): a renamed main part, slide masters and layouts, pivot caches,
//! drawings' text boxes and custom XML are text like the body; only parts of a generic type
//! are judged by their folder. Its text parts are read through `xml`:
//! Word's body, headers, footers, notes and comments; Excel's sheets with the shared
//! strings looked up and numbers written out in full; PowerPoint's slides, notes and
//! comments; charts and SmartArt; the document properties; ODF's `content.xml`, `styles.xml`
//! (headers and footers) and `meta.xml`; an ODF part its manifest marks encrypted (a
//! password-protected document) is not read, and the document is reported encrypted. Package boilerplate (relationships, styles, themes,
//! settings) is skipped without expanding it; anything else (embedded workbooks, an odd file
//! slipped into the package) goes through [`Walk::file`] like any archive entry.

mod manifest;
mod types;

use self::types::{ByType, ContentTypes};
use super::archive::{Archive, Entry, entry_name, read_entry};
use super::xml::{self, XmlText};
use super::{Walk, push_text};
use crate::content::{Location, ProblemKind};

/// What kind of package.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Package {
    Ooxml,
    Odf,
}

/// How a part is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    /// XML text.
    Text,
    /// An Excel worksheet.
    Sheet,
    /// Excel's shared strings (read first, not shown on their own).
    SharedStrings,
    /// Package boilerplate: not read.
    Skip,
    /// Anything else: extracted as a file.
    File,
}

/// If `archive` is an Office package, extracts its text and returns true; else false.
pub(crate) fn extract(
    walk: &mut Walk<'_, '_>,
    location: &Location,
    archive: &mut Archive<'_>,
    depth: usize,
) -> bool {
    let Some(package) = detect(archive) else {
        return false;
    };
    let names: Vec<String> = (0..archive.len())
        .map(|index| entry_name(archive, index))
        .collect();
    let cap = walk.text_cap();
    // A package's own index part, read first: `[Content_Types].xml` (OOXML), or the
    // manifest (ODF), which names the parts a password encrypted. `Err` when the walk
    // must stop.
    let mut index_part = |walk: &mut Walk<'_, '_>, wanted: &str| -> Result<Vec<u8>, ()> {
        let Some(index) = names.iter().position(|n| n == wanted) else {
            return Ok(Vec::new());
        };
        match read_entry(walk, location, archive, index, false) {
            Entry::Data { data, .. } => Ok(data),
            Entry::Skip => Ok(Vec::new()),
            Entry::Stop => Err(()),
        }
    };
    let mut types = ContentTypes::default();
    let mut encrypted = Vec::new();
    match package {
        Package::Ooxml => match index_part(walk, "[Content_Types].xml") {
            Ok(data) => types = ContentTypes::parse(&data),
            Err(()) => return true,
        },
        Package::Odf => match index_part(walk, "META-INF/manifest.xml") {
            Ok(data) => encrypted = manifest::encrypted_parts(&data),
            Err(()) => return true,
        },
    }
    if !encrypted.is_empty() {
        walk.out.problem(
            location,
            ProblemKind::Encrypted,
            "password-protected OpenDocument file: its content cannot be inspected",
        );
    }
    let classify = |name: &str| classify(package, &types, name);
    // Shared strings first: the sheets refer to them by index.
    let mut shared = Vec::new();
    if package == Package::Ooxml
        && let Some(index) = names
            .iter()
            .position(|n| classify(n) == Part::SharedStrings)
    {
        match read_entry(walk, location, archive, index, false) {
            Entry::Data { location, data, .. } => {
                let (strings, error) = xml::shared_strings(&data, cap);
                xml::report_error(walk, &location, error);
                shared = strings;
            }
            Entry::Skip => {}
            Entry::Stop => return true,
        }
    }
    for (index, name) in names.iter().enumerate() {
        if encrypted.contains(name) {
            // Marked encrypted: not read, unless it is plain text after all (a manifest can
            // say anything; encrypted bytes are never valid UTF-8 for long).
            let (at, data) = match read_entry(walk, location, archive, index, false) {
                Entry::Data { location, data, .. } => (location, data),
                Entry::Skip => continue,
                Entry::Stop => return true,
            };
            if std::str::from_utf8(&data).is_err() {
                continue;
            }
            walk.entry_file(&at, name, &data, depth);
            continue;
        }
        let part = classify(name);
        let entry = match part {
            Part::Skip | Part::SharedStrings => continue,
            Part::Text | Part::Sheet => read_entry(walk, location, archive, index, false),
            Part::File => read_entry(walk, location, archive, index, true),
        };
        let (at, data) = match entry {
            Entry::Data { location, data, .. } => (location, data),
            Entry::Skip => continue,
            Entry::Stop => return true,
        };
        let parsed: XmlText = match part {
            Part::Sheet => xml::sheet_to_text(&data, &shared, cap),
            Part::Text if matches(name, "customXml/item", ".xml") => xml::data_to_text(&data, cap),
            Part::Text => xml::to_text(&data, cap),
            _ => {
                walk.entry_file(&at, name, &data, depth);
                continue;
            }
        };
        xml::report_error(walk, &at, parsed.error);
        if !push_text(walk, &at, parsed.text) {
            return true;
        }
    }
    true
}

/// Is this archive an Office package, and which kind?
fn detect(archive: &Archive<'_>) -> Option<Package> {
    let has = |name: &str| archive.index_for_name(name).is_some();
    if has("[Content_Types].xml")
        || has("word/document.xml")
        || has("xl/workbook.xml")
        || has("ppt/presentation.xml")
    {
        return Some(Package::Ooxml);
    }
    if has("content.xml") && (has("mimetype") || has("META-INF/manifest.xml")) {
        return Some(Package::Odf);
    }
    None
}

/// Does `name` (a package part) match `prefix*suffix`, with anything but `/` between?
fn matches(name: &str, prefix: &str, suffix: &str) -> bool {
    name.len() >= prefix.len() + suffix.len()
        && name.starts_with(prefix)
        && name.ends_with(suffix)
        && name
            .get(prefix.len()..name.len() - suffix.len())
            .is_some_and(|middle| !middle.contains('/'))
}

/// Where OOXML packages keep their boilerplate parts.
const OOXML_DIRS: [&str; 6] = [
    "[Content_Types].xml",
    "_rels/",
    "word/",
    "xl/",
    "ppt/",
    "docProps/",
];
/// ODF boilerplate parts.
const ODF_PARTS: [&str; 4] = [
    "settings.xml",
    "manifest.rdf",
    "META-INF/",
    "Configurations2/",
];

/// Is `name` one of the package's own parts (by the prefixes given)? An XML file elsewhere
/// in the archive was put there by someone, and is read.
fn in_package(name: &str, prefixes: &[&str]) -> bool {
    prefixes.iter().any(|prefix| name.starts_with(prefix))
        || name.starts_with("customXml/")
        || name.starts_with("Object ")
}

/// How to read the part `name` of a package whose content types are `types`.
fn classify(package: Package, types: &ContentTypes, name: &str) -> Part {
    if package == Package::Ooxml && name != "[Content_Types].xml" {
        match types::classify(types.of(name)) {
            ByType::Text => return Part::Text,
            ByType::Sheet => return Part::Sheet,
            ByType::SharedStrings => return Part::SharedStrings,
            ByType::Skip => return Part::Skip,
            ByType::File => return Part::File,
            ByType::Generic => {}
        }
        // Custom XML data parts (bound to content controls, or data kept in the file).
        if matches(name, "customXml/item", ".xml") {
            return Part::Text;
        }
    }
    classify_by_folder(package, name)
}

/// How to read the part `name` of a package by its folder and name alone (parts of a
/// generic type, ODF).
fn classify_by_folder(package: Package, name: &str) -> Part {
    let lower = name.to_ascii_lowercase();
    let xml_like = lower.ends_with(".xml") || lower.ends_with(".rels") || lower.ends_with(".vml");
    match package {
        Package::Ooxml => {
            const TEXT: [(&str, &str); 17] = [
                ("word/document", ".xml"),
                ("word/header", ".xml"),
                ("word/footer", ".xml"),
                ("word/footnotes", ".xml"),
                ("word/endnotes", ".xml"),
                ("word/comments", ".xml"),
                ("word/glossary/document", ".xml"),
                ("xl/comments", ".xml"),
                ("xl/threadedComments/", ".xml"),
                ("ppt/slides/", ".xml"),
                ("ppt/notesSlides/", ".xml"),
                ("ppt/comments/", ".xml"),
                ("word/charts/", ".xml"),
                ("xl/charts/", ".xml"),
                ("ppt/charts/", ".xml"),
                ("docProps/core", ".xml"),
                ("docProps/app", ".xml"),
            ];
            if name == "xl/sharedStrings.xml" {
                Part::SharedStrings
            } else if matches(name, "xl/worksheets/", ".xml") {
                Part::Sheet
            } else if TEXT.iter().any(|(p, s)| matches(name, p, s))
                || (name.contains("/diagrams/data") && lower.ends_with(".xml"))
            {
                Part::Text
            } else if (xml_like && in_package(name, &OOXML_DIRS))
                || lower.ends_with(".odttf")
                || lower.ends_with(".fntdata")
                || name.ends_with('/')
            {
                Part::Skip
            } else {
                Part::File
            }
        }
        Package::Odf => {
            let base = name.rsplit('/').next().unwrap_or(name);
            if matches!(base, "content.xml" | "styles.xml" | "meta.xml") {
                Part::Text
            } else if (xml_like && in_package(name, &ODF_PARTS))
                || name == "mimetype"
                || name.ends_with('/')
            {
                Part::Skip
            } else {
                Part::File
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_marking_plain_parts_encrypted_hides_nothing() {
        let manifest = br#"<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">
 <manifest:file-entry manifest:full-path="content.xml"><manifest:encryption-data/></manifest:file-entry>
 <manifest:file-entry manifest:full-path="secret.csv"><manifest:encryption-data/></manifest:file-entry>
</manifest:manifest>"#;
        let odt = crate::extract::tests::zip(&[
            ("mimetype", b"application/vnd.oasis.opendocument.text"),
            ("META-INF/manifest.xml", manifest),
            (
                "content.xml",
                b"\xA7\x91\x03\xFE encrypted-looking bytes \xC3\x28",
            ),
            ("secret.csv", "山田,123456789018\n".as_bytes()),
        ]);
        let result = crate::extract::tests::run(Some("a.odt"), &odt);
        assert!(
            result
                .problems
                .iter()
                .any(|p| p.kind == crate::content::ProblemKind::Encrypted),
            "{:?}",
            result.problems
        );
        // The plain part marked encrypted is read all the same; the real ciphertext is
        // left alone (no "malformed XML" problem).
        assert!(
            result
                .segments
                .iter()
                .any(|s| s.text.contains("123456789018"))
        );
        assert_eq!(result.problems.len(), 1, "{:?}", result.problems);
    }

    #[test]
    fn parts_are_classified() {
        use Package::{Odf, Ooxml};
        assert_eq!(classify_by_folder(Ooxml, "word/document.xml"), Part::Text);
        assert_eq!(classify_by_folder(Ooxml, "word/header2.xml"), Part::Text);
        assert_eq!(classify_by_folder(Ooxml, "word/styles.xml"), Part::Skip);
        assert_eq!(
            classify_by_folder(Ooxml, "word/_rels/document.xml.rels"),
            Part::Skip
        );
        assert_eq!(
            classify_by_folder(Ooxml, "xl/worksheets/sheet12.xml"),
            Part::Sheet
        );
        assert_eq!(
            classify_by_folder(Ooxml, "xl/worksheets/_rels/sheet1.xml.rels"),
            Part::Skip
        );
        assert_eq!(
            classify_by_folder(Ooxml, "xl/sharedStrings.xml"),
            Part::SharedStrings
        );
        assert_eq!(
            classify_by_folder(Ooxml, "ppt/slides/slide3.xml"),
            Part::Text
        );
        assert_eq!(
            classify_by_folder(Ooxml, "ppt/slideLayouts/slideLayout1.xml"),
            Part::Skip
        );
        assert_eq!(
            classify_by_folder(Ooxml, "word/media/image1.png"),
            Part::File
        );
        assert_eq!(
            classify_by_folder(Ooxml, "xl/embeddings/Microsoft_Word_Document.docx"),
            Part::File
        );
        assert_eq!(classify_by_folder(Ooxml, "xl/hidden.csv"), Part::File);
        assert_eq!(classify_by_folder(Odf, "content.xml"), Part::Text);
        assert_eq!(classify_by_folder(Odf, "Object 1/content.xml"), Part::Text);
        assert_eq!(classify_by_folder(Odf, "settings.xml"), Part::Skip);
        assert_eq!(classify_by_folder(Odf, "mimetype"), Part::Skip);
        assert_eq!(classify_by_folder(Ooxml, "secret.xml"), Part::File);
        assert_eq!(classify_by_folder(Odf, "secret.xml"), Part::File);
    }

    #[test]
    fn content_types_decide_before_folders() {
        let types = ContentTypes::parse(
            br#"<Types><Default Extension="xml" ContentType="application/xml"/>
            <Override PartName="/word/main.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>
            <Override PartName="/xl/drawings/drawing1.xml" ContentType="application/vnd.openxmlformats-officedocument.drawing+xml"/>
            <Override PartName="/ppt/slideLayouts/slideLayout1.xml" ContentType="application/vnd.openxmlformats-officedocument.presentationml.slideLayout+xml"/>
            <Override PartName="/customXml/itemProps1.xml" ContentType="application/vnd.openxmlformats-officedocument.customXmlProperties+xml"/>
            </Types>"#,
        );
        let ooxml = |name: &str| classify(Package::Ooxml, &types, name);
        assert_eq!(ooxml("word/main.xml"), Part::Text);
        assert_eq!(ooxml("xl/drawings/drawing1.xml"), Part::Text);
        assert_eq!(ooxml("ppt/slideLayouts/slideLayout1.xml"), Part::Text);
        assert_eq!(ooxml("customXml/item1.xml"), Part::Text);
        assert_eq!(ooxml("customXml/itemProps1.xml"), Part::Skip);
        // A generic type: the folder decides, as before.
        assert_eq!(ooxml("word/styles.xml"), Part::Skip);
        assert_eq!(ooxml("[Content_Types].xml"), Part::Skip);
    }
}
