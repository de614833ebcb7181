//! Record-separator framing: a SignalR JSON frame ends with 0x1E, and frames may span websocket
//! messages (or several share one).

use crate::common::wire::RECORD_SEPARATOR;

/// Splits a byte stream into frames at the record separator; keeps a partial tail.
#[derive(Debug, Default)]
pub struct Framer {
    buf: Vec<u8>,
}

impl Framer {
    /// Append `data` and call `f` on every complete frame (without its separator).
    pub fn feed(&mut self, data: &[u8], mut f: impl FnMut(&[u8])) {
        let mut rest = data;
        if !self.buf.is_empty() {
            match rest.iter().position(|&b| b == RECORD_SEPARATOR) {
                None => {
                    self.buf.extend_from_slice(rest);
                    return;
                }
                Some(i) => {
                    self.buf.extend_from_slice(&rest[..i]);
                    let frame = std::mem::take(&mut self.buf);
                    if !frame.is_empty() {
                        f(&frame);
                    }
                    rest = &rest[i + 1..];
                }
            }
        }
        for part in rest.split_inclusive(|&b| b == RECORD_SEPARATOR) {
            if part.last() == Some(&RECORD_SEPARATOR) {
                if part.len() > 1 {
                    f(&part[..part.len() - 1]);
                }
            } else {
                self.buf.extend_from_slice(part);
            }
        }
    }

    /// Bytes of an incomplete frame held back.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Hand over the incomplete frame held back (to another framer, which is fed it first).
    pub fn take_pending(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framer_handles_partial_and_multiple_frames() {
        let mut f = Framer::default();
        let mut got: Vec<Vec<u8>> = Vec::new();
        f.feed(b"{\"type\":6}\x1e{\"ty", |x| got.push(x.to_vec()));
        assert_eq!(got, vec![b"{\"type\":6}".to_vec()]);
        assert_eq!(f.pending(), 4);
        f.feed(b"pe\":", |x| got.push(x.to_vec()));
        f.feed(b"6}\x1e\x1e{}\x1e", |x| got.push(x.to_vec()));
        assert_eq!(got.len(), 3);
        assert_eq!(got[1], b"{\"type\":6}".to_vec());
        assert_eq!(got[2], b"{}".to_vec());
        assert_eq!(f.pending(), 0);
        f.feed(b"{\"a\"", |_| {});
        assert_eq!(f.take_pending(), b"{\"a\"".to_vec());
        assert_eq!(f.pending(), 0);
    }
}
