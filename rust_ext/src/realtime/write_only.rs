//! The writer task's end of a hub socket the event loop's thread reads (`loop_conn`): a duplicate
//! of that socket registered with tokio's reactor for writability only.
//!
//! Why not `tokio::net::TcpStream`: it registers for reading too, and a duplicate shares the
//! socket, so every frame the hub sends would wake tokio's reactor thread though nobody on
//! tokio's side reads it: one wake-up of a second thread per message (measured on the pinned
//! single-quote bench: the tokio worker switched in once per quote, ~1,400 times in 3 s of 2 ms
//! quotes; the process's CPU per quote was 68 µs with it and 45 µs without, medians of six runs
//! per build; the quote's latency moved within the machine's noise). With writable interest only, the kernel's wake-up for arriving data (EPOLLIN) does not match the
//! registration and the reactor sleeps on; it wakes only when a write had to wait for room.

use std::io::{self, Write};
use std::net::{Shutdown, TcpStream};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};

/// A non-blocking socket tokio may write to and never reads.
pub struct WriteOnly(AsyncFd<TcpStream>);

impl WriteOnly {
    /// Registers `sock` (made non-blocking) with the current runtime's reactor, for writing.
    pub fn new(sock: TcpStream) -> io::Result<Self> {
        sock.set_nonblocking(true)?;
        // SAFETY: a `TcpStream` owns its descriptor, open for as long as the stream lives (inside
        // the `AsyncFd`), and `as_raw_fd` returns that same descriptor every time.
        unsafe { AsyncFd::register_with_interest(sock, Interest::WRITABLE) }
            .map(WriteOnly)
            .map_err(|e| e.into_parts().1)
    }
}

impl AsyncRead for WriteOnly {
    /// Never called by the writer (tokio-tungstenite's sink only writes and flushes); an error,
    /// not a wait that could never end, if that ever changes.
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        _buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "the hub writer's socket is read by the event loop, not here",
        )))
    }
}

impl AsyncWrite for WriteOnly {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            let mut guard = ready!(self.0.poll_write_ready(cx))?;
            match guard.try_io(|s| s.get_ref().write(buf)) {
                Ok(written) => return Poll::Ready(written),
                Err(_would_block) => continue, // readiness cleared: wait for room again
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(())) // nothing is buffered here
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.0.get_ref().shutdown(Shutdown::Write))
    }
}
