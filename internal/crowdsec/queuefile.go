package crowdsec

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// FileQueue stores the push queue as one JSON file, replaced atomically.
type FileQueue string

// LoadQueue reads the queue; a missing file is an empty queue.
func (f FileQueue) LoadQueue() ([]Push, error) {
	data, err := os.ReadFile(string(f))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read push queue: %w", err)
	}
	var q []Push
	if err := json.Unmarshal(data, &q); err != nil {
		return nil, fmt.Errorf("read push queue %s: %w", f, err)
	}
	return q, nil
}

// SaveQueue writes the queue to a temporary file and renames it over the
// old one, so a crash leaves either queue whole.
func (f FileQueue) SaveQueue(q []Push) error {
	if q == nil {
		q = []Push{}
	}
	data, err := json.Marshal(q)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(string(f)), ".push-queue-*")
	if err != nil {
		return fmt.Errorf("write push queue: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write push queue: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write push queue: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write push queue: %w", err)
	}
	if err := os.Rename(tmp.Name(), string(f)); err != nil {
		return fmt.Errorf("write push queue: %w", err)
	}
	return nil
}
