//! PDF tokens and objects (ISO 32000-1 §7.2, §7.3), for object bodies, content streams and
//! CMaps alike. Every step consumes input; nesting is bounded; nothing panics.

/// How deep arrays and dictionaries may nest; deeper brackets are read as `null`.
const MAX_NESTING: usize = 32;

/// A PDF object (streams are kept apart, as byte ranges).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Obj {
    Null,
    Bool(bool),
    Num(f64),
    Str(Vec<u8>),
    Name(Vec<u8>),
    Array(Vec<Obj>),
    Dict(Dict),
    Ref(u32),
    /// A bare keyword: an operator in a content stream, `stream`, `R` …
    Keyword(Vec<u8>),
}

/// A dictionary: few keys, so a list.
pub(crate) type Dict = Vec<(Vec<u8>, Obj)>;

impl Obj {
    pub(crate) fn as_dict(&self) -> Option<&Dict> {
        match self {
            Self::Dict(dict) => Some(dict),
            _ => None,
        }
    }

    pub(crate) fn as_name(&self) -> Option<&[u8]> {
        match self {
            Self::Name(name) => Some(name),
            _ => None,
        }
    }

    pub(crate) fn as_num(&self) -> Option<f64> {
        match self {
            Self::Num(n) => Some(*n),
            _ => None,
        }
    }

    /// A non-negative integer that fits `usize`.
    pub(crate) fn as_usize(&self) -> Option<usize> {
        let n = self.as_num()?;
        (n >= 0.0 && n.fract() == 0.0 && n < 1e15).then_some(n as usize)
    }
}

/// The value of `key` in `dict`.
pub(crate) fn get<'d>(dict: &'d Dict, key: &[u8]) -> Option<&'d Obj> {
    dict.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// A token.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    Num(f64),
    Str(Vec<u8>),
    Name(Vec<u8>),
    ArrayOpen,
    ArrayClose,
    DictOpen,
    DictClose,
    Keyword(Vec<u8>),
}

pub(crate) fn is_white(b: u8) -> bool {
    matches!(b, 0 | b'\t' | b'\n' | 0x0C | b'\r' | b' ')
}

