//! A small HTTP server for the executor's tests: one canned answer per connection, in order, on
//! its own thread; every request's head and body is kept.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

pub struct Server {
    pub url: String,
    /// (request head, body) in arrival order.
    pub seen: Arc<Mutex<Vec<(String, String)>>>,
}

/// An answer with a JSON body (`extra` are header lines, each ending in `\r\n`).
pub fn answer(status: u16, extra: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
        body.len()
    )
}

fn read_request(sock: &mut impl Read) -> (String, String) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = sock.read(&mut chunk).unwrap_or(0);
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let head = text[..end].to_string();
            let len = head
                .lines()
                .find_map(|l| {
                    let l = l.to_ascii_lowercase();
                    l.strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return (head, text[end + 4..end + 4 + len].to_string());
            }
        }
    }
    (String::from_utf8_lossy(&buf).to_string(), String::new())
}

pub fn serve(answers: Vec<String>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for a in answers {
            let Ok((mut sock, _)) = listener.accept() else {
                return;
            };
            let req = read_request(&mut sock);
            log.lock().unwrap().push(req);
            let _ = sock.write_all(a.as_bytes());
        }
    });
    Server { url, seen }
}
