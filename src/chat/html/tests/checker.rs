//! A strict, independent checker for the HTML we send to Telegram, and a tiny deterministic PRNG
//! for the property tests.

/// Tags Telegram's HTML parse mode accepts and we may produce.
const ALLOWED: [&str; 9] = [
    "b",
    "i",
    "s",
    "u",
    "code",
    "pre",
    "a",
    "blockquote",
    "tg-spoiler",
];

/// Checks `html` against what we promise Telegram and returns its visible text.
///
/// Promises: only [`ALLOWED`] tags; `a` has exactly one `href="…"` attribute; `code` may carry
/// `class="language-…"` only directly inside `pre`; nothing nests in itself; nothing inside `code`,
/// only `code` inside `pre`; every tag closed in order; `&` only as `&lt; &gt; &amp; &quot;`; no raw
/// `<` or `>` in text.
pub fn check(html: &str) -> Result<String, String> {
    let mut stack: Vec<&str> = Vec::new();
    let mut visible = String::new();
    let mut rest = html;
    while let Some(ch) = rest.chars().next() {
        match ch {
            '<' => {
                let end = rest
                    .find('>')
                    .ok_or_else(|| format!("unterminated tag in {html:?}"))?;
                let tag = &rest[1..end];
                rest = &rest[end + 1..];
                if let Some(name) = tag.strip_prefix('/') {
                    let open = stack
                        .pop()
                        .ok_or_else(|| format!("stray </{name}> in {html:?}"))?;
                    if open != name {
                        return Err(format!("</{name}> closes <{open}> in {html:?}"));
                    }
                    continue;
                }
                let (name, attrs) = tag.split_once(' ').unwrap_or((tag, ""));
                if !ALLOWED.contains(&name) {
                    return Err(format!("tag <{name}> not allowed in {html:?}"));
                }
                if stack.contains(&name) {
                    return Err(format!("<{name}> nested in itself in {html:?}"));
                }
                match stack.last() {
                    Some(&"code") => return Err(format!("<{name}> inside <code> in {html:?}")),
                    Some(&"pre") if name != "code" => {
                        return Err(format!("<{name}> inside <pre> in {html:?}"));
                    }
                    _ => {}
                }
                check_attrs(name, attrs, stack.last() == Some(&"pre"))
                    .map_err(|e| format!("{e} in {html:?}"))?;
                stack.push(name);
            }
            '&' => {
                let (entity, decoded) = [
                    ("&lt;", '<'),
                    ("&gt;", '>'),
                    ("&amp;", '&'),
                    ("&quot;", '"'),
                ]
                .into_iter()
                .find(|(e, _)| rest.starts_with(e))
                .ok_or_else(|| format!("bare & in {html:?}"))?;
                visible.push(decoded);
                rest = &rest[entity.len()..];
            }
            '>' => return Err(format!("raw > in {html:?}")),
            _ => {
                visible.push(ch);
                rest = &rest[ch.len_utf8()..];
            }
        }
    }
    if let Some(open) = stack.last() {
        return Err(format!("<{open}> never closed in {html:?}"));
    }
    Ok(visible)
}

fn check_attrs(name: &str, attrs: &str, in_pre: bool) -> Result<(), String> {
    let value = |prefix: &str| {
        attrs
            .strip_prefix(prefix)
            .and_then(|v| v.strip_suffix('"'))
            .filter(|v| !v.contains('"'))
            .map(str::to_owned)
    };
    match name {
        "a" => value("href=\"")
            .filter(|v| !v.is_empty())
            .map(|_| ())
            .ok_or_else(|| format!("bad <a {attrs}>")),
        "code" if !attrs.is_empty() => value("class=\"language-")
            .filter(|v| !v.is_empty() && in_pre)
            .map(|_| ())
            .ok_or_else(|| format!("bad <code {attrs}>")),
        _ if attrs.is_empty() => Ok(()),
        _ => Err(format!("unexpected attributes <{name} {attrs}>")),
    }
}

/// The visible text of well-formed `html`; panics with the checker's message otherwise.
pub fn visible(html: &str) -> String {
    check(html).unwrap_or_else(|e| panic!("{e}"))
}

/// xorshift64*: deterministic, dependency-free randomness for generated inputs.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}
