package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestImportBatchSizeDocumented keeps the batch size that import --help and
// the README give equal to the one import sends: the help page once said
// 100,000 while import sent 25,000 per request.
func TestImportBatchSizeDocumented(t *testing.T) {
	n := strconv.Itoa(importChunk)
	for i := len(n) - 3; i > 0; i -= 3 {
		n = n[:i] + "," + n[i:]
	}
	want := "batch per " + n + " bans"
	code, out, errb := runCLI("import", "--help")
	if code != 0 {
		t.Fatalf("import --help: exit %d: %s", code, errb)
	}
	if !strings.Contains(strings.Join(strings.Fields(out), " "), want) {
		t.Errorf("import --help does not say %q:\n%s", want, out)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(strings.Fields(string(readme)), " "), want) {
		t.Errorf("README.md does not say %q", want)
	}
}
