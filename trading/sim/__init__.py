"""A simulated ProjectX gateway speaking the real wire protocol (REST + SignalR hubs), with a matching
engine, a price feed and fault injection. See `gateway.SimGateway` (and `options.SimOptions`,
`fault_kind.FaultKind`); this file imports nothing, so a piece of the simulator never loads the rest."""