pub(crate) fn is_delimiter(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

pub(crate) fn is_regular(b: u8) -> bool {
    !is_white(b) && !is_delimiter(b)
}

/// A cursor over PDF bytes.
pub(crate) struct Lexer<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(bytes: &'a [u8], pos: usize) -> Self {
        Self { bytes, pos }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.pos + ahead).copied()
    }

    /// Skips white space and comments.
    pub(crate) fn skip_white(&mut self) {
        while let Some(b) = self.peek() {
            if is_white(b) {
                self.pos += 1;
            } else if b == b'%' {
                while let Some(b) = self.peek() {
                    if b == b'\n' || b == b'\r' {
                        break;
                    }
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    /// The next token, `None` at the end.
    pub(crate) fn token(&mut self) -> Option<Tok> {
        self.skip_white();
        let b = self.peek()?;
        Some(match b {
            b'(' => {
                self.pos += 1;
                Tok::Str(self.literal_string())
            }
            b'<' if self.peek_at(1) == Some(b'<') => {
                self.pos += 2;
                Tok::DictOpen
            }
            b'<' => {
                self.pos += 1;
                Tok::Str(self.hex_string())
            }
            b'>' if self.peek_at(1) == Some(b'>') => {
                self.pos += 2;
                Tok::DictClose
            }
            b'[' => {
                self.pos += 1;
                Tok::ArrayOpen
            }
            b']' => {
                self.pos += 1;
                Tok::ArrayClose
            }
            b'/' => {
                self.pos += 1;
                Tok::Name(self.name())
            }
            b'+' | b'-' | b'.' | b'0'..=b'9' => {
                let word = self.word();
                match parse_number(word) {
                    Some(n) => Tok::Num(n),
                    None => Tok::Keyword(word.to_vec()),
                }
            }
            _ if is_regular(b) => Tok::Keyword(self.word().to_vec()),
            _ => {
                // A stray delimiter (`)`, `>`, `{`, `}`): one byte, as a keyword.
                self.pos += 1;
                Tok::Keyword(vec![b])
            }
        })
    }

    /// A run of regular characters.
    fn word(&mut self) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(is_regular) {
            self.pos += 1;
        }
        if self.pos == start {
            self.pos += 1;
        }
        self.bytes.get(start..self.pos).unwrap_or_default()
    }

    fn name(&mut self) -> Vec<u8> {
        let mut name = Vec::new();
        while let Some(b) = self.peek().filter(|&b| is_regular(b)) {
            self.pos += 1;
            if b == b'#'
                && let (Some(h), Some(l)) = (
                    self.peek().and_then(hex_value),
                    self.peek_at(1).and_then(hex_value),
                )
            {
                self.pos += 2;
                name.push(h << 4 | l);
                continue;
            }
            name.push(b);
        }
        name
    }

    /// A literal string, past its `(`: balanced parentheses, escapes, octal codes.
    fn literal_string(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut depth = 1usize;
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'(' => {
                    depth += 1;
                    out.push(b);
                }
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                    out.push(b);
                }
                b'\\' => {
                    let Some(e) = self.peek() else { break };
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0C),
                        b'\r' => {
                            if self.peek() == Some(b'\n') {
                                self.pos += 1;
                            }
                        }
                        b'\n' => {}
                        b'0'..=b'7' => {
                            let mut value = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(d @ b'0'..=b'7') => {
                                        self.pos += 1;
                                        value = value * 8 + u32::from(d - b'0');
                                    }
                                    _ => break,
                                }
                            }
                            out.push((value & 0xFF) as u8);
                        }
                        other => out.push(other),
                    }
                }
                _ => out.push(b),
            }
        }
        out
    }

    /// A hex string, past its `<`.
    fn hex_string(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut high: Option<u8> = None;
        while let Some(b) = self.peek() {
            self.pos += 1;
            if b == b'>' {
                break;
            }
            let Some(v) = hex_value(b) else { continue };
            match high.take() {
                Some(h) => out.push(h << 4 | v),
                None => high = Some(v),
            }
        }
        if let Some(h) = high {
            out.push(h << 4);
        }
        out
    }

    /// The next object; `None` at the end. References (`12 0 R`) are recognised.
    pub(crate) fn object(&mut self) -> Option<Obj> {
        let token = self.token()?;
        Some(self.object_from(token, 0))
    }

    fn object_from(&mut self, token: Tok, depth: usize) -> Obj {
        match token {
            Tok::Num(n) => {
                if n >= 0.0 && n.fract() == 0.0 && n <= f64::from(u32::MAX) {
                    let save = self.pos;
                    if let Some(Tok::Num(generation)) = self.token()
                        && generation >= 0.0
                        && generation.fract() == 0.0
                        && let Some(Tok::Keyword(k)) = self.token()
                        && k == b"R"
                    {
                        return Obj::Ref(n as u32);
                    }
                    self.pos = save;
                }
                Obj::Num(n)
            }
            Tok::Str(s) => Obj::Str(s),
            Tok::Name(n) => Obj::Name(n),
            Tok::ArrayOpen if depth < MAX_NESTING => {
                let mut items = Vec::new();
                while let Some(token) = self.token() {
                    if token == Tok::ArrayClose {
                        break;
                    }
                    items.push(self.object_from(token, depth + 1));
                }
                Obj::Array(items)
            }
            Tok::DictOpen if depth < MAX_NESTING => {
                let mut dict = Dict::new();
                while let Some(token) = self.token() {
                    match token {
                        Tok::DictClose => break,
                        Tok::Name(key) => {
                            let value = match self.token() {
                                Some(Tok::DictClose) | None => {
                                    dict.push((key, Obj::Null));
                                    break;
                                }
                                Some(token) => self.object_from(token, depth + 1),
                            };
                            dict.push((key, value));
                        }
                        _ => {}
                    }
                }
                Obj::Dict(dict)
            }
            Tok::ArrayOpen | Tok::DictOpen | Tok::ArrayClose | Tok::DictClose => Obj::Null,
            Tok::Keyword(k) => match k.as_slice() {
                b"true" => Obj::Bool(true),
                b"false" => Obj::Bool(false),
                b"null" => Obj::Null,
                _ => Obj::Keyword(k),
            },
        }
    }
}

pub(crate) fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn parse_number(word: &[u8]) -> Option<f64> {
    if word.len() > 40 {
        return None;
    }
    let text = std::str::from_utf8(word).ok()?;
    // PDF numbers have no exponent; `--5` and such are written by some tools.
    let text = text.trim_start_matches("--").trim_start_matches("+-");
    if !text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+'))
    {
        return None;
    }
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objects(src: &[u8]) -> Vec<Obj> {
        let mut lexer = Lexer::new(src, 0);
        std::iter::from_fn(|| lexer.object()).collect()
    }

    #[test]
    fn objects_are_read() {
        let got = objects(
            b"<< /Type /Font /Sub#74ype /Type0 /W [1 2.5 -3] /ToUnicode 12 0 R >> (a\\(b\\)\\101\\n) <48 65 6c6>",
        );
        assert_eq!(
            got,
            [
                Obj::Dict(vec![
                    (b"Type".to_vec(), Obj::Name(b"Font".to_vec())),
                    (b"Subtype".to_vec(), Obj::Name(b"Type0".to_vec())),
                    (
                        b"W".to_vec(),
                        Obj::Array(vec![Obj::Num(1.0), Obj::Num(2.5), Obj::Num(-3.0)])
                    ),
                    (b"ToUnicode".to_vec(), Obj::Ref(12)),
                ]),
                Obj::Str(b"a(b)A\n".to_vec()),
                Obj::Str(b"Hel`".to_vec()),
            ]
        );
    }

    #[test]
    fn odd_input_ends() {
        for src in [
            &b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["[..],
            b"<< /A << /B",
            b"(unterminated \\",
            b"<abc",
            b") } { > >>",
            b"1 0",
            b"/",
            b"%comment only",
        ] {
            let _ = objects(src);
        }
        let deep = vec![b'['; 100_000];
        let _ = objects(&deep);
    }
}
