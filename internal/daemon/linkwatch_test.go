package daemon

import "testing"

// TestLinksDownForSystemctlStatus: the status line names every interface
// the program is not attached to, and nothing once all are back.
func TestLinksDownForSystemctlStatus(t *testing.T) {
	var d linksDown
	if got := d.String(); got != "" {
		t.Fatalf("nothing down: %q", got)
	}
	d.set("eth1", false)
	d.set("eth0", false)
	if got, want := d.String(), "XDP NOT ATTACHED to eth0, eth1; "; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	d.set("eth0", true)
	d.set("eth1", true)
	if got := d.String(); got != "" {
		t.Fatalf("all back: %q", got)
	}
}
