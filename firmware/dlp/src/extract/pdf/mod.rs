//! A small PDF text extractor of its own: enough to read what office software and scanners'
//! OCR write, bounded and panic-free on anything else.
//!
//! 1. The file is scanned for `N G obj … endobj` objects and their streams (the xref table
//!    is not trusted; the last definition of an object wins). `/Encrypt` in a trailer or
//!    cross-reference stream dictionary means the strings and streams are encrypted: that is
//!    reported as [`ProblemKind::Encrypted`] and nothing else is read.
//! 2. Object streams (`/Type /ObjStm`) are unpacked: fonts often live in them.
//! 3. Streams are decoded with every standard filter but the image codecs: `FlateDecode`
//!    and `LZWDecode` (with their PNG and TIFF predictors) and `RunLengthDecode` under the
//!    bomb limits of [`bounded`], `ASCIIHexDecode` and `ASCII85Decode` (see `filters`).
//!    Image streams (DCT, JPX, JBIG2, CCITT) are skipped; a filter nobody knows makes the
//!    file unreadable rather than its text silently skipped.
//! 4. Pages are found through the page tree (then any page object not reached), resources
//!    inherited; each page's content streams (and the form XObjects they draw) are run
//!    through a small interpreter of the text operators `Tf Tj TJ ' " Td TD Tm T*`, strings
//!    decoded through the font's `/ToUnicode` CMap, or its predefined CMap (`90ms-RKSJ-H`
//!    is Shift_JIS, `UniJIS-UCS2-H` UTF-16), or as single bytes for simple fonts.
//! 5. Content streams no page reached are run with the fonts of every resource dictionary
//!    in the file; embedded files (`/Type /EmbeddedFile`) are extracted like attachments.
//!
//! Each page is one segment, located as `page N`.

mod cmap;
mod crypt;
mod filters;
mod lexer;
mod shown;

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::rc::Rc;

use encoding_rs::{EUC_JP, SHIFT_JIS, UTF_16BE};
use flate2::read::{DeflateDecoder, ZlibDecoder};

use self::cmap::CMap;
use self::filters::Filter;
use self::lexer::{Dict, Lexer, Obj, Tok, get, is_regular, is_white};
use super::bounded::{self, Expanded};
use super::{FileRef, Walk, find, push_text};
use crate::content::{Location, ProblemKind};

/// How many references are followed in a chain, and how deep the page tree and form
/// XObjects nest.
const MAX_HOPS: usize = 16;
const MAX_TREE_DEPTH: usize = 64;
const MAX_FORM_DEPTH: usize = 8;
/// The most operands kept for one operator.
const MAX_OPERANDS: usize = 64;

/// One indirect object.
#[derive(Debug)]
struct Object {
    value: Obj,
    /// Its generation number (a part of its decryption key).
    generation: u16,
    /// The raw stream data, if it is a stream.
    stream: Option<Range<usize>>,
}

/// The objects of a PDF file.
#[derive(Debug, Default)]
struct Pdf {
    objects: HashMap<u32, Object>,
    /// Object numbers in the order met.
    order: Vec<u32>,
    /// Where streams are, to ignore what is inside them when looking for `/Encrypt`
    /// (in file order).
    stream_ranges: Vec<Range<usize>>,
    /// The decryptor of a file that opens without a password.
    decryptor: Option<crypt::Decryptor>,
}

/// Is `at` after a `%` on its line (in a comment)? Strings with `%` in them are rare
/// before a trailer keyword; a false "yes" only ignores a trailer line that is odd anyway.
fn in_comment(bytes: &[u8], at: usize) -> bool {
    let line_start = bytes
        .get(..at)
        .and_then(|before| before.iter().rposition(|&b| b == b'\n' || b == b'\r'))
        .map_or(0, |nl| nl + 1);
    bytes
        .get(line_start..at)
        .is_some_and(|line| line.contains(&b'%'))
}

/// Replaces every string in `obj` by `decrypt` of it.
fn decrypt_strings(obj: &mut Obj, decrypt: &dyn Fn(&[u8]) -> Vec<u8>) {
    match obj {
        Obj::Str(bytes) => *bytes = decrypt(bytes),
        Obj::Array(items) => {
            for item in items {
                decrypt_strings(item, decrypt);
            }
        }
        Obj::Dict(dict) => {
            for (_, value) in dict {
                decrypt_strings(value, decrypt);
            }
        }
        _ => {}
    }
}

static NULL: Obj = Obj::Null;

