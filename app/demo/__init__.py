"""The demo store, its API and the call simulator."""
