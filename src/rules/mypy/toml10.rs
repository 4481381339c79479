//! What Python's `tomllib` refuses that newer TOML readers accept. mypy reads `pyproject.toml`
//! with `tomllib` (TOML 1.0); `toml_edit` also accepts TOML 1.1 syntax and a leading byte-order
//! mark, so a file it reads may still be one mypy cannot. This scan finds those constructs:
//! a byte-order mark, a newline or a trailing comma inside an inline table, the `\e` and `\xHH`
//! escapes, and a time without seconds.

use std::ops::Range;

/// The first construct `tomllib` refuses, with its span and what it is.
pub fn first_refused(text: &str) -> Option<(Range<usize>, &'static str)> {
    if text.starts_with('\u{feff}') {
        return Some((0..3, "the file starts with a UTF-8 byte-order mark"));
    }
    let bytes = text.as_bytes();
    // Open brackets outside strings: `{` (inline table) or `[` (array or table header).
    let mut open: Vec<u8> = Vec::new();
    // The last significant byte outside strings and comments, for trailing commas.
    let mut last = 0u8;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'\n' if open.last() == Some(&b'{') => {
                return Some((i..i + 1, "a newline inside an inline table (TOML 1.1)"));
            }
            b'{' | b'[' => open.push(b),
            b'}' => {
                if last == b',' {
                    return Some((i..i + 1, "a trailing comma in an inline table (TOML 1.1)"));
                }
                open.pop();
            }
            b']' => {
                open.pop();
            }
            b'"' | b'\'' => {
                let triple = bytes[i..].starts_with(if b == b'"' { b"\"\"\"" } else { b"'''" });
                let end = match scan_string(bytes, i, triple) {
                    Ok(end) => end,
                    Err(refused) => return Some(refused),
                };
                last = b;
                i = end;
                continue;
            }
            // A time: `HH:MM` must be followed by `:SS` in TOML 1.0.
            b'0'..=b'9' if is_time_without_seconds(bytes, i) => {
                return Some((i..i + 5, "a time without seconds (TOML 1.1)"));
            }
            _ => {}
        }
        if !b.is_ascii_whitespace() {
            last = b;
        }
        i += 1;
    }
    None
}

/// Whether `HH:MM` starts at `i` and no `:SS` follows.
fn is_time_without_seconds(bytes: &[u8], i: usize) -> bool {
    bytes.len() >= i + 5
        && bytes[i].is_ascii_digit()
        && bytes[i + 1].is_ascii_digit()
        && bytes[i + 2] == b':'
        && bytes[i + 3].is_ascii_digit()
        && bytes[i + 4].is_ascii_digit()
        && bytes.get(i + 5) != Some(&b':')
        && (i == 0 || !(bytes[i - 1].is_ascii_digit() || bytes[i - 1] == b':'))
}

/// Scans a string starting at `start`; returns the offset after it, or what `tomllib` refuses.
fn scan_string(
    bytes: &[u8],
    start: usize,
    triple: bool,
) -> Result<usize, (Range<usize>, &'static str)> {
    let quote = bytes[start];
    let basic = quote == b'"';
    let mut i = start + if triple { 3 } else { 1 };
    while i < bytes.len() {
        let b = bytes[i];
        if b == quote {
            if !triple {
                return Ok(i + 1);
            }
            if bytes[i..].starts_with(&[quote; 3]) {
                // Up to two more quotes may close a multi-line string.
                let mut end = i + 3;
                while end < bytes.len() && bytes[end] == quote && end < i + 5 {
                    end += 1;
                }
                return Ok(end);
            }
        }
        if b == b'\n' && !triple {
            return Ok(i);
        }
        if basic && b == b'\\' {
            match bytes.get(i + 1) {
                Some(b'e') => return Err((i..i + 2, "the `\\e` escape (TOML 1.1)")),
                Some(b'x') => return Err((i..i + 2, "the `\\x` escape (TOML 1.1)")),
                _ => i += 2,
            }
            continue;
        }
        i += 1;
    }
    Ok(bytes.len())
}

#[cfg(test)]
mod tests {
    use super::first_refused;

    #[test]
    fn what_tomllib_refuses() {
        let refused = |text: &str| first_refused(text).map(|(_, what)| what);
        assert!(refused("\u{feff}[tool.mypy]\n")
            .unwrap()
            .contains("byte-order mark"));
        assert!(refused("x = {a=1,\n b=2}\n").unwrap().contains("newline"));
        assert!(refused("x = {a=1, b=2,}\n")
            .unwrap()
            .contains("trailing comma"));
        assert!(refused("x = \"\\e\"\n").unwrap().contains("\\e"));
        assert!(refused("x = \"\\x41\"\n").unwrap().contains("\\x"));
        assert!(refused("x = 07:32\n").unwrap().contains("seconds"));
    }

    #[test]
    fn what_tomllib_accepts() {
        for text in [
            "[tool.mypy]\nstrict = true\n",
            "x = {a = [1,\n  2], b = \"}\"}\n",
            "x = [1, 2,]\n",
            "x = 'C:\\x\\e'\n",
            "x = \"\"\"a\n\\e\"\"\"\n".replace("\\e", "\\\\e").as_str(),
            "t = 07:32:00\nd = 1979-05-27T07:32:00Z\n",
            "# {a,\n[x]\ny = \"#{\"\n",
            "s = '''\n{a,\n'''\n",
        ] {
            assert_eq!(first_refused(text), None, "{text:?}");
        }
    }

    #[test]
    fn random_inputs_never_panic_and_spans_lie_in_the_text() {
        let alphabet: Vec<char> = "{}[]\"'\\#=,:\n ex0123456789a\u{feff}é".chars().collect();
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..20_000 {
            let len = rng.usize(0..40);
            let text: String = (0..len)
                .map(|_| alphabet[rng.usize(..alphabet.len())])
                .collect();
            if let Some((span, _)) = first_refused(&text) {
                assert!(text.get(span.clone()).is_some(), "{text:?} {span:?}");
            }
        }
    }
}