impl Pdf {
    /// Scans `bytes` for objects.
    fn scan(bytes: &[u8]) -> Self {
        let mut pdf = Self::default();
        let mut pos = 0;
        while let Some(offset) = bytes.get(pos..).and_then(|rest| find(rest, b"obj")) {
            let keyword = pos + offset;
            pos = keyword + 3;
            if bytes.get(pos).is_some_and(|&b| is_regular(b)) {
                continue;
            }
            let Some((number, generation)) = object_number_before(bytes, keyword) else {
                continue;
            };
            let mut lexer = Lexer::new(bytes, pos);
            let Some(value) = lexer.object() else {
                break;
            };
            let after_value = lexer.pos;
            let mut stream = None;
            if let Obj::Dict(dict) = &value
                && lexer.token() == Some(Tok::Keyword(b"stream".to_vec()))
            {
                let mut start = lexer.pos;
                if bytes.get(start) == Some(&b'\r') {
                    start += 1;
                }
                if bytes.get(start) == Some(&b'\n') {
                    start += 1;
                }
                let declared = get(dict, b"Length")
                    .and_then(Obj::as_usize)
                    .and_then(|len| start.checked_add(len))
                    .filter(|&end| {
                        let mut after = Lexer::new(bytes, end);
                        after.skip_white();
                        bytes
                            .get(after.pos..)
                            .is_some_and(|rest| rest.starts_with(b"endstream"))
                    });
                let end = declared.unwrap_or_else(|| {
                    let found = bytes
                        .get(start..)
                        .and_then(|rest| find(rest, b"endstream"))
                        .map_or(bytes.len(), |at| start + at);
                    // The end-of-line before `endstream` is not data.
                    let mut end = found;
                    if end > start && bytes.get(end - 1) == Some(&b'\n') {
                        end -= 1;
                    }
                    if end > start && bytes.get(end - 1) == Some(&b'\r') {
                        end -= 1;
                    }
                    end
                });
                let end = end.max(start).min(bytes.len());
                stream = Some(start..end);
                pdf.stream_ranges.push(start..end);
                pos = end.max(pos);
            } else {
                pos = after_value.max(pos);
            }
            if pdf
                .objects
                .insert(
                    number,
                    Object {
                        value,
                        generation,
                        stream,
                    },
                )
                .is_none()
            {
                pdf.order.push(number);
            }
        }
        pdf
    }

    /// Is `at` inside a stream's data?
    fn in_stream(&self, at: usize) -> bool {
        let index = self.stream_ranges.partition_point(|r| r.start <= at);
        index > 0
            && self
                .stream_ranges
                .get(index - 1)
                .is_some_and(|r| r.contains(&at))
    }

    /// The trailer that names the `/Encrypt` dictionary: the last classic trailer that
    /// does, else the last cross-reference stream's dictionary that does.
    fn encrypting_trailer(&self, bytes: &[u8]) -> Option<Dict> {
        let mut found = None;
        let mut from = 0;
        while let Some(offset) = bytes.get(from..).and_then(|rest| find(rest, b"trailer")) {
            let at = from + offset;
            from = at + 7;
            if self.in_stream(at) || in_comment(bytes, at) {
                continue;
            }
            if let Some(Obj::Dict(dict)) = Lexer::new(bytes, at + 7).object()
                && get(&dict, b"Encrypt").is_some()
            {
                found = Some(dict);
            }
        }
        if found.is_some() {
            return found;
        }
        self.order
            .iter()
            .rev()
            .filter_map(|n| self.objects.get(n)?.value.as_dict())
            .find(|dict| self.type_is(dict, b"Type", b"XRef") && get(dict, b"Encrypt").is_some())
            .cloned()
    }

