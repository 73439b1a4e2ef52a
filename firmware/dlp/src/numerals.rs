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
/// has any such run. Nothing is allocated for text without one (most text: ASCII at once).
pub fn kanji_digits_as_ascii(text: &str) -> Option<String> {
    if text.is_ascii() {
        return None;
    }
    let mut out: Option<String> = None;
    // `text[..copied]` is in `out`; the current run of kanji digits starts at `run_start`.
    let (mut copied, mut run_start, mut run) = (0, 0, 0);
    let end = std::iter::once((text.len(), '\0'));
    for (at, c) in text.char_indices().chain(end) {
        if digit(c).is_some() {
            if run == 0 {
                run_start = at;
            }
            run += 1;
            continue;
        }
        if run >= MIN_RUN {
            let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
            o.push_str(text.get(copied..run_start).unwrap_or_default());
            o.extend(
                text.get(run_start..at)
                    .unwrap_or_default()
                    .chars()
                    .filter_map(digit),
            );
            copied = at;
        }
        run = 0;
    }
    let mut out = out?;
    out.push_str(text.get(copied..).unwrap_or_default());
    Some(out)
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
        assert_eq!(kanji_digits_as_ascii("plain ASCII 0123456789"), None);
        // Runs at the start and the end, two of them, and one a digit short between.
        assert_eq!(
            kanji_digits_as_ascii("一二三四五六七八九〇、壱弐参四五六七八九、零一二三四五六七八九")
                .as_deref(),
            Some("1234567890、壱弐参四五六七八九、0123456789")
        );
    }

    /// The digit-by-digit reading: each maximal run of numerals, as before.
    fn reference(text: &str) -> Option<String> {
        let chars: Vec<char> = text.chars().collect();
        let mut out = String::new();
        let (mut i, mut any) = (0, false);
        while i < chars.len() {
            let run = chars[i..]
                .iter()
                .take_while(|&&c| digit(c).is_some())
                .count();
            if run >= MIN_RUN {
                out.extend(chars[i..i + run].iter().filter_map(|&c| digit(c)));
                any = true;
                i += run;
            } else if run > 0 {
                out.extend(&chars[i..i + run]);
                i += run;
            } else {
                out.push(chars[i]);
                i += 1;
            }
        }
        any.then_some(out)
    }

    proptest::proptest! {
        #[test]
        fn the_same_reading_as_digit_by_digit(
            text in proptest::collection::vec(
                proptest::sample::select(vec!['一', '二', '〇', '壱', '九', 'a', '、', '番']),
                0..80,
            )
        ) {
            let text: String = text.into_iter().collect();
            proptest::prop_assert_eq!(kanji_digits_as_ascii(&text), reference(&text));
        }
    }
}
