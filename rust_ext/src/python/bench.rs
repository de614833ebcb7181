//! Bindings used by `bench/` only.

use pyo3::prelude::*;

/// decode_burst(data) -> (frames, events, skipped): frame and decode a recorded byte stream and
/// merge its quotes per contract, all in Rust (the decode cost alone, for the benchmark).
#[pyfunction]
fn decode_burst(py: Python<'_>, data: Vec<u8>) -> (u64, u64, u64) {
    py.detach(move || crate::realtime::parse::decode_burst(&data))
}

/// The order benchmark's floor written in Rust: place + cancel as canned HTTP/1.1 bytes on one
/// blocking keep-alive socket (TCP_NODELAY), the GIL released; no HTTP library, no JSON model, no
/// policy: the order id is found in the answer's bytes. What the server and the socket alone cost
/// from compiled code (the Python minimal clients pay Python's own JSON and socket calls on top).
#[pyclass(module = "trading._native")]
struct SocketFloor {
    stream: std::net::TcpStream,
    host: String,
    token: String,
    buf: Vec<u8>,
}

impl SocketFloor {
    fn post(&mut self, path: &str, body: &str) -> std::io::Result<Vec<u8>> {
        use std::io::{Read, Write};
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.host,
            self.token,
            body.len()
        );
        self.stream.write_all(req.as_bytes())?;
        let mut chunk = [0u8; 8192];
        loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).to_ascii_lowercase();
                let n = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if self.buf.len() >= end + 4 + n {
                    let body = self.buf[end + 4..end + 4 + n].to_vec();
                    self.buf.drain(..end + 4 + n);
                    return Ok(body);
                }
            }
            let got = self.stream.read(&mut chunk)?;
            if got == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.buf.extend_from_slice(&chunk[..got]);
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[pymethods]
impl SocketFloor {
    #[new]
    fn new(host: String, port: u16, token: String) -> PyResult<Self> {
        let stream = std::net::TcpStream::connect((host.as_str(), port))?;
        stream.set_nodelay(true)?;
        Ok(SocketFloor {
            stream,
            host: format!("{host}:{port}"),
            token,
            buf: Vec::new(),
        })
    }

    /// Place a resting buy limit tagged `tag`, then cancel it.
    fn place_cancel(
        &mut self,
        py: Python<'_>,
        account_id: i64,
        contract_id: &str,
        tag: &str,
    ) -> PyResult<()> {
        let place = format!(
            r#"{{"accountId":{account_id},"contractId":"{contract_id}","type":1,"side":0,"size":1,"limitPrice":20000,"customTag":"{tag}"}}"#
        );
        py.detach(|| {
            let answer = self.post("/api/Order/place", &place)?;
            let at = find(&answer, b"\"orderId\":").ok_or(std::io::ErrorKind::InvalidData)? + 10;
            let digits: String = answer[at..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .map(|b| *b as char)
                .collect();
            let cancel = format!(r#"{{"accountId":{account_id},"orderId":{digits}}}"#);
            self.post("/api/Order/cancel", &cancel).map(|_| ())
        })
        .map_err(|e: std::io::Error| pyo3::exceptions::PyOSError::new_err(e.to_string()))
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(decode_burst, m)?)?;
    m.add_class::<SocketFloor>()?;
    Ok(())
}