    /// Decides what a file whose `trailer` names `/Encrypt` is: one that opens without a
    /// password (its strings are decrypted here, its streams when read), or one that needs
    /// a password (why).
    fn unlock(&mut self, trailer: &Dict) -> Result<(), String> {
        let encrypt_ref = match get(trailer, b"Encrypt") {
            Some(Obj::Ref(n)) => Some(*n),
            _ => None,
        };
        let encrypt = match get(trailer, b"Encrypt") {
            Some(Obj::Dict(dict)) => Some(dict.clone()),
            Some(other) => self.dict_of(other).cloned(),
            None => None,
        }
        .ok_or_else(|| "encrypted PDF: its /Encrypt dictionary cannot be found".to_string())?;
        let id = match get(trailer, b"ID").map(|id| self.resolve(id)) {
            Some(Obj::Array(items)) => match items.first() {
                Some(Obj::Str(first)) => first.clone(),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
        let decryptor = crypt::Decryptor::new(&encrypt, &id)?;
        for (number, object) in &mut self.objects {
            let xref = object
                .value
                .as_dict()
                .is_some_and(|d| get(d, b"Type").and_then(Obj::as_name) == Some(b"XRef"));
            if Some(*number) == encrypt_ref || xref {
                continue;
            }
            let generation = object.generation;
            decrypt_strings(&mut object.value, &|data| {
                decryptor.string(*number, generation, data)
            });
        }
        self.decryptor = Some(decryptor);
        Ok(())
    }

    /// Follows references to the object itself (`null` when dangling).
    fn resolve<'p>(&'p self, mut obj: &'p Obj) -> &'p Obj {
        for _ in 0..MAX_HOPS {
            let Obj::Ref(number) = obj else {
                return obj;
            };
            obj = match self.objects.get(number) {
                Some(object) => &object.value,
                None => return &NULL,
            };
        }
        &NULL
    }

    fn dict_of<'p>(&'p self, obj: &'p Obj) -> Option<&'p Dict> {
        self.resolve(obj).as_dict()
    }

    /// The value of `key` in `dict`, references followed.
    fn get<'p>(&'p self, dict: &'p Dict, key: &[u8]) -> Option<&'p Obj> {
        get(dict, key).map(|v| self.resolve(v))
    }

    fn type_is(&self, dict: &Dict, key: &[u8], name: &[u8]) -> bool {
        self.get(dict, key).and_then(Obj::as_name) == Some(name)
    }
}

/// The object number in `N G obj` before the `obj` keyword at `keyword`.
fn object_number_before(bytes: &[u8], keyword: usize) -> Option<(u32, u16)> {
    let mut pos = keyword;
    let back_over = |pos: &mut usize, want: fn(u8) -> bool, max: usize| -> usize {
        let mut n = 0;
        while n < max && *pos > 0 && bytes.get(*pos - 1).is_some_and(|&b| want(b)) {
            *pos -= 1;
            n += 1;
        }
        n
    };
    if back_over(&mut pos, is_white, 16) == 0 {
        return None;
    }
    let generation_end = pos;
    if back_over(&mut pos, |b| b.is_ascii_digit(), 6) == 0 {
        return None;
    }
    let generation: u16 = std::str::from_utf8(bytes.get(pos..generation_end)?)
        .ok()?
        .parse()
        .unwrap_or(0);
    if back_over(&mut pos, is_white, 16) == 0 {
        return None;
    }
    let end = pos;
    if back_over(&mut pos, |b| b.is_ascii_digit(), 10) == 0 {
        return None;
    }
    if pos > 0 && bytes.get(pos - 1).is_some_and(|&b| is_regular(b)) {
        return None;
    }
    let number = std::str::from_utf8(bytes.get(pos..end)?)
        .ok()?
        .parse()
        .ok()?;
    Some((number, generation))
}

/// How a font's strings become text.
#[derive(Debug)]
enum Encoding {
    /// One byte per character; Latin-1 is close enough for digits and ASCII.
    Simple,
    /// Two-byte glyph codes that mean nothing without a ToUnicode CMap.
    Identity,
    ShiftJis,
    EucJp,
    Utf16Be,
    Utf8,
}

#[derive(Debug)]
struct Font {
    cmap: Option<Rc<CMap>>,
    encoding: Encoding,
}

impl Font {
    fn decode(&self, bytes: &[u8]) -> String {
        if let Some(cmap) = &self.cmap {
            return cmap.decode(bytes);
        }
        match self.encoding {
            Encoding::Simple => latin1(bytes),
            Encoding::Identity => String::new(),
            Encoding::ShiftJis => SHIFT_JIS.decode_without_bom_handling(bytes).0.into_owned(),
            Encoding::EucJp => EUC_JP.decode_without_bom_handling(bytes).0.into_owned(),
            Encoding::Utf16Be => UTF_16BE.decode_without_bom_handling(bytes).0.into_owned(),
            Encoding::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
        }
    }
}

fn latin1(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| if b < 0x20 { ' ' } else { char::from(b) })
        .collect()
}

/// The fonts and forms a content stream can use, by resource name.
#[derive(Debug, Default, Clone)]
struct Resources {
    fonts: HashMap<Vec<u8>, Rc<Font>>,
    /// Form XObjects: resource name to object number.
    forms: HashMap<Vec<u8>, u32>,
}

/// A decoded stream could not be had: skip it, or stop the file (a bomb, recorded).
enum Fail {
    Skip,
    Stop,
}

/// The extraction of one PDF file.
struct Ctx<'w, 'c, 'l, 'b> {
    walk: &'w mut Walk<'c, 'l>,
    location: &'w Location,
    bytes: &'b [u8],
    pdf: Pdf,
    cmaps: HashMap<u32, Option<Rc<CMap>>>,
    fonts: HashMap<u32, Rc<Font>>,
    /// Resources by (is a reference, object number).
    resource_cache: HashMap<(bool, u32), Rc<Resources>>,
    /// Content streams and forms already run.
    done: HashSet<u32>,
    /// A bomb or the text budget stopped the file.
    stopped: bool,
    cap: usize,
}

/// Extracts the text of a PDF file at `location` (nesting depth `depth`).
pub(crate) fn extract(walk: &mut Walk<'_, '_>, location: &Location, bytes: &[u8], depth: usize) {
    let mut pdf = Pdf::scan(bytes);
    // Encryption is what the trailer says, not a `/Encrypt` token found anywhere (in a
    // comment, in a string).
    if let Some(trailer) = pdf.encrypting_trailer(bytes)
        && let Err(why) = pdf.unlock(&trailer)
    {
        walk.out.problem(location, ProblemKind::Encrypted, why);
        return;
    }
    if pdf.objects.is_empty() {
        walk.out.problem(
            location,
            ProblemKind::Unreadable,
            "not a readable PDF (no objects found)",
        );
        // `%PDF-` in front of text does not hide the text.
        if super::text::looks_like_text(bytes) {
            super::text::extract(walk, location, bytes, None);
        }
        return;
    }
    let cap = walk.text_cap();
    let mut ctx = Ctx {
        walk,
        location,
        bytes,
        pdf,
        cmaps: HashMap::new(),
        fonts: HashMap::new(),
        resource_cache: HashMap::new(),
        done: HashSet::new(),
        stopped: false,
        cap,
    };
    ctx.unpack_object_streams();
    ctx.pages();
    ctx.shown_strings();
    ctx.leftovers(depth);
}

impl Ctx<'_, '_, '_, '_> {
    /// Decodes the stream of object `number` (filters applied, under the bomb limits).
    fn stream(&mut self, number: u32) -> Result<Vec<u8>, Fail> {
        if self.stopped {
            return Err(Fail::Stop);
        }
        let Some(object) = self.pdf.objects.get(&number) else {
            return Err(Fail::Skip);
        };
        let (Some(range), Some(dict)) = (object.stream.clone(), object.value.as_dict()) else {
            return Err(Fail::Skip);
        };
        let filters: Vec<Vec<u8>> = match self.pdf.get(dict, b"Filter") {
            Some(Obj::Name(name)) => vec![name.clone()],
            Some(Obj::Array(items)) => items
                .iter()
                .filter_map(|item| self.pdf.resolve(item).as_name().map(<[u8]>::to_vec))
                .collect(),
            _ => Vec::new(),
        };
        let parms: Vec<Option<&Dict>> = match self
            .pdf
            .get(dict, b"DecodeParms")
            .or_else(|| self.pdf.get(dict, b"DP"))
        {
            Some(Obj::Array(items)) => items.iter().map(|item| self.pdf.dict_of(item)).collect(),
            Some(other) => vec![self.pdf.dict_of(other)],
            None => Vec::new(),
        };
        let parms: Vec<Option<Dict>> = parms.into_iter().map(|p| p.cloned()).collect();
        let mut data = self.bytes.get(range).unwrap_or_default().to_vec();
        if let Some(decryptor) = &self.pdf.decryptor {
            data = decryptor.stream(number, object.generation, dict, &data);
        }
        for (index, name) in filters.iter().enumerate() {
            let parms = parms.get(index).and_then(Option::as_ref);
            let what = format!("PDF stream {number}");
            let compressed = u64::try_from(data.len()).unwrap_or(u64::MAX);
            data = match Filter::named(name) {
                Filter::Flate => {
                    let mut expanded = bounded::expand(
                        self.walk,
                        self.location,
                        &what,
                        ZlibDecoder::new(&data[..]),
                        compressed,
                    );
                    if let Expanded::Broken(partial, _) = &expanded
                        && partial.is_empty()
                    {
                        // Some writers leave out the zlib header.
                        expanded = bounded::expand(
                            self.walk,
                            self.location,
                            &what,
                            DeflateDecoder::new(&data[..]),
                            compressed,
                        );
                    }
                    filters::unpredict(self.expanded(expanded)?, parms)
                }
                Filter::Lzw => {
                    let early = parms
                        .and_then(|p| get(p, b"EarlyChange"))
                        .and_then(Obj::as_usize)
                        .is_none_or(|early| early != 0);
                    let reader = filters::Lzw::new(&data, early);
                    let expanded =
                        bounded::expand(self.walk, self.location, &what, reader, compressed);
                    filters::unpredict(self.expanded(expanded)?, parms)
                }
                Filter::RunLength => {
                    let reader = filters::RunLength::new(&data);
                    let expanded =
                        bounded::expand(self.walk, self.location, &what, reader, compressed);
                    self.expanded(expanded)?
                }
                Filter::AsciiHex => filters::ascii_hex(&data),
                Filter::Ascii85 => filters::ascii85(&data),
                Filter::Crypt => data,
                Filter::Image => return Err(Fail::Skip),
                Filter::Unknown => {
                    let detail = format!(
                        "{what} uses the filter /{}, which is not read",
                        String::from_utf8_lossy(name)
                    );
                    self.walk
                        .out
                        .problem(self.location, ProblemKind::Unreadable, detail);
                    return Err(Fail::Skip);
                }
            };
        }
        Ok(data)
    }

