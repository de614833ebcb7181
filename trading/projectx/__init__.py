"""The ProjectX Gateway (TopstepX) broker: wire schema, conversions, REST client and realtime hubs."""
