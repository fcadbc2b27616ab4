package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// TestManPage: the page the package installs names every visible command
// and every flag of run, so it cannot fall behind the CLI.
// It runs the built binary, as the package build does.
func TestManPage(t *testing.T) {
	var out, errb bytes.Buffer
	cmd := exec.Command(binary, "man")
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("man: %v: %s", err, errb.String())
	}
	page := out.String()
	if !strings.HasPrefix(page, ".nh\n.TH xdpban 8") {
		t.Errorf("not a section 8 roff page:\n%.200s", page)
	}
	app := newApp(nil, nil)
	for _, cmd := range app.Commands {
		has := strings.Contains(page, "\n.SH "+strings.Join(cmd.Names(), ", ")+"\n")
		if has == cmd.Hidden {
			t.Errorf("command %s (hidden %v): in the page %v", cmd.Name, cmd.Hidden, has)
		}
	}
	for _, f := range app.Command("run").Flags {
		if name := f.Names()[0]; !strings.Contains(page, `\fB--`+name+`\fP`) {
			t.Errorf("run flag --%s missing from the page", name)
		}
	}
	if code, _, errb := runCLI("man", "extra"); code == 0 || !strings.Contains(errb, "expected no arguments") {
		t.Errorf("man extra: exit %d, %q", code, errb)
	}
}

// TestShellCompletion is what the packaged bash and zsh scripts ask:
// commands at the top, a command's flags after a dash, and never the
// command's action (completing `xdpban ban ADDR` must not ban). It runs
// the binary: urfave reads the word being completed from os.Args.
func TestShellCompletion(t *testing.T) {
	for _, tt := range []struct {
		args       []string
		want, deny []string
	}{
		{[]string{completionFlag}, []string{"run\n", "status\n", "ban\n", "detach\n"}, []string{"man\n"}},
		{[]string{"ban", "--d", completionFlag}, []string{"--duration\n"}, nil},
		{[]string{"run", "--bantime-", completionFlag}, []string{"--bantime-increment\n", "--bantime-maxtime\n"}, []string{"--maxretry"}},
		// A ban through the default pins would fail on this machine or
		// ban for real; either would show here.
		{[]string{"ban", "198.18.0.1", completionFlag}, nil, []string{"banned", "xdpban:"}},
	} {
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(binary, tt.args...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		out, errb := stdout.String(), stderr.String()
		if err != nil || errb != "" {
			t.Errorf("%v: %v, stderr %q", tt.args, err, errb)
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: %q lacks %q", tt.args, out, w)
			}
		}
		for _, d := range tt.deny {
			if strings.Contains(out+errb, d) {
				t.Errorf("%v: %q has %q", tt.args, out+errb, d)
			}
		}
	}
}
