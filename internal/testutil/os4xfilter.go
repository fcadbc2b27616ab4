package testutil

import (
	"os"
	"path/filepath"
)

// OS4XWikiFilter is the fail2ban filter the OS4X documentation prints
// (wiki page "OS4X Fail2Ban integration", current revision): two greedy
// regexes whose <HOST> also takes host names, which fail2ban resolves.
// Sites run it unchanged, so every line xdpban writes must be read right by
// it as well as by the shipped filter.
const OS4XWikiFilter = `[Definition]
failregex =
    ^TLS error .+ during connect try from <HOST>: .*$
    ^TLS error .+ during connect try from <HOST> (.+): .*$
ignoreregex =
`

// WriteOS4XWikiFilter writes OS4XWikiFilter into dir and returns its
// absolute path (fail2ban-regex takes a relative name for a regex).
func WriteOS4XWikiFilter(dir string) (string, error) {
	path, err := filepath.Abs(filepath.Join(dir, "os4x-wiki.conf"))
	if err != nil {
		return "", err
	}
	return path, os.WriteFile(path, []byte(OS4XWikiFilter), 0o644)
}
