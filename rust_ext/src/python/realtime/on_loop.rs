//! The hub read on the event loop's own thread (`HubClient.read_on_loop`): the loop watches the
//! hub's socket (`loop.add_reader`) and a wake-up socketpair (the kick); `Pump`, the callback of
//! both, reads what the socket has (`realtime::loop_conn`: framing, decoding, queueing in Rust),
//! takes a new connection the client made (the old one's reader removed), and hands the queue to
//! the coroutine waiting in `next_batch`: one wake-up of one thread per batch, the socket's.
//!
//! Records queued on tokio's side (status, log lines, the watchdog's market-hours question, the
//! end) wake the loop through the kick (`Shared::push`). Every reader is added and removed on
//! the loop's thread; a connection the client drops is shut down (`Conn::shut`), so its reader
//! sees the end and removes itself.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::MutexExt;

use super::Builders;
use crate::common::wake::Inbox;
use crate::realtime::client::Client;
use crate::realtime::loop_conn::{LoopConn, Step};

/// The loop's side of one hub client.
pub(super) struct OnLoop {
    client: Arc<Client>,
    event_loop: Py<PyAny>,
    kick: Arc<Inbox<()>>,
    /// The connection being read (only the loop's thread touches it).
    current: Mutex<Option<LoopConn>>,
    /// The future `next_batch` returned while nothing was queued.
    waiter: Mutex<Option<Py<PyAny>>>,
    builders: Arc<Mutex<Builders>>,
    seen_ns: Arc<AtomicI64>,
    /// Connections the loop has read so far.
    taken: AtomicU64,
    /// `close` was called: nothing is watched any more.
    closed: AtomicBool,
}

/// `m` locked (only the loop's thread takes these locks; a poisoned one holds plain data).
fn held<'a, T>(py: Python<'_>, m: &'a Mutex<T>) -> MutexGuard<'a, T> {
    m.lock_py_attached(py).unwrap_or_else(|e| e.into_inner())
}

/// The loop's reader callback for the kick and the hub's socket.
#[pyclass(module = "trading._native", frozen)]
struct Pump(Arc<OnLoop>);

#[pymethods]
impl Pump {
    fn __call__(&self, py: Python<'_>) {
        if let Err(e) = self.0.pump(py) {
            e.print(py);
        }
    }
}

impl OnLoop {
    /// Watch the kick on the running loop; None when the loop cannot watch descriptors (then the
    /// tokio reader serves).
    pub(super) fn start(
        py: Python<'_>,
        client: Arc<Client>,
        builders: Arc<Mutex<Builders>>,
        seen_ns: Arc<AtomicI64>,
    ) -> PyResult<Option<Arc<Self>>> {
        let asyncio = py.import(intern!(py, "asyncio"))?;
        let event_loop = asyncio.call_method0(intern!(py, "get_running_loop"))?;
        let Ok(kick) = Inbox::new() else {
            return Ok(None);
        };
        let me = Arc::new(OnLoop {
            client,
            event_loop: event_loop.clone().unbind(),
            kick: Arc::new(kick),
            current: Mutex::new(None),
            waiter: Mutex::new(None),
            builders,
            seen_ns,
            taken: AtomicU64::new(0),
            closed: AtomicBool::new(false),
        });
        let watched =
            event_loop.call_method1(intern!(py, "add_reader"), (me.kick.fd(), Pump(me.clone())));
        if watched.is_err() {
            return Ok(None); // a loop without add_reader (Windows' proactor)
        }
        me.client.shared().set_kick(me.kick.clone());
        me.client.read_on_loop();
        Ok(Some(me))
    }

