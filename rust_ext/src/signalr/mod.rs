//! The SignalR JSON hub protocol, independent of ProjectX: record-separator framing, the
//! handshake, and the frame types (invocation, completion, ping, close). The ProjectX events carried
//! in invocations are decoded in `realtime/parse.rs`.

pub mod frames;
pub mod framing;
pub mod handshake;
