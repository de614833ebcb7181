"""A simulated ProjectX gateway speaking the real wire protocol (REST + SignalR hubs), with a matching
engine, a price feed and fault injection. See `gateway.SimGateway`."""

from trading.sim.faults import FaultKind
from trading.sim.gateway import SimGateway
from trading.sim.options import SimOptions

__all__ = ["FaultKind", "SimGateway", "SimOptions"]
