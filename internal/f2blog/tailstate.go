package f2blog

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// tailState is where a Tailer stopped in one log, persisted so a restart
// neither reads a line twice nor skips one. The inode says whether the path
// still names the same file, the first line's hash whether that file was
// truncated and refilled (copytruncate) while nobody watched.
type tailState struct {
	Path      string `json:"path"`
	Inode     uint64 `json:"inode"`
	Offset    int64  `json:"offset"`
	FirstHash string `json:"first_line_sha256"`
	// BeforeHash: the bytes just before Offset, which tell a log refilled
	// after a copytruncate from one appended to when its first line is
	// the same again (OS4X's undated lines repeat).
	BeforeHash string `json:"before_offset_sha256,omitempty"`
	// Skipping: the offset is inside a line too long to count.
	Skipping bool `json:"skipping,omitempty"`
	// UndatedFrom: undated lines before this offset were in the file when
	// xdpban first saw it, and never count.
	UndatedFrom int64 `json:"undated_from,omitempty"`
	// Old is a renamed file still being read while its writer writes.
	Old *fileState `json:"old,omitempty"`
}

// fileState is the position in a renamed file.
type fileState struct {
	Inode       uint64 `json:"inode"`
	Offset      int64  `json:"offset"`
	FirstHash   string `json:"first_line_sha256"`
	Skipping    bool   `json:"skipping,omitempty"`
	UndatedFrom int64  `json:"undated_from,omitempty"`
}

// statePath names the state file of log path in dir; the hash keeps names
// short and distinct for any path.
func statePath(dir, logPath string) string {
	abs, err := filepath.Abs(logPath)
	if err != nil {
		abs = logPath
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(dir, "tail-"+hex.EncodeToString(sum[:8])+".json")
}

func loadState(path string) (tailState, bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return tailState{}, false, nil
	}
	if err != nil {
		return tailState{}, false, fmt.Errorf("read tail state: %w", err)
	}
	var s tailState
	if err := json.Unmarshal(data, &s); err != nil {
		// A damaged state file must not stop the source; start over.
		return tailState{}, false, nil
	}
	return s, true, nil
}

// saveState replaces the state file atomically (write, fsync, rename), so a
// crash leaves either the old or the new position, never a torn one.
func saveState(path string, s tailState) error {
	data, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode tail state: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tail-*")
	if err != nil {
		return fmt.Errorf("create tail state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write tail state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync tail state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close tail state: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rename tail state: %w", err)
	}
	return nil
}

// beforeHash hashes the up to 4 KiB of f just before off; "" when off is
// 0 or they cannot be read.
func beforeHash(f *os.File, off int64) string {
	n := min(off, 4096)
	if n <= 0 {
		return ""
	}
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, off-n); err != nil {
		return ""
	}
	return hashLine(buf)
}

func hashLine(line []byte) string {
	if len(line) == 0 {
		return ""
	}
	sum := sha256.Sum256(line)
	return hex.EncodeToString(sum[:])
}
