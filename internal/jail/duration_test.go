package jail

import (
	"bufio"
	"bytes"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/testutil"
)

func TestParseDuration(t *testing.T) {
	const day = 24 * time.Hour
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"600", 600 * time.Second},
		{"10m", 10 * time.Minute},
		{"1h", time.Hour},
		{"1d", day},
		{"1w", 7 * day},
		{"2weeks", 14 * day},
		{"1mo", durationMonth},
		{"1mon", durationMonth},
		{"6 months", 6 * durationMonth},
		{"1y", durationYear},
		{"1year-6mo", durationYear / 2},
		{"1hour+30min", 90 * time.Minute},
		{"0d 1h 30m", 90 * time.Minute},
		{"1d 12h", 36 * time.Hour},
		{"1d12h30m", 36*time.Hour + 30*time.Minute},
		{"3 hours", 3 * time.Hour},
		{"1.5h", 90 * time.Minute},
		{"1h30m", 90 * time.Minute},
		{"1H30M", 90 * time.Minute},
		{"1h30", time.Hour + 30*time.Second},
		{"2 3", 5 * time.Second},
		{"100y", MaxDuration},
		{"0", 0},
		{"-1", Permanent},
		{" 42 ", 42 * time.Second},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for bad, why := range map[string]string{
		"":                       "empty",
		"abc":                    "expected a number",
		"10x":                    "unknown unit",
		"10mins":                 "unknown unit", // fail2ban has min, not mins
		"250ms":                  "unknown unit",
		"h":                      "expected a number",
		"1d-":                    "expected a number",
		"-1d":                    "negative",
		"-2":                     "negative",
		"0.5":                    "under one second",
		"1s-0.5":                 "under one second",
		"101y":                   "longer than 100y",
		"2562047h47m":            "longer than 100y",
		"99999999999w":           "longer than 100y",
		strings.Repeat("9", 400): "longer than 100y",
	} {
		if d, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want error", bad, d)
		} else if !strings.HasPrefix(err.Error(), "parse duration") || !strings.Contains(err.Error(), why) {
			t.Errorf("ParseDuration(%q) error %q, want context and %q", bad, err, why)
		}
	}
}

// TestParseDurationMatchesFail2ban asks fail2ban's own str2seconds (the
// installed one, through the interpreter fail2ban-server runs with): where
// it gives a value in xdpban's range, ParseDuration gives the same, and
// where it fails, ParseDuration fails too.
func TestParseDurationMatchesFail2ban(t *testing.T) {
	if err := testutil.NeedFail2ban(); err != nil {
		t.Skip(err)
	}
	inputs := []string{
		"600", "1.5", "10m", "10 m", "1h", "1H", "1d", "1dd", "1da", "1day", "2days", "1w", "1ww", "1we", "1wee",
		"1week", "2weeks", "1mo", "1mon", "1month", "3months", "1y", "1yy", "1ye", "1yea", "1year", "2years",
		"1s", "1ss", "1se", "1sec", "1second", "5seconds", "1mi", "1mm", "1min", "1minute", "5minutes",
		"1ho", "1hou", "1hh", "1hour", "2hours", "1h30m", "1d12h", "1d 12h", "0d 1h 30m", "1hour+30min",
		"1year-6mo", "6 months", "1h30", "2 3", "1w2d3h4m5s", ".5h", "-1",
		"10mins", "1hrs", "1x", "h", "1d-", "1dy", "1yr",
	}
	py := fail2banPython(t)
	script := "import sys\nfrom fail2ban.server.mytime import MyTime\nfor l in sys.stdin:\n" +
		"    try: print(repr(float(MyTime.str2seconds(l.rstrip('\\n')))))\n    except Exception: print('error')\n"
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = strings.NewReader(strings.Join(inputs, "\n") + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("fail2ban's str2seconds: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for _, in := range inputs {
		if !sc.Scan() {
			t.Fatalf("fail2ban answered fewer lines than asked:\n%s", out)
		}
		got, err := ParseDuration(in)
		if sc.Text() == "error" {
			if err == nil {
				t.Errorf("%q: fail2ban refuses it, xdpban reads %v", in, got)
			}
			continue
		}
		secs, perr := strconv.ParseFloat(sc.Text(), 64)
		if perr != nil {
			t.Fatalf("%q: fail2ban said %q", in, sc.Text())
		}
		if secs == -1 {
			if got != Permanent {
				t.Errorf("%q: fail2ban -1 (permanent), xdpban %v, %v", in, got, err)
			}
			continue
		}
		if err != nil || math.Abs(got.Seconds()-secs) > 1e-6 {
			t.Errorf("%q: fail2ban %vs, xdpban %v, %v", in, secs, got, err)
		}
	}
}

// fail2banPython is the interpreter on fail2ban-server's #! line, which
// can import fail2ban whatever python3 is first on PATH.
func fail2banPython(t *testing.T) string {
	t.Helper()
	server, err := exec.LookPath("fail2ban-server")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(server)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	fields := strings.Fields(strings.TrimPrefix(line, "#!"))
	if len(fields) == 0 {
		t.Fatalf("%s has no #! line", server)
	}
	if strings.HasSuffix(fields[0], "/env") && len(fields) > 1 {
		return fields[1]
	}
	return fields[0]
}

// TestCheckDuration is the rule control requests and Config go through.
func TestCheckDuration(t *testing.T) {
	for _, d := range []time.Duration{0, Permanent, time.Second, MaxDuration} {
		if err := CheckDuration(d); err != nil {
			t.Errorf("CheckDuration(%v): %v", d, err)
		}
	}
	for _, d := range []time.Duration{-2 * time.Second, time.Millisecond, MaxDuration + 1, math.MaxInt64} {
		if err := CheckDuration(d); err == nil {
			t.Errorf("CheckDuration(%v) accepted", d)
		}
	}
}

// TestFormatDuration: durations read back as ParseDuration reads them,
// in the units an operator counts in.
func TestFormatDuration(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{MaxDuration, "100y"}, {durationYear - time.Second, "365d5h59m59s"}, {36*time.Hour + 30*time.Minute, "1d12h30m"},
		{time.Hour + time.Second, "1h1s"}, {599600 * time.Millisecond, "10m"}, {time.Millisecond, "0s"}, {-time.Minute, "0s"},
		{Permanent, "-1"},
	} {
		got := FormatDuration(c.d)
		if got != c.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", c.d, got, c.want)
		}
		if back, err := ParseDuration(got); c.d > 0 && (err != nil || back != c.d.Round(time.Second)) {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", got, back, err, c.d.Round(time.Second))
		}
	}
}
