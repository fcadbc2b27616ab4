package daemon

import (
	"fmt"
	"os"
	"path/filepath"
)

// checkWatchLogs refuses a log that would be read twice: named twice
// under --watch-log (however spelled), or the --fail2ban-log this daemon
// writes. Each of its lines would count as two failures, so maxretry 3
// would ban after two.
func (o *Options) checkWatchLogs() error {
	type seen struct {
		path string
		fi   os.FileInfo // nil while the file does not exist
	}
	var known []seen
	add := func(path string) (string, error) {
		abs, err := filepath.Abs(path)
		if err != nil {
			return "", fmt.Errorf("watch-log %s: %w", path, err)
		}
		fi, _ := os.Stat(abs)
		for _, k := range known {
			if k.path == abs || (fi != nil && k.fi != nil && os.SameFile(fi, k.fi)) {
				return k.path, nil
			}
		}
		known = append(known, seen{abs, fi})
		return "", nil
	}
	if o.Listener != nil && o.Fail2banLog != "" {
		if _, err := add(o.Fail2banLog); err != nil {
			return err
		}
	}
	for _, w := range o.WatchLogs {
		same, err := add(w)
		if err != nil {
			return err
		}
		if same == "" {
			continue
		}
		if o.Listener != nil && o.Fail2banLog != "" && same == known[0].path {
			return fmt.Errorf("watch-log %s: it is the --fail2ban-log this daemon writes, whose failures count already; remove it from watch-log", w)
		}
		return fmt.Errorf("watch-log %s: named twice (as %s); each line would count twice: name it once", w, same)
	}
	return nil
}
