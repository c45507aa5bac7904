//! Stream offsets: opaque server tokens plus the two protocol sentinels.

use std::fmt;
use std::sync::Arc;

use crate::error::{Error, ErrorKind, Result};

/// A position in a stream.
///
/// Offsets are opaque tokens minted by the server; the client never interprets them except to
/// compare two offsets of the same stream lexicographically. Two sentinels exist: [`Offset::BEGINNING`]
/// (`-1`) and [`Offset::NOW`] (`now`, the current tail). Cloning is cheap (shared string).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Offset(Repr);

#[derive(Clone, PartialEq, Eq, Hash)]
enum Repr {
    Static(&'static str),
    Owned(Arc<str>),
}

impl Offset {
    /// The start of the stream (`-1`).
    pub const BEGINNING: Offset = Offset(Repr::Static("-1"));
    /// The current tail of the stream (`now`): read only what is appended from here on.
    pub const NOW: Offset = Offset(Repr::Static("now"));

    /// Parses an offset supplied by a caller (for example one saved from an earlier read).
    ///
    /// Rejects the empty string, control characters and the characters the protocol forbids in
    /// offsets (`,` `&` `=` `?` `/`), so that a corrupted checkpoint fails here with a clear error
    /// rather than at the server.
    pub fn parse(token: &str) -> Result<Offset> {
        validate(token)?;
        Ok(Offset::from_trusted(token))
    }

    /// An offset exactly as the server sent it (already known to be a server token).
    pub(crate) fn from_server(token: &str) -> Result<Offset> {
        if token.is_empty() {
            return Err(Error::new(
                ErrorKind::Parse,
                "the server sent an empty offset",
            ));
        }
        Ok(Offset::from_trusted(token))
    }

    fn from_trusted(token: &str) -> Offset {
        match token {
            "-1" => Offset::BEGINNING,
            "now" => Offset::NOW,
            other => Offset(Repr::Owned(Arc::from(other))),
        }
    }

    /// The token as sent on the wire (before URL encoding).
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static(s) => s,
            Repr::Owned(s) => s,
        }
    }

    /// Whether this is the `-1` sentinel.
    pub fn is_beginning(&self) -> bool {
        self.as_str() == "-1"
    }

    /// Whether this is the `now` sentinel.
    pub fn is_now(&self) -> bool {
        self.as_str() == "now"
    }
}

fn validate(token: &str) -> Result<()> {
    let problem = if token.is_empty() {
        Some("an offset cannot be empty".to_string())
    } else if token.len() > 1024 {
        Some(format!("an offset cannot be {} bytes long", token.len()))
    } else {
        token
            .chars()
            .find(|c| c.is_control() || matches!(c, ',' | '&' | '=' | '?' | '/'))
            .map(|c| format!("an offset cannot contain {c:?}"))
    };
    match problem {
        Some(problem) => Err(Error::new(
            ErrorKind::InvalidOffset,
            format!("invalid offset {token:?}: {problem}"),
        )),
        None => Ok(()),
    }
}

impl Default for Offset {
    fn default() -> Self {
        Offset::BEGINNING
    }
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Offset({})", self.as_str())
    }
}

impl std::str::FromStr for Offset {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Offset::parse(s)
    }
}

impl AsRef<str> for Offset {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentinels_round_trip_through_parse() {
        assert_eq!(Offset::parse("-1").unwrap(), Offset::BEGINNING);
        assert_eq!(Offset::parse("now").unwrap(), Offset::NOW);
        assert!(Offset::parse("now").unwrap().is_now());
    }

    #[test]
    fn opaque_tokens_are_kept_verbatim() {
        let o = Offset::parse("0000000000000001_0000000000000042").unwrap();
        assert_eq!(o.as_str(), "0000000000000001_0000000000000042");
        assert_eq!(o.to_string(), o.as_str());
    }

    #[test]
    fn forbidden_characters_are_rejected_with_invalid_offset() {
        for bad in ["", "a,b", "a&b", "a=b", "a?b", "a/b", "a\nb"] {
            let err = Offset::parse(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidOffset, "{bad:?}");
        }
    }

    #[test]
    fn characters_needing_url_encoding_are_allowed() {
        assert!(Offset::parse("a b+c%d#e").is_ok());
    }
}
