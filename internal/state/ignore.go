package state

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
)

// IgnoreFileName is the file in the state directory that holds the
// ignore list of the daemon that started last.
const IgnoreFileName = "ignore.json"

// Ignore is the daemon's ignoreip and ignoreself, kept so that `xdpban
// ban` without a daemon refuses the same bans the daemon would: the pins
// outlive the daemon, its flags do not.
type Ignore struct {
	IgnoreIP   []netip.Prefix `json:"ignoreip"`
	IgnoreSelf bool           `json:"ignoreself"`
}

// SaveIgnore writes ig to dir, replacing the file atomically so a reader
// never sees half of it.
func SaveIgnore(dir string, ig Ignore) error {
	data, err := json.Marshal(ig)
	if err != nil {
		return fmt.Errorf("save ignore list: %w", err)
	}
	tmp, err := os.CreateTemp(dir, IgnoreFileName+".*")
	if err != nil {
		return fmt.Errorf("save ignore list: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(data, '\n'))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, IgnoreFileName))
	}
	if err != nil {
		return fmt.Errorf("save ignore list: %w", err)
	}
	return nil
}

// LoadIgnore reads the list SaveIgnore wrote. No daemon has saved one
// yet when the error wraps os.ErrNotExist.
func LoadIgnore(dir string) (Ignore, error) {
	path := filepath.Join(dir, IgnoreFileName)
	data, err := os.ReadFile(path)
	if err != nil {
		return Ignore{}, fmt.Errorf("read ignore list: %w", err)
	}
	var ig Ignore
	if err := json.Unmarshal(data, &ig); err != nil {
		return Ignore{}, fmt.Errorf("read ignore list %s: %w (start xdpban run once to write it again)", path, err)
	}
	return ig, nil
}
