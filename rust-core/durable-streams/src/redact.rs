//! Removing secrets from text that leaves the library (error messages and URLs, `Debug` output,
//! events), since any of it may end up in a log.
//!
//! A URL keeps its scheme, host, port and path. Its user info (`user:password@`) is removed, each
//! query parameter keeps its name but its value becomes [`REDACTED`]
//! (`?sig=<redacted>&a=<redacted>`), a query component without `=` (which may be a bare token)
//! becomes [`REDACTED`] whole, empty components and the fragment are dropped (the .NET binding
//! cleans its own texts the same way). Header values are never put into text in the first place.

use std::borrow::Cow;

/// What a removed secret is replaced with.
pub(crate) const REDACTED: &str = "<redacted>";

/// `url` (absolute or not, valid or not) without user info, query values or fragment.
/// Idempotent.
pub(crate) fn url(url: &str) -> Cow<'_, str> {
    let authority_start = scheme_end(url).map_or(0, |end| end + 3);
    let rest_start = url[authority_start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| authority_start + i);
    // Only an absolute URL has an authority; `a@b` in a path is no user info.
    let user_info_end = (authority_start > 0)
        .then(|| url[authority_start..rest_start].rfind('@'))
        .flatten()
        .map(|i| authority_start + i + 1);
    let query_start = url[rest_start..].find(['?', '#']).map(|i| rest_start + i);
    if user_info_end.is_none() && query_start.is_none() {
        return Cow::Borrowed(url);
    }
    let mut out = String::with_capacity(url.len());
    out.push_str(&url[..authority_start]);
    out.push_str(&url[user_info_end.unwrap_or(authority_start)..query_start.unwrap_or(url.len())]);
    if let Some(start) = query_start {
        let query = url[start..]
            .find('#')
            .map_or(&url[start..], |i| &url[start..start + i]);
        if let Some(query) = query.strip_prefix('?') {
            out.push('?');
            let components = query.split('&').filter(|c| !c.is_empty());
            for (i, component) in components.enumerate() {
                if i > 0 {
                    out.push('&');
                }
                match component.split_once('=') {
                    Some((name, _)) => {
                        out.push_str(name);
                        out.push('=');
                        out.push_str(REDACTED);
                    }
                    None => out.push_str(REDACTED),
                }
            }
        }
    }
    Cow::Owned(out)
}

/// `text` with every `http://` or `https://` URL in it redacted as [`url`] does. A URL ends at
/// white space, a quote or a closing bracket.
pub(crate) fn text(text: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = find_url(&text[search..]) {
        let start = search + found;
        let end = text[start..]
            .find(|c: char| c.is_whitespace() || "\"'`)]}".contains(c))
            .map_or(text.len(), |i| start + i);
        let clean = url(&text[start..end]);
        if let Cow::Owned(clean) = clean {
            out.push_str(&text[copied..start]);
            out.push_str(&clean);
            copied = end;
        }
        search = end;
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// Where the first `http://` or `https://` (any case) starts.
fn find_url(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    (0..bytes.len()).find(|&i| {
        let rest = &bytes[i..];
        let starts = |prefix: &[u8]| {
            rest.len() >= prefix.len() && rest[..prefix.len()].eq_ignore_ascii_case(prefix)
        };
        (starts(b"http://") || starts(b"https://"))
            && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric())
    })
}

/// The end of a URL's scheme (the index of its `://`), if it has one.
fn scheme_end(url: &str) -> Option<usize> {
    let end = url.find("://")?;
    let scheme = &url[..end];
    let plausible = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    plausible.then_some(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_user_info_query_values_and_fragments() {
        assert_eq!(
            url("https://user:S3CRET@example.com:8443/v1/stream/a?sig=S3CRET&x=1#frag"),
            "https://example.com:8443/v1/stream/a?sig=<redacted>&x=<redacted>"
        );
        assert_eq!(url("http://h/s?S3CRET"), "http://h/s?<redacted>");
        assert_eq!(
            url("http://h/s?a=&&b=2"),
            "http://h/s?a=<redacted>&b=<redacted>"
        );
        assert_eq!(url("http://h/s#access_token=S3CRET"), "http://h/s");
        assert_eq!(
            url("/relative/path?token=S3CRET"),
            "/relative/path?token=<redacted>"
        );
        assert_eq!(url("a@b/c"), "a@b/c");
    }

    #[test]
    fn clean_urls_are_unchanged() {
        for clean in [
            "http://h:1/v1/stream/a",
            "https://example.com",
            "not a url",
            "",
        ] {
            assert!(
                matches!(url(clean), Cow::Borrowed(u) if u == clean),
                "{clean}"
            );
        }
    }

    #[test]
    fn redacting_twice_changes_nothing_more() {
        let once = url("http://u:p@h/s?sig=S3CRET#f").into_owned();
        assert_eq!(url(&once), once);
        assert_eq!(
            text(&format!("for stream {once} (HTTP 404)")),
            format!("for stream {once} (HTTP 404)")
        );
    }

    #[test]
    fn urls_inside_text_are_redacted() {
        assert_eq!(
            text("error sending request for url (http://u:S3CRET@h/s?sig=S3CRET): refused"),
            "error sending request for url (http://h/s?sig=<redacted>): refused"
        );
        assert_eq!(
            text("\"HTTPS://h/s?a=S3CRET\" and http://h/t?b=S3CRET"),
            "\"HTTPS://h/s?a=<redacted>\" and http://h/t?b=<redacted>"
        );
        assert!(matches!(text("no urls here: http://h/s"), Cow::Borrowed(_)));
    }
}