    /// The data of an expansion (what came before any corruption), or the file stopped.
    fn expanded(&mut self, expanded: Expanded) -> Result<Vec<u8>, Fail> {
        match expanded {
            Expanded::Done(out) | Expanded::Broken(out, _) => Ok(out),
            Expanded::Bomb => {
                self.stopped = true;
                Err(Fail::Stop)
            }
        }
    }

    /// Reads what a reader shows besides the pages: annotations, form fields, bookmarks,
    /// document information.
    fn shown_strings(&mut self) {
        if self.stopped {
            return;
        }
        let text = shown::strings(&self.pdf, self.cap);
        let at = self
            .location
            .child("annotations, form fields and properties");
        if !push_text(self.walk, &at, text) {
            self.stopped = true;
        }
    }

    /// Adds the objects kept in object streams (those not defined directly).
    fn unpack_object_streams(&mut self) {
        let streams: Vec<u32> = self
            .pdf
            .order
            .iter()
            .copied()
            .filter(|n| {
                self.pdf
                    .objects
                    .get(n)
                    .and_then(|o| o.value.as_dict())
                    .is_some_and(|d| self.pdf.type_is(d, b"Type", b"ObjStm"))
            })
            .collect();
        for number in streams {
            let Some(dict) = self
                .pdf
                .objects
                .get(&number)
                .and_then(|o| o.value.as_dict())
            else {
                continue;
            };
            let count = self
                .pdf
                .get(dict, b"N")
                .and_then(Obj::as_usize)
                .unwrap_or(0);
            let first = self
                .pdf
                .get(dict, b"First")
                .and_then(Obj::as_usize)
                .unwrap_or(0);
            let data = match self.stream(number) {
                Ok(data) => data,
                Err(Fail::Skip) => continue,
                Err(Fail::Stop) => return,
            };
            let mut header = Lexer::new(&data, 0);
            let mut entries = Vec::new();
            while entries.len() < count.min(data.len()) {
                let (Some(Tok::Num(n)), Some(Tok::Num(offset))) = (header.token(), header.token())
                else {
                    break;
                };
                if n >= 0.0 && n < f64::from(u32::MAX) && offset >= 0.0 {
                    entries.push((n as u32, offset as usize));
                }
            }
            for (n, offset) in entries {
                if self.pdf.objects.contains_key(&n) {
                    continue;
                }
                let Some(value) = Lexer::new(&data, first.saturating_add(offset)).object() else {
                    continue;
                };
                self.pdf.objects.insert(
                    n,
                    Object {
                        value,
                        generation: 0,
                        stream: None,
                    },
                );
                self.pdf.order.push(n);
            }
        }
    }

