"""The host's counters for monitoring (prometheus-client): defined here, counted by every
package, exported on the web listener's `/metrics`."""
