//! Raw HTTP/1.1 over a `TcpStream`: bytes sent exactly as written (a well-behaved client
//! library would refuse or repair most of the hostile shapes), and the answers read back
//! as they came, however many there were.

use std::{
    io::{ErrorKind, Read as _, Write as _},
    net::TcpStream,
    time::{Duration, Instant},
};

/// Part of a request: sent after waiting `pause`.
#[derive(Debug, Clone)]
pub(crate) struct Piece {
    pub(crate) pause: Duration,
    pub(crate) bytes: Vec<u8>,
}

impl Piece {
    pub(crate) fn now(bytes: impl Into<Vec<u8>>) -> Self {
        Self {
            pause: Duration::ZERO,
            bytes: bytes.into(),
        }
    }
}

/// What came back on one connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Observed {
    /// Every response, in order: status and body (lossy UTF-8).
    pub(crate) responses: Vec<(u16, String)>,
    /// The server closed the connection (end of stream or a reset) before the deadline.
    pub(crate) closed: bool,
    /// Bytes after the last complete response that are not one.
    pub(crate) garbage: bool,
}

/// Sends `pieces` on a new connection to `port`, then reads until the server closes it or
/// `deadline` (from the start) passes. A write the server refuses (it answered and closed
/// early, as it should for an oversized body) ends the sending, not the exchange.
pub(crate) fn exchange(
    port: u16,
    pieces: &[Piece],
    deadline: Duration,
) -> Result<Observed, String> {
    let started = Instant::now();
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .map_err(|e| format!("connect 127.0.0.1:{port}: {e}"))?;
    let _ = stream.set_nodelay(true);
    for piece in pieces {
        if !piece.pause.is_zero() {
            std::thread::sleep(piece.pause);
        }
        if stream.write_all(&piece.bytes).is_err() || started.elapsed() > deadline {
            break;
        }
    }
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let mut closed = false;
    loop {
        let left = deadline.saturating_sub(started.elapsed());
        if left.is_zero() {
            break;
        }
        let _ = stream.set_read_timeout(Some(left.max(Duration::from_millis(1))));
        match stream.read(&mut buf) {
            Ok(0) => {
                closed = true;
                break;
            }
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => {
                closed = true;
                break;
            }
        }
    }
    let (responses, garbage) = parse_responses(&raw);
    Ok(Observed {
        responses,
        closed,
        garbage,
    })
}

/// The responses in `raw`, in order, and whether bytes that are not a response follow them.
/// Bodies are delimited by `Content-Length` or chunked coding; a response with neither runs to
/// the end (HTTP/1.1 close-delimited).
pub(crate) fn parse_responses(raw: &[u8]) -> (Vec<(u16, String)>, bool) {
    let mut out = Vec::new();
    let mut rest = raw;
    while !rest.is_empty() {
        let Some(head_end) = find(rest, b"\r\n\r\n") else {
            return (out, true);
        };
        let head = String::from_utf8_lossy(&rest[..head_end]);
        let mut lines = head.split("\r\n");
        let status = lines.next().and_then(|line| {
            let mut parts = line.split(' ');
            let version = parts.next()?;
            if !version.starts_with("HTTP/1.") {
                return None;
            }
            parts.next()?.parse::<u16>().ok()
        });
        let Some(status) = status else {
            return (out, true);
        };
        let mut length = None;
        let mut chunked = false;
        for line in lines {
            if let Some((name, value)) = line.split_once(':') {
                let (name, value) = (name.trim(), value.trim());
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.parse::<usize>().ok();
                } else if name.eq_ignore_ascii_case("transfer-encoding")
                    && value.to_ascii_lowercase().contains("chunked")
                {
                    chunked = true;
                }
            }
        }
        let body_start = &rest[head_end + 4..];
        let (body, next) = if chunked {
            dechunk(body_start)
        } else if let Some(n) = length {
            let n = n.min(body_start.len());
            (body_start[..n].to_vec(), &body_start[n..])
        } else if (100..200).contains(&status) || status == 204 || status == 304 {
            (Vec::new(), body_start)
        } else {
            (body_start.to_vec(), &body_start[body_start.len()..])
        };
        out.push((status, String::from_utf8_lossy(&body).into_owned()));
        rest = next;
    }
    (out, false)
}

fn dechunk(mut rest: &[u8]) -> (Vec<u8>, &[u8]) {
    let mut body = Vec::new();
    while let Some(line_end) = find(rest, b"\r\n") {
        let size_text = String::from_utf8_lossy(&rest[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or("").trim().to_owned();
        let Ok(size) = usize::from_str_radix(&size_text, 16) else {
            return (body, &rest[rest.len()..]);
        };
        let data = &rest[line_end + 2..];
        if size == 0 {
            // The last chunk, then (no trailers here) the final CRLF.
            let after = data.strip_prefix(b"\r\n").unwrap_or(data);
            return (body, after);
        }
        if data.len() < size + 2 {
            body.extend_from_slice(&data[..size.min(data.len())]);
            return (body, &rest[rest.len()..]);
        }
        body.extend_from_slice(&data[..size]);
        rest = &data[size + 2..];
    }
    (body, &rest[rest.len()..])
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_response_with_a_length() {
        let raw = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 5\r\n\r\nhello";
        assert_eq!(
            parse_responses(raw),
            (vec![(400, "hello".to_owned())], false)
        );
    }

    #[test]
    fn two_responses_on_one_connection_are_both_counted() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n";
        let (responses, garbage) = parse_responses(raw);
        assert_eq!(responses, vec![(200, "ok".into()), (404, String::new())]);
        assert!(!garbage);
    }

    #[test]
    fn chunked_bodies_are_joined_and_what_follows_is_parsed() {
        let raw = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\nHTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n";
        let (responses, garbage) = parse_responses(raw);
        assert_eq!(responses, vec![(200, "abcde".into()), (400, String::new())]);
        assert!(!garbage);
    }

    #[test]
    fn a_close_delimited_body_runs_to_the_end() {
        let raw = b"HTTP/1.1 408 Request Timeout\r\nconnection: close\r\n\r\nlate";
        assert_eq!(parse_responses(raw).0, vec![(408, "late".into())]);
    }

    #[test]
    fn bytes_that_are_not_a_response_are_flagged() {
        assert_eq!(parse_responses(b"garbage\r\n\r\n"), (vec![], true));
        assert_eq!(
            parse_responses(b"HTTP/1.1 200 OK\r\nno end"),
            (vec![], true)
        );
        assert_eq!(parse_responses(b""), (vec![], false));
    }
}