    /// The pages in document order: the page tree first, then page objects it missed.
    fn page_order(&self) -> Vec<u32> {
        let mut pages = Vec::new();
        let mut seen = HashSet::new();
        let catalog = self.pdf.order.iter().find(|n| {
            self.pdf
                .objects
                .get(n)
                .and_then(|o| o.value.as_dict())
                .is_some_and(|d| self.pdf.type_is(d, b"Type", b"Catalog"))
        });
        if let Some(root) = catalog
            .and_then(|n| self.pdf.objects.get(n))
            .and_then(|o| o.value.as_dict())
            .and_then(|d| get(d, b"Pages"))
        {
            // Depth-first over /Kids, with an explicit stack.
            let mut stack = vec![(root.clone(), 0usize)];
            while let Some((node, depth)) = stack.pop() {
                let Obj::Ref(number) = node else { continue };
                if depth > MAX_TREE_DEPTH || !seen.insert(number) {
                    continue;
                }
                let Some(dict) = self
                    .pdf
                    .objects
                    .get(&number)
                    .and_then(|o| o.value.as_dict())
                else {
                    continue;
                };
                if let Some(Obj::Array(kids)) = self.pdf.get(dict, b"Kids") {
                    for kid in kids.iter().rev() {
                        stack.push((kid.clone(), depth + 1));
                    }
                } else if self.pdf.type_is(dict, b"Type", b"Page") {
                    pages.push(number);
                }
            }
        }
        let reached: HashSet<u32> = pages.iter().copied().collect();
        for &number in &self.pdf.order {
            let is_page = self
                .pdf
                .objects
                .get(&number)
                .and_then(|o| o.value.as_dict())
                .is_some_and(|d| self.pdf.type_is(d, b"Type", b"Page"));
            if is_page && !reached.contains(&number) {
                pages.push(number);
            }
        }
        pages
    }