    /// One turn: the kick's bytes read, a new connection taken, the socket read, the queue handed
    /// to a waiting `next_batch`.
    fn pump(self: &Arc<Self>, py: Python<'_>) -> PyResult<()> {
        if self.closed() {
            return Ok(());
        }
        self.kick.drain();
        let mut current = held(py, &self.current);
        if let Some(new) = self.client.take_loop_conn() {
            if let Some(old) = current.take() {
                self.unwatch(py, old.fd());
            }
            self.event_loop
                .bind(py)
                .call_method1(intern!(py, "add_reader"), (new.fd(), Pump(self.clone())))?;
            *current = Some(new);
            self.taken.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(conn) = current.as_mut() {
            match conn.read_ready(self.client.shared()) {
                Step::Drained => {}
                Step::More => self.kick.post(()), // the rest after the loop's other callbacks
                Step::Ended(reason) => {
                    let ended = current.take().map(|c| {
                        self.unwatch(py, c.fd());
                        c.conn.clone()
                    });
                    if let Some(conn) = ended {
                        self.client.lost(&conn, reason);
                    }
                }
            }
        }
        drop(current);
        self.deliver(py)
    }

    fn unwatch(&self, py: Python<'_>, fd: i32) {
        let removed = self
            .event_loop
            .bind(py)
            .call_method1(intern!(py, "remove_reader"), (fd,));
        if let Err(e) = removed {
            e.print(py);
        }
    }

    /// The queue to the waiting `next_batch`, if one waits and something is queued.
    fn deliver(&self, py: Python<'_>) -> PyResult<()> {
        let mut waiter = held(py, &self.waiter);
        let Some(fut) = waiter.take() else {
            return Ok(());
        };
        let fut = fut.into_bound(py);
        if fut.call_method0(intern!(py, "done"))?.is_truthy()? {
            return Ok(()); // cancelled: the next `next_batch` takes the queue
        }
        match self.client.shared().take_batch() {
            Some((batch, seen)) => {
                let built = self.build(py, batch, seen);
                match built {
                    Ok(list) => fut.call_method1(intern!(py, "set_result"), (list,))?,
                    Err(e) => {
                        fut.call_method1(intern!(py, "set_exception"), (e.into_value(py),))?
                    }
                };
            }
            None => *waiter = Some(fut.unbind()),
        }
        Ok(())
    }

    fn build(
        &self,
        py: Python<'_>,
        batch: Vec<crate::realtime::messages::Record>,
        seen: i64,
    ) -> PyResult<Py<PyAny>> {
        self.seen_ns.store(seen, Ordering::Release);
        super::build_batch(py, &self.builders, batch, seen)
    }

    /// `next_batch` on this loop: a future already done when something is queued, else one the
    /// next turn with records completes.
    pub(super) fn next_batch<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let fut = self
            .event_loop
            .bind(py)
            .call_method0(intern!(py, "create_future"))?;
        match self.client.shared().take_batch() {
            Some((batch, seen)) => {
                let list = self.build(py, batch, seen)?;
                fut.call_method1(intern!(py, "set_result"), (list,))?;
            }
            None => {
                let old = held(py, &self.waiter).replace(fut.clone().unbind());
                if let Some(old) = old {
                    old.bind(py).call_method0(intern!(py, "cancel"))?;
                }
            }
        }
        Ok(fut)
    }

    /// Connections the loop has read so far (its first included).
    pub(super) fn taken(&self) -> u64 {
        self.taken.load(Ordering::Relaxed)
    }

    pub(super) fn closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// The descriptors the loop watches for this client: the kick's, and the socket's when one is read.
    pub(super) fn fds(&self, py: Python<'_>) -> Vec<i32> {
        let current = held(py, &self.current);
        std::iter::once(self.kick.fd())
            .chain(current.as_ref().map(LoopConn::fd))
            .collect()
    }

    /// Stop watching: the kick and the connection being read (the client is stopped already).
    pub(super) fn close(&self, py: Python<'_>) {
        if self.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        self.unwatch(py, self.kick.fd());
        let current = held(py, &self.current).take();
        if let Some(c) = current {
            self.unwatch(py, c.fd());
        }
        let waiter = held(py, &self.waiter).take();
        if let Some(fut) = waiter {
            let _ = fut.bind(py).call_method0(intern!(py, "cancel"));
        }
    }
}
