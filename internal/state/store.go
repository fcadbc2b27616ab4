package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/xdpban/xdpban/internal/jail"
)

// FileName is the store's file inside the state directory.
const FileName = "state.db"

// lockTimeout is how long Open waits for another process's lock: a
// running daemon holds it for good, so waiting longer only delays the
// error.
const lockTimeout = time.Second

var (
	bucketBans    = []byte("bans")
	bucketHistory = []byte("history")
)

// ErrLocked means another process, normally the daemon, has the store open.
var ErrLocked = errors.New("state store is in use by a running xdpban daemon")

// Store is the bbolt file holding active bans and ban history. It is safe
// for concurrent use.
type Store struct {
	db      *bolt.DB
	imports groupCommit

	mu sync.Mutex
	// opened are the bans Open read through, kept for the first
	// ActiveBans when the store was opened with OpenKeepingBans; they
	// stand for the bucket as long as no transaction committed after
	// the one of openedTx.
	opened   []jail.Ban
	openedTx int
}

// Warning reports that the store file could not be read and was replaced
// by an empty one. The daemon logs it and carries on.
type Warning struct {
	Path    string // the store file, now fresh
	MovedTo string // where the unreadable file went
	Cause   error  // why it was unreadable
}

func (w *Warning) String() string {
	return fmt.Sprintf("state store %s was unreadable (%v): moved to %s, starting with an empty store", w.Path, w.Cause, w.MovedTo)
}

// Open opens or creates the store in dir. When the file is corrupt it is
// moved aside, a fresh store is returned with a non-nil Warning, and err
// stays nil. ErrLocked means a daemon already has it open.
func Open(dir string) (*Store, *Warning, error) { return open(dir, false) }

// OpenKeepingBans is Open for a start that reads every ban next: Open
// decodes every record to check the file, and the bans it decoded serve
// the first ActiveBans unless something was written in between, so a
// million bans are read once, not twice.
func OpenKeepingBans(dir string) (*Store, *Warning, error) { return open(dir, true) }

func open(dir string, keep bool) (*Store, *Warning, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("open state store: %w", err)
	}
	path := filepath.Join(dir, FileName)
	s, cause, err := openChecked(path, keep)
	if err != nil || cause == nil {
		return s, nil, err
	}
	moved := fmt.Sprintf("%s.corrupt-%s", path, time.Now().UTC().Format("20060102T150405.000000000Z"))
	if err := os.Rename(path, moved); err != nil {
		return nil, nil, fmt.Errorf("move corrupt state store aside (%v): %w", cause, err)
	}
	s, cause2, err := openChecked(path, keep)
	if err != nil {
		return nil, nil, err
	}
	if cause2 != nil {
		s.Close()
		return nil, nil, fmt.Errorf("open fresh state store %s: %w", path, cause2)
	}
	return s, &Warning{Path: path, MovedTo: moved, Cause: cause}, nil
}

// openChecked opens path and reads it through. A file that cannot be
// read comes back as cause, with no store and no error, for Open to move
// aside; err is for failures that moving the file would not cure.
func openChecked(path string, keep bool) (s *Store, cause, err error) {
	db, err := openBolt(path)
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, nil, fmt.Errorf("open state store %s: %w", path, ErrLocked)
	case errors.Is(err, fs.ErrPermission), errors.Is(err, fs.ErrNotExist):
		return nil, nil, fmt.Errorf("open state store: %w", err)
	case err != nil:
		return nil, err, nil
	}
	s = &Store{db: db}
	if cause := s.verify(keep); cause != nil {
		db.Close()
		return nil, cause, nil
	}
	return s, nil, nil
}

// openBolt is bolt.Open with its panics on a damaged freelist or meta
// page turned into an error. After such a panic bbolt leaves the file
// descriptor open; it stays with the renamed, corrupt file until exit.
func openBolt(path string) (db *bolt.DB, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("damaged file: %v", r)
		}
	}()
	return bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
}

// verify creates the buckets and decodes every record, turning bbolt's
// panics on damaged pages (and faults on a short mmap) into an error.
// keep keeps the decoded bans for ActiveBans.
func (s *Store) verify(keep bool) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("damaged file: %v", r)
		}
	}()
	return s.db.Update(func(tx *bolt.Tx) error {
		bans, err := tx.CreateBucketIfNotExists(bucketBans)
		if err != nil {
			return err
		}
		hist, err := tx.CreateBucketIfNotExists(bucketHistory)
		if err != nil {
			return err
		}
		var kept []jail.Ban
		if keep {
			kept = make([]jail.Ban, 0, bans.Stats().KeyN)
		}
		if err := bans.ForEach(func(k, v []byte) error {
			b, err := decodeBan(k, v)
			if keep {
				kept = append(kept, b)
			}
			return err
		}); err != nil {
			return err
		}
		if keep {
			s.opened, s.openedTx = kept, tx.ID()
		}
		return hist.ForEach(func(k, v []byte) error {
			if _, err := parseKey(k); err != nil {
				return err
			}
			_, err := decodeTimes(v)
			return err
		})
	})
}

// Close releases the file and its lock.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close state store: %w", err)
	}
	return nil
}