    /// Runs every page's content.
    fn pages(&mut self) {
        let pages = self.page_order();
        for (index, number) in pages.into_iter().enumerate() {
            if self.stopped {
                return;
            }
            let Some(page) = self
                .pdf
                .objects
                .get(&number)
                .and_then(|o| o.value.as_dict())
                .cloned()
            else {
                continue;
            };
            let resources = self.page_resources(number, &page);
            let contents: Vec<u32> = match get(&page, b"Contents") {
                Some(Obj::Ref(n)) => match self.pdf.objects.get(n).map(|o| &o.value) {
                    Some(Obj::Array(items)) => refs(items),
                    _ => vec![*n],
                },
                Some(Obj::Array(items)) => refs(items),
                _ => Vec::new(),
            };
            let mut content = Vec::new();
            for stream in contents {
                if !self.done.insert(stream) {
                    continue;
                }
                match self.stream(stream) {
                    Ok(data) => {
                        content.extend_from_slice(&data);
                        content.push(b'\n');
                    }
                    Err(Fail::Skip) => {}
                    Err(Fail::Stop) => return,
                }
            }
            let mut text = TextOut::default();
            self.run(&content, &resources, &mut text, 0);
            let at = self.location.child(format!("page {}", index + 1));
            if !push_text(self.walk, &at, text.finish()) {
                self.stopped = true;
                return;
            }
        }
    }

    /// The resources of page `number`, inherited through `/Parent` when the page has none;
    /// built once per resource dictionary (pages share them).
    fn page_resources(&mut self, number: u32, page: &Dict) -> Rc<Resources> {
        let mut holder = number;
        let mut node = page;
        let mut found = None;
        for _ in 0..MAX_TREE_DEPTH {
            match get(node, b"Resources") {
                Some(Obj::Ref(r)) => {
                    found = Some(((true, *r), self.pdf.dict_of(&Obj::Ref(*r)).cloned()));
                    break;
                }
                Some(Obj::Dict(d)) => {
                    found = Some(((false, holder), Some(d.clone())));
                    break;
                }
                _ => {}
            }
            let Some(Obj::Ref(parent)) = get(node, b"Parent") else {
                break;
            };
            let Some(dict) = self.pdf.objects.get(parent).and_then(|o| o.value.as_dict()) else {
                break;
            };
            holder = *parent;
            node = dict;
        }
        let Some((key, dict)) = found else {
            return Rc::new(Resources::default());
        };
        if let Some(cached) = self.resource_cache.get(&key) {
            return cached.clone();
        }
        let resources = Rc::new(self.resources(dict.as_ref()));
        self.resource_cache.insert(key, resources.clone());
        resources
    }

    /// The fonts and forms of a resource dictionary.
    fn resources(&mut self, dict: Option<&Dict>) -> Resources {
        let mut resources = Resources::default();
        let Some(dict) = dict else {
            return resources;
        };
        let fonts: Vec<(Vec<u8>, Obj)> = self
            .pdf
            .get(dict, b"Font")
            .and_then(Obj::as_dict)
            .cloned()
            .unwrap_or_default();
        for (name, font) in fonts {
            if let Some(font) = self.font(&font) {
                resources.fonts.insert(name, font);
            }
        }
        if let Some(xobjects) = self.pdf.get(dict, b"XObject").and_then(Obj::as_dict) {
            for (name, value) in xobjects {
                if let Obj::Ref(number) = value {
                    resources.forms.insert(name.clone(), *number);
                }
            }
        }
        resources
    }

    /// The font a font resource refers to (cached by object number).
    fn font(&mut self, obj: &Obj) -> Option<Rc<Font>> {
        let number = match obj {
            Obj::Ref(n) => Some(*n),
            _ => None,
        };
        if let Some(font) = number.and_then(|n| self.fonts.get(&n)) {
            return Some(font.clone());
        }
        let dict = self.pdf.dict_of(obj)?.clone();
        let encoding = if self.pdf.type_is(&dict, b"Subtype", b"Type0") {
            match self.pdf.get(&dict, b"Encoding").and_then(Obj::as_name) {
                Some(name) if name.windows(4).any(|w| w == b"RKSJ") => Encoding::ShiftJis,
                Some(name) if name.windows(3).any(|w| w == b"EUC") => Encoding::EucJp,
                Some(name)
                    if name.windows(4).any(|w| w == b"UCS2")
                        || name.windows(5).any(|w| w == b"UTF16") =>
                {
                    Encoding::Utf16Be
                }
                Some(name) if name.windows(4).any(|w| w == b"UTF8") => Encoding::Utf8,
                _ => Encoding::Identity,
            }
        } else {
            Encoding::Simple
        };
        let cmap = match get(&dict, b"ToUnicode") {
            Some(Obj::Ref(n)) => self.cmap(*n),
            _ => None,
        };
        let font = Rc::new(Font { cmap, encoding });
        if let Some(n) = number {
            self.fonts.insert(n, font.clone());
        }
        Some(font)
    }

