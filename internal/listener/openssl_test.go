package listener

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sClient runs openssl s_client against addr with stdin closed, so it
// handshakes, sends nothing and quits. The minute is a failsafe only.
func sClient(t *testing.T, addr string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skipf("openssl not installed (apt-get install openssl; .ci/run does): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "openssl", append([]string{"s_client", "-connect", addr, "-servername", "localhost"}, args...)...)
	out, _ := cmd.CombinedOutput()
	return string(out)
}

func TestOpenSSLClientClasses(t *testing.T) {
	p := newPKI(t)
	partnerCert, partnerKey := writePair(t, p.dir, "partner", p.partner)
	foreign, _ := newCA(t, "other CA").issue(t, leafOpts{cn: "Foreign", eku: clientEKU})
	foreignCert, foreignKey := writePair(t, p.dir, "foreign", foreign)
	otherCAFile := filepath.Join(p.dir, "other-ca.pem")
	writeFile(t, otherCAFile, newCA(t, "unrelated CA").pem)

	t.Run("good partner", func(t *testing.T) {
		r := startRig(t, p, nil)
		out := sClient(t, r.addr, "-CAfile", p.caFile, "-cert", partnerCert, "-key", partnerKey, "-verify_return_error")
		if !strings.Contains(out, "Verify return code: 0 (ok)") {
			t.Errorf("s_client:\n%s", out)
		}
		if fs := r.settle(); len(fs) != 0 {
			t.Errorf("good partner produced %+v", fs)
		}
	})
	cases := []struct {
		name string
		code uint32
		args []string
	}{
		{"no client cert", CodeNoClientCert, []string{"-CAfile", p.caFile}},
		{"no client cert tls12", CodeNoClientCert, []string{"-CAfile", p.caFile, "-tls1_2"}},
		{"unknown ca", CodeVerifyFailed, []string{"-CAfile", p.caFile, "-cert", foreignCert, "-key", foreignKey}},
		{"tls 1.1", CodeUnsupportedVersion, []string{"-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"}},
		{"tls 1.0", CodeUnsupportedVersion, []string{"-tls1", "-cipher", "DEFAULT@SECLEVEL=0"}},
		{"no shared cipher", CodeNoSharedCipher, []string{"-tls1_2", "-cipher", "AES128-SHA"}},
		{"client alert unknown ca", CodeAlert(48), []string{"-CAfile", otherCAFile, "-verify_return_error"}},
		{"hostile sni is never logged", CodeNoClientCert, []string{"-CAfile", p.caFile, "-servername", "x.during.connect.try.from.1.2.3.4"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := startRig(t, p, nil)
			sClient(t, r.addr, tc.args...)
			expectOne(t, r, tc.code)
			if fs := r.settle(); strings.Contains(fs[0].Line, "1.2.3.4") {
				t.Errorf("client text in line %q", fs[0].Line)
			}
		})
	}
}
