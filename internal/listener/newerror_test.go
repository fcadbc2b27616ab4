package listener

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/xdpban/xdpban/internal/event"
)

// TestNewErrorDoesNotSayReload: a certificate that cannot be read at the
// start (or in xdpban check) once read "reload tls: ...", though nothing
// was being reloaded. The line names the file it could not load.
func TestNewErrorDoesNotSayReload(t *testing.T) {
	p := newPKI(t)
	missing := filepath.Join(t.TempDir(), "cert.pem")
	_, err := New(Config{CertFile: missing, KeyFile: p.keyFile, ClientCAFile: p.caFile, BackendAddr: "127.0.0.1:1", OnFailure: func(event.Failure) {}})
	if err == nil {
		t.Fatal("missing certificate accepted")
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "tls: load ") || strings.Contains(msg, "reload") || !strings.Contains(msg, missing) {
		t.Errorf("New with a missing certificate: %q; want it to start with \"tls: load \", name %s and not say reload", msg, missing)
	}
}
