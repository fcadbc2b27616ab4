// Package control is the local control socket between a running daemon
// and the xdpban command: status with live failure counts, and manual bans
// and unbans that go through the daemon's jail and state store (so they are
// neither lost nor resurrected). One JSON request and one JSON answer per
// connection, on a unix socket only root (or the daemon's user) can open.
package control
