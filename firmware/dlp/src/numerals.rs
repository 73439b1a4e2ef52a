//! Numbers written in kanji numerals digit by digit (`一二三四五六七八九〇一八`), as in
//! vertical writing: a reader reads them as the number they are.
//!
//! Only runs of at least [`MIN_RUN`] such numerals are taken (no positional numerals such as
//! 十 or 百: those write amounts, not identifiers), so the 一 of 一緒 or 一番 is never a digit.

/// The shortest run of kanji digits taken for a number (the shortest number a detector
/// looks for has ten digits).
const MIN_RUN: usize = 10;

/// The ASCII digit a kanji numeral stands for.
fn digit(c: char) -> Option<char> {
    Some(match c {
        '〇' | '零' => '0',
        '一' | '壱' => '1',
        '二' | '弐' => '2',
        '三' | '参' => '3',
        '四' => '4',
        '五' => '5',
        '六' => '6',
        '七' => '7',
        '八' => '8',
        '九' => '9',
        _ => return None,
    })
}

/// `text` with each run of at least [`MIN_RUN`] kanji digits written in ASCII digits, if it
/// has any such run.
pub fn kanji_digits_as_ascii(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let (mut i, mut any) = (0, false);
    while i < chars.len() {
        let run = chars
            .get(i..)
            .unwrap_or_default()
            .iter()
            .take_while(|&&c| digit(c).is_some())
            .count();
        if run >= MIN_RUN {
            out.extend(
                chars
                    .get(i..i + run)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|&c| digit(c)),
            );
            any = true;
            i += run;
        } else if run > 0 {
            out.extend(chars.get(i..i + run).unwrap_or_default());
            i += run;
        } else {
            if let Some(&c) = chars.get(i) {
                out.push(c);
            }
            i += 1;
        }
    }
    any.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_of_kanji_digits_become_numbers_and_words_stay() {
        assert_eq!(
            kanji_digits_as_ascii("個人番号は一二三四五六七八九〇一八です").as_deref(),
            Some("個人番号は123456789018です")
        );
        assert_eq!(kanji_digits_as_ascii("一緒に一番乗り、三四五"), None);
        assert_eq!(kanji_digits_as_ascii(""), None);
    }
}
