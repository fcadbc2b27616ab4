package main

import (
	"os"
	"strings"
	"testing"

	"github.com/xdpban/xdpban/internal/testutil"
)

// TestCheckNamesEveryProblem: `xdpban check` reports each problem on a
// line of its own, exits 1, and starts nothing; a good configuration
// says so and exits 0.
func TestCheckNamesEveryProblem(t *testing.T) {
	testutil.RequireRoot(t)
	a, b := newE2EPKI(t), newE2EPKI(t)
	tmp := t.TempDir()
	bad := writeFile(t, "iface: [xdpban-nosuch0, lo]\n"+
		"listen: 127.0.0.1:0\nbackend: 127.0.0.1:1\n"+
		"cert: "+a.CertFile+"\nkey: "+b.KeyFile+"\n"+ // a key that is not the certificate's
		"client-ca: "+tmp+"/missing-ca.pem\n"+
		"pin-dir: "+tmp+"/pins\nstate-dir: "+tmp+"/state\ncontrol-socket: "+tmp+"/s\n")
	code, out, errb := runCLI("check", "--config", bad)
	if code != 1 || out != "" {
		t.Errorf("check of a bad config: exit %d, stdout %q", code, out)
	}
	lines := strings.Split(strings.TrimSpace(errb), "\n")
	for _, want := range []string{"private key does not match public key", "xdpban-nosuch0: interface not found", "not on a bpf filesystem"} {
		n := 0
		for _, l := range lines {
			if strings.Contains(l, want) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("want one line mentioning %q:\n%s", want, errb)
		}
	}
	// The CA is read after the key pair: fix the pair, and it is next.
	fixed := writeFile(t, strings.Replace(readFile(t, bad), b.KeyFile, a.KeyFile, 1))
	if _, _, errb := runCLI("check", "--config", fixed); !strings.Contains(errb, "missing-ca.pem") {
		t.Errorf("a missing CA bundle is not named:\n%s", errb)
	}

	good := writeFile(t, "iface: [lo]\nlisten: 127.0.0.1:0\nbackend: 127.0.0.1:1\n"+
		"cert: "+a.CertFile+"\nkey: "+a.KeyFile+"\nclient-ca: "+a.CAFile+"\n"+
		"pin-dir: "+testutil.PinDir(t)+"\nstate-dir: "+tmp+"/state\ncontrol-socket: "+tmp+"/s\nfail2ban-log: "+tmp+"/log/tls.log\n")
	if code, out, errb := runCLI("check", "--config", good); code != 0 || out != "configuration ok\n" {
		t.Errorf("check of a good config: exit %d, %q %q", code, out, errb)
	}
	for _, path := range []string{tmp + "/state", tmp + "/s", tmp + "/log"} {
		if fileExists(path) {
			t.Errorf("check created %s: it must start nothing", path)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func fileExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
