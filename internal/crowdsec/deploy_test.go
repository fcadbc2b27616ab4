package crowdsec

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/event"
	"github.com/xdpban/xdpban/internal/f2blog"
	"gopkg.in/yaml.v3"
)

// TestDeployedParserAndScenario replays a log written by xdpban's own
// formatter through a CrowdSec agent with deploy/crowdsec's parser and
// scenario. Every line parses to the address xdpban wrote (IPv4, IPv6,
// with a partner name in parentheses, OS4X's undated form), and LAPI gets
// an alert of scenario xdpban/oftp2-tls for exactly the dated sources with
// three failures (a replay places events by their date, so undated lines
// pour only when the agent tails the log live).
func TestDeployedParserAndScenario(t *testing.T) {
	l := startLAPI(t)
	t0 := time.Date(2026, 11, 25, 10, 48, 28, 123e6, time.UTC)
	var lines []string
	add := func(addr, name string, mode f2blog.TimeMode, n int) {
		for i := range n {
			lines = append(lines, f2blog.Format(event.Failure{
				Addr: netip.MustParseAddr(addr), Name: name, Code: 167772359,
				Message: "peer did not return a certificate", Time: t0.Add(time.Duration(len(lines)+i) * time.Second),
			}, mode))
		}
	}
	add("198.18.7.2", "", f2blog.TimeEnd, 2)
	add("198.18.7.2", "ACME GmbH (Hamburg)", f2blog.TimeEnd, 1) // the name's parentheses come escaped
	add("2001:db8::7", "", f2blog.TimeEnd, 3)
	add("198.18.7.22", "", f2blog.TimeNone, 3) // OS4X's undated form
	add("198.18.7.3", "", f2blog.TimeEnd, 2)   // below maxretry
	log := filepath.Join(t.TempDir(), "tls.log")
	if err := os.WriteFile(log, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, dump, err := l.Replay(t, "../../deploy/crowdsec", log, "xdpban", true)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	checkParsed(t, filepath.Join(dump, "parser-dump.yaml"), lines)
	if out, _, err = l.Replay(t, "../../deploy/crowdsec", log, "xdpban", false); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}

	raw, err := l.Cscli("alerts", "list", "-a", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var alerts []struct {
		Scenario string `json:"scenario"`
		Source   struct {
			Value string `json:"value"`
		} `json:"source"`
	}
	if err := json.Unmarshal([]byte(raw), &alerts); err != nil {
		t.Fatalf("cscli alerts list: %v: %s", err, raw)
	}
	got := map[string]int{}
	for _, a := range alerts {
		if a.Scenario != "xdpban/oftp2-tls" {
			t.Errorf("alert of scenario %q", a.Scenario)
		}
		got[a.Source.Value]++
	}
	for _, want := range []string{"198.18.7.2", "2001:db8::7"} {
		if got[want] != 1 {
			t.Errorf("alerts for %s: %d, want 1 (all: %v)\nlog:\n%s\nagent:\n%s", want, got[want], got, strings.Join(lines, "\n"), out)
		}
	}
	if len(got) != 2 {
		t.Errorf("alerts for %v, want exactly the two dated sources that reached maxretry", got)
	}
}

// checkParsed reads the agent's parser dump and checks that stage
// s01-parse gave every line the address written in it.
func checkParsed(t *testing.T, path string, lines []string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var dump map[string]map[string][]struct {
		Evt struct {
			Line struct {
				Raw string `yaml:"Raw"`
			} `yaml:"Line"`
			Meta map[string]string `yaml:"Meta"`
		} `yaml:"evt"`
		Success bool `yaml:"success"`
	}
	if err := yaml.Unmarshal(raw, &dump); err != nil {
		t.Fatalf("parser dump: %v", err)
	}
	parsed := map[string]string{} // line -> meta.source_ip
	for _, r := range dump["s01-parse"]["xdpban/xdpban-logs"] {
		if r.Success {
			parsed[r.Evt.Line.Raw] = r.Evt.Meta["source_ip"]
		}
	}
	for _, line := range lines {
		want := strings.Fields(strings.SplitN(line, " from ", 2)[1])[0]
		want = strings.TrimSuffix(want, ":")
		if got, ok := parsed[line]; !ok || got != want {
			t.Errorf("line %q: parsed %v, source_ip %q, want %q", line, ok, got, want)
		}
	}
}
