//! An OOXML package's `[Content_Types].xml`: the content type of every part, by its name
//! (`Override`) or its extension (`Default`). Office finds parts by their types and the
//! relationships, never by their folders, so a main part renamed `word/main.xml`, a slide
//! master, a pivot cache or a text box in a drawing is what its type says it is.

use quick_xml::Reader;
use quick_xml::events::Event;

use super::super::xml::attribute;

/// The most entries kept (a package has tens; a hostile one is not read further).
const MAX_ENTRIES: usize = 10_000;

/// The content types of a package's parts.
#[derive(Debug, Default)]
pub(crate) struct ContentTypes {
    /// Extension (lower case) → type.
    defaults: Vec<(String, String)>,
    /// Part name (without the leading `/`, as ZIP names are) → type.
    overrides: Vec<(String, String)>,
}

impl ContentTypes {
    /// Parses `[Content_Types].xml` (whatever parses of it).
    pub(crate) fn parse(xml: &[u8]) -> Self {
        let mut types = Self::default();
        let mut reader = Reader::from_reader(xml);
        loop {
            match reader.read_event() {
                Ok(Event::Start(e) | Event::Empty(e)) => {
                    if types.defaults.len() + types.overrides.len() >= MAX_ENTRIES {
                        break;
                    }
                    let Some(kind) = attribute(&e, "ContentType") else {
                        continue;
                    };
                    let kind = kind.trim().to_ascii_lowercase();
                    match e.local_name().as_ref() {
                        b"Default" => {
                            if let Some(ext) = attribute(&e, "Extension") {
                                types.defaults.push((ext.to_ascii_lowercase(), kind));
                            }
                        }
                        b"Override" => {
                            if let Some(part) = attribute(&e, "PartName") {
                                let part = part.trim_start_matches('/').to_string();
                                types.overrides.push((part, kind));
                            }
                        }
                        _ => {}
                    }
                }
                Ok(Event::Eof) | Err(_) => break,
                Ok(_) => {}
            }
        }
        types
    }

    /// The type of part `name`: its override (part names compare without case, as OPC
    /// says), else its extension's default.
    pub(crate) fn of(&self, name: &str) -> Option<&str> {
        if let Some((_, kind)) = self
            .overrides
            .iter()
            .find(|(part, _)| part.eq_ignore_ascii_case(name))
        {
            return Some(kind);
        }
        let base = name.rsplit('/').next().unwrap_or(name);
        let ext = base.rsplit_once('.')?.1.to_ascii_lowercase();
        self.defaults
            .iter()
            .find(|(default, _)| *default == ext)
            .map(|(_, kind)| kind.as_str())
    }
}

/// How a part of a given type is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ByType {
    /// XML text a user wrote or sees.
    Text,
    /// A worksheet.
    Sheet,
    /// The shared strings.
    SharedStrings,
    /// Boilerplate: styles, themes, settings, fonts, relationships.
    Skip,
    /// Not XML: an image, an embedded object, a macro project.
    File,
    /// A generic type (`application/xml`): the type says nothing, the name decides.
    Generic,
}

/// The types (by their ending) of parts that hold no text a user wrote.
const BOILERPLATE: [&str; 22] = [
    "styles+xml",
    "styleswitheffects+xml",
    "theme+xml",
    "themeoverride+xml",
    "settings+xml",
    "websettings+xml",
    "fonttable+xml",
    "relationships+xml",
    "calcchain+xml",
    "printersettings",
    "presprops+xml",
    "viewprops+xml",
    "tablestyles+xml",
    "customxmlproperties+xml",
    "obfuscatedfont",
    "numbering+xml",
    "volatiledependencies+xml",
    "sheetmetadata+xml",
    "keymapcustomizations+xml",
    "vbadata+xml",
    "font-ttf",
    "x-fontdata",
];

/// How a part of type `kind` is read.
pub(crate) fn classify(kind: Option<&str>) -> ByType {
    let Some(kind) = kind else {
        return ByType::Generic;
    };
    if matches!(kind, "application/xml" | "text/xml" | "") {
        return ByType::Generic;
    }
    if kind.ends_with("spreadsheetml.worksheet+xml") {
        return ByType::Sheet;
    }
    if kind.ends_with("spreadsheetml.sharedstrings+xml") {
        return ByType::SharedStrings;
    }
    if BOILERPLATE.iter().any(|ending| kind.ends_with(ending)) {
        return ByType::Skip;
    }
    if kind.ends_with("+xml") || kind.ends_with("vmldrawing") {
        return ByType::Text;
    }
    ByType::File
}

#[cfg(test)]
mod tests {
    use super::*;

    const TYPES: &str = r#"<?xml version="1.0"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="XML" ContentType="application/xml"/>
<Default Extension="png" ContentType="image/png"/>
<Override PartName="/word/main.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>
<Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>
<Override PartName="/xl/worksheets/data.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/ppt/slideMasters/slideMaster1.xml" ContentType="application/vnd.openxmlformats-officedocument.presentationml.slideMaster+xml"/>
<Override PartName="/xl/pivotCache/pivotCacheRecords1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.pivotCacheRecords+xml"/>
</Types>"#;

    #[test]
    fn parts_are_typed_by_override_then_extension() {
        let types = ContentTypes::parse(TYPES.as_bytes());
        let by = |name: &str| classify(types.of(name));
        assert_eq!(by("word/main.xml"), ByType::Text);
        assert_eq!(by("WORD/MAIN.XML"), ByType::Text);
        assert_eq!(by("word/styles.xml"), ByType::Skip);
        assert_eq!(by("xl/worksheets/data.xml"), ByType::Sheet);
        assert_eq!(by("ppt/slideMasters/slideMaster1.xml"), ByType::Text);
        assert_eq!(by("xl/pivotCache/pivotCacheRecords1.xml"), ByType::Text);
        assert_eq!(by("word/_rels/main.xml.rels"), ByType::Skip);
        assert_eq!(by("word/media/image1.png"), ByType::File);
        assert_eq!(by("customXml/item1.xml"), ByType::Generic);
        assert_eq!(by("no-extension"), ByType::Generic);
        assert_eq!(
            classify(Some("application/vnd.ms-office.vbaproject")),
            ByType::File
        );
    }

    #[test]
    fn hostile_content_types_end_cleanly() {
        let types = ContentTypes::parse(b"<Types><Override PartName=");
        assert_eq!(types.of("a.xml"), None);
        let many = "<Default Extension=\"x\" ContentType=\"a/b\"/>".repeat(20_000);
        let types = ContentTypes::parse(format!("<Types>{many}</Types>").as_bytes());
        assert_eq!(types.defaults.len(), MAX_ENTRIES);
    }
}
