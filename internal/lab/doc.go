// Package lab holds the pieces of a throw-away lab that both the tests
// and the benchmark tool (cmd/xdpbench) need: a CA with server and partner
// certificates, a stock fail2ban run in a private directory, bpffs, and
// an accept loop. It imports no testing, so the benchmark tool does not
// link it; internal/testutil wraps these for tests.
package lab
