//! A tiny blocking HTTP/1.1 client over [`std::net::TcpStream`].
//!
//! Only what the harness needs: plain `http://` URLs, one request per connection
//! (`Connection: close`), bodies framed by `Content-Length`, chunked encoding or EOF.
//! It exists so the harness needs no async runtime and no HTTP crate; tests that
//! exercise the protocol should use the real client library instead.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::HarnessError;

/// Default connect/read/write timeout for [`request`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Upper bound on a response body, so a misbehaving server cannot exhaust memory.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// A complete HTTP response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code, e.g. `404`.
    pub status: u16,
    /// Response headers in arrival order, names as sent by the server.
    pub headers: Vec<(String, String)>,
    /// The de-chunked body (empty for `HEAD`, `204` and `304`).
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// First value of the header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as (lossy) UTF-8 text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one request with [`DEFAULT_TIMEOUT`] and returns the whole response.
///
/// `url` must be `http://host:port/path[?query]`. `Host`, `Content-Length` and
/// `Connection: close` are added automatically.
pub fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<HttpResponse, HarnessError> {
    request_with_timeout(method, url, headers, body, DEFAULT_TIMEOUT)
}

/// Like [`request`] with an explicit connect/read/write timeout.
pub fn request_with_timeout(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> Result<HttpResponse, HarnessError> {
    let (authority, path) = split_url(url)?;
    let io_err = |what: &str, source: std::io::Error| HarnessError::Io {
        context: format!("{what} {method} {url}"),
        source,
    };

    let addr = authority
        .to_socket_addrs()
        .map_err(|e| io_err("resolving", e))?
        .next()
        .ok_or_else(|| HarnessError::Http(format!("no address for {authority}")))?;
    let mut stream =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| io_err("connecting for", e))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| io_err("configuring socket for", e))?;

    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    // Always send a length for methods that may carry a body, so servers never wait for one.
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body))
        .and_then(|()| stream.flush())
        .map_err(|e| io_err("sending", e))?;

    let mut reader = BufReader::new(stream);
    let status_line = read_line(&mut reader).map_err(|e| io_err("reading status of", e))?;
    let status = parse_status(&status_line)?;

    let mut resp_headers = Vec::new();
    loop {
        let line = read_line(&mut reader).map_err(|e| io_err("reading headers of", e))?;
        if line.is_empty() {
            break;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| HarnessError::Http(format!("malformed header line {line:?}")))?;
        resp_headers.push((name.trim().to_string(), value.trim().to_string()));
    }

    let mut response = HttpResponse {
        status,
        headers: resp_headers,
        body: Vec::new(),
    };
    let no_body =
        method.eq_ignore_ascii_case("HEAD") || status == 204 || status == 304 || status < 200;
    if no_body {
        return Ok(response);
    }

    let chunked = response
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    response.body = if chunked {
        read_chunked(&mut reader).map_err(|e| io_err("reading chunked body of", e))?
    } else if let Some(len) = response.header("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| HarnessError::Http(format!("bad Content-Length {len:?}")))?;
        if len > MAX_BODY {
            return Err(HarnessError::Http(format!("body too large: {len} bytes")));
        }
        let mut buf = vec![0; len];
        reader
            .read_exact(&mut buf)
            .map_err(|e| io_err("reading body of", e))?;
        buf
    } else {
        let mut buf = Vec::new();
        reader
            .take(MAX_BODY as u64)
            .read_to_end(&mut buf)
            .map_err(|e| io_err("reading body of", e))?;
        buf
    };
    Ok(response)
}

/// Splits `http://authority/path` into `("authority", "/path")`.
fn split_url(url: &str) -> Result<(&str, String), HarnessError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| HarnessError::Http(format!("only http:// URLs are supported: {url}")))?;
    let (authority, target) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if authority.is_empty() {
        return Err(HarnessError::Http(format!("URL has no host: {url}")));
    }
    // The request target must start with '/', also for "http://h:p?x=1".
    let target = if target.starts_with('/') {
        target.to_string()
    } else {
        format!("/{target}")
    };
    Ok((authority, target))
}

fn parse_status(line: &str) -> Result<u16, HarnessError> {
    let mut parts = line.split_whitespace();
    match (parts.next(), parts.next()) {
        (Some(version), Some(code)) if version.starts_with("HTTP/1.") => code
            .parse()
            .map_err(|_| HarnessError::Http(format!("bad status line {line:?}"))),
        _ => Err(HarnessError::Http(format!("bad status line {line:?}"))),
    }
}

/// Reads one CRLF- (or LF-) terminated line without the terminator; EOF is an error.
fn read_line(reader: &mut impl BufRead) -> std::io::Result<String> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "connection closed before the response was complete",
        ));
    }
    while line.ends_with(['\r', '\n']) {
        line.pop();
    }
    Ok(line)
}

fn read_chunked(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let invalid = |msg: String| std::io::Error::new(std::io::ErrorKind::InvalidData, msg);
    let mut body = Vec::new();
    loop {
        let size_line = read_line(reader)?;
        let size_hex = size_line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| invalid(format!("bad chunk size {size_line:?}")))?;
        if size == 0 {
            // Skip trailers up to the blank line; tolerate EOF here.
            while let Ok(trailer) = read_line(reader) {
                if trailer.is_empty() {
                    break;
                }
            }
            return Ok(body);
        }
        if body.len() + size > MAX_BODY {
            return Err(invalid(format!("body larger than {MAX_BODY} bytes")));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        let crlf = read_line(reader)?;
        if !crlf.is_empty() {
            return Err(invalid("missing CRLF after chunk".to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls() {
        assert_eq!(
            split_url("http://127.0.0.1:80/a/b?x=1").ok(),
            Some(("127.0.0.1:80", "/a/b?x=1".to_string()))
        );
        assert_eq!(
            split_url("http://127.0.0.1:80").ok(),
            Some(("127.0.0.1:80", "/".to_string()))
        );
        assert_eq!(
            split_url("http://127.0.0.1:80?q").ok(),
            Some(("127.0.0.1:80", "/?q".to_string()))
        );
        assert!(split_url("https://x").is_err());
    }

    #[test]
    fn decodes_chunked_bodies() {
        let raw = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n";
        let body = read_chunked(&mut &raw[..]).ok();
        assert_eq!(body.as_deref(), Some(&b"hello world"[..]));
    }

    #[test]
    fn parses_status_lines() {
        assert_eq!(parse_status("HTTP/1.1 404 Not Found").ok(), Some(404));
        assert!(parse_status("garbage").is_err());
    }
}