    /// The ToUnicode CMap in stream `number` (cached).
    fn cmap(&mut self, number: u32) -> Option<Rc<CMap>> {
        if let Some(cached) = self.cmaps.get(&number) {
            return cached.clone();
        }
        let cmap = self
            .stream(number)
            .ok()
            .map(|data| CMap::parse(&data))
            .filter(|cmap| !cmap.is_empty())
            .map(Rc::new);
        self.done.insert(number);
        self.cmaps.insert(number, cmap.clone());
        cmap
    }

    /// Runs a content stream, appending its text to `out`.
    fn run(&mut self, content: &[u8], resources: &Resources, out: &mut TextOut, depth: usize) {
        let mut lexer = Lexer::new(content, 0);
        let mut operands: Vec<Obj> = Vec::new();
        let mut font: Option<Rc<Font>> = None;
        while let Some(obj) = lexer.object() {
            if self.stopped || out.text.len() > self.cap {
                return;
            }
            let Obj::Keyword(op) = obj else {
                if operands.len() < MAX_OPERANDS {
                    operands.push(obj);
                }
                continue;
            };
            let number = |i: usize| -> f64 {
                operands
                    .len()
                    .checked_sub(i)
                    .and_then(|at| operands.get(at))
                    .and_then(Obj::as_num)
                    .unwrap_or(0.0)
            };
            match op.as_slice() {
                b"Tf" => {
                    let name = operands.iter().rev().find_map(Obj::as_name);
                    font = name.and_then(|n| resources.fonts.get(n)).cloned();
                    out.size = number(1).abs();
                }
                b"Tj" => {
                    if let Some(Obj::Str(s)) = operands.last() {
                        out.show(font.as_deref(), s);
                    }
                }
                b"'" | b"\"" => {
                    out.newline();
                    if let Some(Obj::Str(s)) = operands.last() {
                        out.show(font.as_deref(), s);
                    }
                }
                b"TJ" => {
                    if let Some(Obj::Array(items)) = operands.last() {
                        for item in items {
                            match item {
                                Obj::Str(s) => out.show(font.as_deref(), s),
                                Obj::Num(n) if *n < -250.0 => out.space(),
                                _ => {}
                            }
                        }
                    }
                }
                b"Td" | b"TD" => {
                    let (tx, ty) = (number(2), number(1));
                    if ty.abs() > 0.01 || tx < -0.01 {
                        out.newline();
                    } else if tx > 2.0 * out.em() {
                        out.space();
                    }
                }
                b"T*" => out.newline(),
                b"Tm" => {
                    let (a, e, f) = (number(6), number(2), number(1));
                    if let Some((last_e, last_f)) = out.matrix {
                        if (f - last_f).abs() > 0.01 {
                            out.newline();
                        } else if (e - last_e).abs() > 2.0 * out.em() * a.abs().max(0.01) {
                            out.space();
                        }
                    }
                    out.matrix = Some((e, f));
                }
                b"Do" => {
                    let name = operands.last().and_then(Obj::as_name);
                    if let Some(&number) = name.and_then(|n| resources.forms.get(n)) {
                        self.form(number, resources, out, depth);
                    }
                }
                b"BI" => skip_inline_image(&mut lexer),
                _ => {}
            }
            operands.clear();
        }
    }

    /// Runs a form XObject (once per file).
    fn form(&mut self, number: u32, outer: &Resources, out: &mut TextOut, depth: usize) {
        if depth >= MAX_FORM_DEPTH || self.done.contains(&number) {
            return;
        }
        let Some(dict) = self
            .pdf
            .objects
            .get(&number)
            .and_then(|o| o.value.as_dict())
            .cloned()
        else {
            return;
        };
        if !self.pdf.type_is(&dict, b"Subtype", b"Form") {
            return;
        }
        self.done.insert(number);
        let own = self
            .pdf
            .get(&dict, b"Resources")
            .and_then(Obj::as_dict)
            .cloned();
        let resources = match own {
            Some(own) => self.resources(Some(&own)),
            None => outer.clone(),
        };
        if let Ok(content) = self.stream(number) {
            out.newline();
            self.run(&content, &resources, out, depth + 1);
        }
    }

