//! The client side of the SignalR handshake: after sending `HANDSHAKE_REQUEST`, wait for the
//! answer in what the hub sends; what came after it in the same messages (whole frames and a
//! partial one) is kept for the reader.

use super::frames::{parse, Message};
use super::framing::Framer;
use crate::common::wire::RECORD_SEPARATOR;

#[derive(Debug, Default)]
pub struct Handshake {
    framer: Framer,
    answer: Option<Option<String>>,
    rest: Vec<u8>,
}

impl Handshake {
    /// Feed what the hub sent; once the answer is in, `Some(Ok(rest))` (the bytes after it: whole
    /// frames with their separators, then any partial frame) or `Some(Err(..))` when refused.
    pub fn feed(&mut self, data: &[u8]) -> Option<Result<Vec<u8>, String>> {
        let (answer, rest) = (&mut self.answer, &mut self.rest);
        self.framer.feed(data, |f| {
            if answer.is_none() {
                if let Ok(Message::Handshake(err)) = parse(f, false) {
                    *answer = Some(err.map(String::from));
                }
            } else {
                rest.extend_from_slice(f);
                rest.push(RECORD_SEPARATOR);
            }
        });
        match self.answer.as_ref()? {
            Some(err) => Some(Err(format!("hub refused the handshake: {err}"))),
            None => {
                let mut rest = std::mem::take(&mut self.rest);
                rest.extend(self.framer.take_pending());
                Some(Ok(rest))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_for_the_answer_and_keeps_what_follows() {
        let mut h = Handshake::default();
        assert_eq!(h.feed(b"{"), None);
        assert_eq!(
            h.feed(b"}\x1e{\"type\":6}\x1e{\"type\":1,"),
            Some(Ok(b"{\"type\":6}\x1e{\"type\":1,".to_vec()))
        );
        let mut refused = Handshake::default();
        assert_eq!(
            refused.feed(b"{\"error\":\"no\"}\x1e"),
            Some(Err("hub refused the handshake: no".into()))
        );
    }
}
