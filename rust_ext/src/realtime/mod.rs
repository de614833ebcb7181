//! The ProjectX realtime hubs (market and user) over SignalR on tokio-tungstenite:
//! * `messages`: what the hubs send, decoded (`Event`), and what the client queues (`Record`);
//! * `parse`: Gateway events out of SignalR invocations, with the Python models' rules;
//! * `handler`: per-contract state (quotes merged) and the consumer's queue and clocks;
//! * `connection`: one websocket: handshake, reader, writer, invocations;
//! * `loop_conn`: a plain ws:// hub whose socket the event loop's own thread reads;
//! * `write_only`: that socket's writer end, registered with tokio for writing only;
//! * `client`: the supervised client (reconnect with backoff, re-subscription, watchdogs).
//!
//! The Python binding (`python/realtime.rs`) takes the queue in one crossing per batch and hands
//! the records over as typed objects.

pub mod client;
pub mod connection;
pub mod handler;
pub mod loop_conn;
pub mod messages;
pub mod parse;
pub mod write_only;