    /// Content streams no page reached, run with every font of the file; embedded files.
    fn leftovers(&mut self, depth: usize) {
        let order = self.pdf.order.clone();
        let mut all = Resources::default();
        let mut gathered = false;
        for number in order {
            if self.stopped {
                return;
            }
            if self.done.contains(&number) {
                continue;
            }
            let Some(object) = self.pdf.objects.get(&number) else {
                continue;
            };
            let Some(dict) = object.value.as_dict() else {
                continue;
            };
            if object.stream.is_none() {
                continue;
            }
            let skip = [
                (b"Type".as_slice(), b"ObjStm".as_slice()),
                (b"Type", b"XRef"),
                (b"Type", b"Metadata"),
                (b"Subtype", b"Image"),
                (b"Type", b"XObject"),
            ]
            .iter()
            .any(|(key, name)| self.pdf.type_is(dict, key, name))
                && !self.pdf.type_is(dict, b"Subtype", b"Form");
            let font_file = get(dict, b"Length1").is_some()
                || [b"Type1C".as_slice(), b"CIDFontType0C", b"OpenType"]
                    .iter()
                    .any(|name| self.pdf.type_is(dict, b"Subtype", name));
            let embedded = self.pdf.type_is(dict, b"Type", b"EmbeddedFile");
            if skip || font_file {
                continue;
            }
            self.done.insert(number);
            let data = match self.stream(number) {
                Ok(data) => data,
                Err(Fail::Skip) => continue,
                Err(Fail::Stop) => return,
            };
            if embedded {
                let at = self.location.child(format!("embedded file {number}"));
                if !self.walk.out.enter_part(&at) {
                    return;
                }
                if self.walk.out.may_descend(&at, depth + 1) {
                    let file = FileRef {
                        name: None,
                        content_type: None,
                        charset: None,
                        bytes: &data,
                    };
                    self.walk.file(&at, &file, depth + 1);
                }
                continue;
            }
            if find(&data, b"begincmap").is_some() || find(&data, b"BT").is_none() {
                continue;
            }
            if !gathered {
                all = self.all_fonts();
                gathered = true;
            }
            let mut text = TextOut::default();
            self.run(&data, &all, &mut text, 0);
            let at = self.location.child(format!("content stream {number}"));
            if !push_text(self.walk, &at, text.finish()) {
                self.stopped = true;
                return;
            }
        }
    }

    /// The fonts of every resource dictionary in the file, by name (the first one wins).
    fn all_fonts(&mut self) -> Resources {
        let mut dicts = Vec::new();
        for number in &self.pdf.order {
            let Some(dict) = self.pdf.objects.get(number).and_then(|o| o.value.as_dict()) else {
                continue;
            };
            let resources = self.pdf.get(dict, b"Resources").and_then(Obj::as_dict);
            for holder in [Some(dict), resources].into_iter().flatten() {
                if let Some(fonts) = self.pdf.get(holder, b"Font").and_then(Obj::as_dict) {
                    dicts.push(fonts.clone());
                }
            }
        }
        let mut all = Resources::default();
        for fonts in dicts {
            for (name, font) in fonts {
                if all.fonts.contains_key(&name) {
                    continue;
                }
                if let Some(font) = self.font(&font) {
                    all.fonts.insert(name, font);
                }
            }
        }
        all
    }
}

fn refs(items: &[Obj]) -> Vec<u32> {
    items
        .iter()
        .filter_map(|item| match item {
            Obj::Ref(n) => Some(*n),
            _ => None,
        })
        .collect()
}

/// Skips an inline image (`BI … ID <data> EI`), the lexer just past `BI`.
fn skip_inline_image(lexer: &mut Lexer<'_>) {
    while let Some(token) = lexer.token() {
        if token == Tok::Keyword(b"ID".to_vec()) {
            break;
        }
    }
    let bytes = lexer.bytes;
    let mut pos = lexer.pos + 1;
    while let Some(offset) = bytes.get(pos..).and_then(|rest| find(rest, b"EI")) {
        let at = pos + offset;
        let before = at == 0 || bytes.get(at - 1).is_some_and(|&b| is_white(b));
        let after = bytes.get(at + 2).is_none_or(|&b| is_white(b));
        if before && after {
            lexer.pos = at + 2;
            return;
        }
        pos = at + 1;
    }
    lexer.pos = bytes.len();
}

/// The text of one page as it is built.
#[derive(Debug, Default)]
struct TextOut {
    text: String,
    /// The font size set by `Tf`.
    size: f64,
    /// The translation of the last text matrix (`Tm`).
    matrix: Option<(f64, f64)>,
}

impl TextOut {
    /// The font size as a unit for gaps (1 when unset).
    fn em(&self) -> f64 {
        if self.size > 0.0 { self.size } else { 1.0 }
    }

    fn show(&mut self, font: Option<&Font>, bytes: &[u8]) {
        let text = match font {
            Some(font) => font.decode(bytes),
            None => latin1(bytes),
        };
        self.text.push_str(&text);
    }

    fn newline(&mut self) {
        while self.text.ends_with(' ') {
            self.text.pop();
        }
        if !self.text.is_empty() && !self.text.ends_with('\n') {
            self.text.push('\n');
        }
    }

    fn space(&mut self) {
        if !self.text.is_empty() && !self.text.ends_with([' ', '\n']) {
            self.text.push(' ');
        }
    }

    fn finish(mut self) -> String {
        while self.text.ends_with([' ', '\n']) {
            self.text.pop();
        }
        self.text
    }
}

#[cfg(test)]
pub(super) mod tests;
