// Package daemon wires xdpban's parts into the long-running service:
// event sources (the TLS listener, watched logs) feed the jail, and the
// jail drives an enforcer (the XDP ban map, or nothing in log-only mode).
package daemon
