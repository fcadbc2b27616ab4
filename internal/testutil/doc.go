// Package testutil holds the helpers that xdpban's kernel tests share:
// privilege checks, a private bpffs directory per test, and throw-away
// network namespaces joined by veth pairs. Everything a helper creates is
// removed by t.Cleanup, also when the test fails. The lab pieces the
// benchmark tool shares (PKI, fail2ban, bpffs) live in internal/lab.
package testutil
