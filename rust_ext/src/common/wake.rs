//! The pyo3-free half of the one asyncio bridge (`python/bridge.rs`): a tokio worker queues a
//! finished result in an event loop's inbox and writes one byte to a socketpair that the loop
//! watches (`loop.add_reader`); the loop thread drains the inbox. At most one wake-up byte is in
//! flight per drain, however many results arrive meanwhile.

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Finished results of one event loop, and the socketpair that wakes it.
pub struct Inbox<T> {
    done: Mutex<Vec<T>>,
    /// A wake-up byte is in flight (at most one per drain).
    armed: AtomicBool,
    tx: UnixStream,
    rx: UnixStream,
}

impl<T> Inbox<T> {
    pub fn new() -> io::Result<Self> {
        let (tx, rx) = UnixStream::pair()?;
        tx.set_nonblocking(true)?;
        rx.set_nonblocking(true)?;
        Ok(Inbox {
            done: Mutex::new(Vec::new()),
            armed: AtomicBool::new(false),
            tx,
            rx,
        })
    }

    /// The descriptor the event loop watches for reading.
    pub fn fd(&self) -> RawFd {
        self.rx.as_raw_fd()
    }

    /// Queue `item`; wake the loop unless a wake-up is already in flight.
    pub fn post(&self, item: T) {
        self.done
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(item);
        if !self.armed.swap(true, Ordering::AcqRel) {
            // The pair is non-blocking and holds at most a few bytes: a failure cannot be full.
            let _ = (&self.tx).write(&[1]);
        }
    }

    /// On the loop thread, when the descriptor is readable: the wake-up bytes read and
    /// everything queued so far, in order.
    pub fn drain(&self) -> Vec<T> {
        let mut buf = [0u8; 64];
        while matches!((&self.rx).read(&mut buf), Ok(n) if n == buf.len()) {}
        self.armed.store(false, Ordering::Release);
        std::mem::take(&mut *self.done.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wake-up bytes waiting (read, as the loop would).
    fn wake_ups(inbox: &Inbox<u32>) -> usize {
        let mut buf = [0u8; 16];
        match (&inbox.rx).read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn one_wake_up_per_drain_and_items_in_order() {
        let inbox = Inbox::new().unwrap();
        assert_eq!(wake_ups(&inbox), 0);
        for i in 0..5 {
            inbox.post(i);
        }
        assert_eq!(wake_ups(&inbox), 1);
        assert_eq!(inbox.drain(), vec![0, 1, 2, 3, 4]);
        assert!(inbox.drain().is_empty());
        assert_eq!(wake_ups(&inbox), 0);
        inbox.post(9);
        inbox.post(10);
        assert_eq!(wake_ups(&inbox), 1);
        assert_eq!(inbox.drain(), vec![9, 10]);
    }

    #[test]
    fn posts_from_many_threads_all_arrive() {
        let inbox = std::sync::Arc::new(Inbox::new().unwrap());
        let threads: Vec<_> = (0..4u32)
            .map(|t| {
                let inbox = inbox.clone();
                std::thread::spawn(move || (0..250).for_each(|i| inbox.post(t * 1000 + i)))
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        let mut got = inbox.drain();
        got.sort_unstable();
        assert_eq!(got.len(), 1000);
        assert_eq!(got[999], 3249);
    }
}
