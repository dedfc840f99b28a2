//! The tidy test's scanner: reads Rust source as bytes, blanks what is not code (comments,
//! string, byte-string, raw-string and character literals, items under `#[cfg(test)]`) and
//! finds `mod` declarations and `crate::` paths. Byte offsets are kept (a blanked byte becomes a
//! space, a newline stays), so a line number in the blanked code is the line number of the file.

use std::ops::Range;

fn is_ident(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

fn blank(code: &mut [u8], range: Range<usize>) {
    for byte in &mut code[range] {
        if *byte != b'\n' {
            *byte = b' ';
        }
    }
}

/// The names of `mod x;` / `pub mod x;` / `pub(crate) mod x { … }` at any depth of `code`
/// (lib.rs has only top-level ones).
pub(super) fn declared_modules(code: &[u8]) -> Vec<String> {
    let mut modules = Vec::new();
    let mut at = 0;
    while let Some(found) = find(code, b"mod", at) {
        at = found + 3;
        let before_ok = found == 0 || !is_ident(code[found - 1]);
        let after = code.get(found + 3).copied();
        if !before_ok || !after.is_some_and(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let start = skip_whitespace(code, found + 3);
        let name = ident_at(code, start);
        let end = skip_whitespace(code, start + name.len());
        if !name.is_empty() && matches!(code.get(end), Some(b';' | b'{')) {
            modules.push(name);
        }
    }
    modules
}

/// Blanks comments, string, byte-string, raw-string and character literals.
pub(super) fn blank_comments_and_literals(source: &[u8]) -> Vec<u8> {
    let mut code = source.to_vec();
    let mut i = 0;
    while i < source.len() {
        let rest = &source[i..];
        let literal_end = if rest.starts_with(b"//") {
            Some(find(source, b"\n", i).unwrap_or(source.len()))
        } else if rest.starts_with(b"/*") {
            Some(block_comment_end(source, i))
        } else if source[i] == b'"' {
            Some(string_end(source, i))
        } else if source[i] == b'\'' {
            char_literal_end(source, i) // `None`: a lifetime or a label
        } else {
            raw_string_end(source, i)
        };
        match literal_end {
            Some(end) => {
                blank(&mut code, i..end);
                i = end;
            }
            None => i += 1,
        }
    }
    code
}

fn block_comment_end(source: &[u8], start: usize) -> usize {
    let mut depth = 0;
    let mut i = start;
    while i < source.len() {
        if source[i..].starts_with(b"/*") {
            depth += 1;
            i += 2;
        } else if source[i..].starts_with(b"*/") {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    source.len()
}

/// `r"…"`, `r#"…"#`, `br##"…"##` starting at `start` (the `r`): the end of the literal.
fn raw_string_end(source: &[u8], start: usize) -> Option<usize> {
    if source[start] != b'r' {
        return None;
    }
    let prefix_ok = match start.checked_sub(1).map(|i| source[i]) {
        None => true,
        Some(b'b') => start < 2 || !is_ident(source[start - 2]),
        Some(before) => !is_ident(before),
    };
    if !prefix_ok {
        return None;
    }
    let hashes = source[start + 1..]
        .iter()
        .take_while(|&&b| b == b'#')
        .count();
    let open = start + 1 + hashes;
    if source.get(open) != Some(&b'"') {
        return None;
    }
    let mut close = Vec::with_capacity(hashes + 1);
    close.push(b'"');
    close.extend(std::iter::repeat_n(b'#', hashes));
    Some(find(source, &close, open + 1).map_or(source.len(), |at| at + close.len()))
}

fn string_end(source: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < source.len() {
        match source[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    source.len()
}

/// `'x'`, `'é'`, `'\''`, `'\u{1F600}'` at `start`; `None` for a lifetime or label (`'a`).
fn char_literal_end(source: &[u8], start: usize) -> Option<usize> {
    let next = *source.get(start + 1)?;
    if next == b'\\' {
        let mut i = start + 3;
        while i < source.len() && source[i] != b'\'' && source[i] != b'\n' {
            i += 1;
        }
        return (source.get(i) == Some(&b'\'')).then_some(i + 1);
    }
    let width = match next {
        0xF0.. => 4,
        0xE0.. => 3,
        0xC0.. => 2,
        _ => 1,
    };
    (source.get(start + 1 + width) == Some(&b'\'')).then_some(start + 2 + width)
}

/// Blanks every item under `#[cfg(test)]`, up to its `;` or its closing brace.
pub(super) fn blank_test_code(mut code: Vec<u8>) -> Vec<u8> {
    const ATTRIBUTE: &[u8] = b"#[cfg(test)]";
    let mut at = 0;
    while let Some(start) = find(&code, ATTRIBUTE, at) {
        let mut depth = 0i32;
        let mut i = start + ATTRIBUTE.len();
        let end = loop {
            match code.get(i) {
                None => break code.len(),
                Some(b'(' | b'[') => depth += 1,
                Some(b')' | b']') => depth -= 1,
                Some(b';') if depth == 0 => break i + 1,
                Some(b'{') if depth == 0 => break matching_brace_end(&code, i),
                _ => {}
            }
            i += 1;
        };
        blank(&mut code, start..end);
        at = end;
    }
    code
}

/// The offset just after the `}` that closes the `{` at `open`.
fn matching_brace_end(code: &[u8], open: usize) -> usize {
    let mut depth = 0;
    for (i, &byte) in code.iter().enumerate().skip(open) {
        match byte {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    code.len()
}

/// The first path segment after each `crate::` (each item's, for a `crate::{…}` group), with
/// its offset.
pub(super) fn crate_references(code: &[u8]) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(start) = find(code, b"crate", at) {
        at = start + "crate".len();
        if start > 0 && is_ident(code[start - 1]) {
            continue;
        }
        let colons = skip_whitespace(code, at);
        if !code[colons..].starts_with(b"::") {
            continue;
        }
        let path = skip_whitespace(code, colons + 2);
        if code.get(path) != Some(&b'{') {
            found.push((ident_at(code, path), path));
            continue;
        }
        let end = matching_brace_end(code, path);
        let mut depth = 0;
        let mut item = path + 1;
        for (i, &byte) in code.iter().enumerate().take(end).skip(path + 1) {
            match byte {
                b'{' => depth += 1,
                b'}' if depth > 0 => depth -= 1,
                b',' | b'}' if depth == 0 => {
                    let name_at = skip_whitespace(code, item);
                    let name = ident_at(code, name_at);
                    if !name.is_empty() {
                        found.push((name, name_at));
                    }
                    item = i + 1;
                }
                _ => {}
            }
        }
        at = end;
    }
    found
}

fn ident_at(code: &[u8], start: usize) -> String {
    let start = start.min(code.len());
    let length = code[start..].iter().take_while(|&&b| is_ident(b)).count();
    String::from_utf8_lossy(&code[start..start + length]).into_owned()
}

fn skip_whitespace(code: &[u8], start: usize) -> usize {
    let mut i = start;
    while code.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
        i += 1;
    }
    i
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|position| from + position)
}

#[test]
fn the_scanner_sees_groups_and_inline_paths_but_not_comments_literals_or_tests() {
    let source = br##"
//! See [`crate::docs`] and `crate::inline_doc`.
use crate::{alpha, beta::{X, Y}, gamma::Z as W};
use crate::delta::D;
pub(crate) fn f() -> Option<u8> {
    let url = "https://example.com/crate::in_string"; // crate::in_comment
    let raw = r#"crate::in_raw "quoted" string"#;
    let quote = '"'; let escaped = '\''; /* crate::in_block /* nested */ still */
    let _ = $crate::epsilon::g();
    crate::zeta::h(quote, escaped, url, raw, 'a)
}
#[cfg(test)]
mod tests {
    use crate::in_tests;
    fn t() { let _ = "}"; }
}
fn after_tests() { crate::eta::i() }
"##;
    let code = blank_test_code(blank_comments_and_literals(source));
    let names: Vec<String> = crate_references(&code)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(
        names,
        ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta"]
    );
}
