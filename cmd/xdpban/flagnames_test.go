package main

import (
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestFlagPlaceholdersAreOneWord: urfave/cli takes the first `quoted`
// word of a flag's usage as its value's name in --help and the man page,
// so quoted text there must be a placeholder such as `DIR`, not a phrase
// (--sweep-interval once showed as "--sweep-interval xdpban ban").
func TestFlagPlaceholdersAreOneWord(t *testing.T) {
	for _, cmd := range newApp(nil, nil).Commands {
		for _, f := range cmd.Flags {
			df, ok := f.(cli.DocGenerationFlag)
			if !ok {
				continue
			}
			name := placeholder(df.GetUsage())
			if strings.ContainsAny(name, " \t") || (name != "" && name != strings.ToUpper(name)) {
				t.Errorf("%s --%s: placeholder %q is not one upper-case word; quote only the value's name in its usage", cmd.Name, f.Names()[0], name)
			}
		}
	}
}

// placeholder is what urfave/cli shows as a flag's value name: the text
// between the first pair of backquotes of its usage.
func placeholder(usage string) string {
	_, rest, ok := strings.Cut(usage, "`")
	if !ok {
		return ""
	}
	name, _, ok := strings.Cut(rest, "`")
	if !ok {
		return ""
	}
	return name
}
