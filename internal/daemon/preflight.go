package daemon

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/xdpban/xdpban/internal/event"
	"github.com/xdpban/xdpban/internal/listener"
	"github.com/xdpban/xdpban/internal/xdp"
)

// Preflight returns every problem that would stop Run from starting, one
// error each, without starting or changing anything (`xdpban check`). It
// uses the code Run uses: Validate, listener.New (which loads and matches
// certificate, key, CA bundle and CRL), the interface lookup and the
// privilege and bpffs checks of the datapath.
func Preflight(o Options) []error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	add(o.Validate())
	if o.Listener != nil {
		cfg := *o.Listener
		cfg.OnFailure = func(event.Failure) {} // nothing is served
		_, err := listener.New(cfg)
		add(err)
		if _, err := net.ResolveTCPAddr("tcp", o.Listener.ListenAddr); err != nil {
			add(fmt.Errorf("listen %s: %w", o.Listener.ListenAddr, err))
		}
	}
	if o.Metrics != "" {
		if _, err := net.ResolveTCPAddr("tcp", o.Metrics); err != nil {
			add(fmt.Errorf("metrics %s: %w", o.Metrics, err))
		}
	}
	for _, path := range o.WatchLogs {
		add(readable("watch-log", path))
	}
	if o.Fail2banLog != "" && o.Listener != nil {
		add(writableDir("fail2ban-log", filepath.Dir(o.Fail2banLog)))
	}
	add(writableDir("state-dir", o.StateDir))
	add(writableDir("control-socket", filepath.Dir(o.ControlSock)))
	if o.LogOnly {
		return errs
	}
	for _, err := range checkInterfaces(o.Datapath.Interfaces) {
		add(err)
	}
	add(xdp.CheckDaemonPrivileges())
	add(xdp.CheckPinDir(o.Datapath.Config.PinDir))
	return errs
}

// checkInterfaces names each interface XDP is to attach to that does not
// exist.
func checkInterfaces(names []string) []error {
	var errs []error
	for _, name := range names {
		if _, err := net.InterfaceByName(name); err != nil {
			errs = append(errs, fmt.Errorf("--iface %s: interface not found (list them with `ip link`)", name))
		}
	}
	return errs
}

// readable checks that a file can be opened for reading; a file that
// does not exist yet is fine for a log that its writer creates later.
func readable(key, path string) error {
	f, err := os.Open(path)
	switch {
	case err == nil:
		f.Close()
		return nil
	case errors.Is(err, os.ErrNotExist):
		return writableDir(key, filepath.Dir(path)) // waited for, but the directory must be there
	}
	return fmt.Errorf("%s %s: %w", key, path, err)
}

// writableDir checks that dir, or the nearest parent that exists (Run
// creates the rest), is a directory this process may write to.
func writableDir(key, dir string) error {
	probe := dir
	for {
		st, err := os.Stat(probe)
		if err == nil {
			if !st.IsDir() {
				return fmt.Errorf("%s: %s is not a directory", key, probe)
			}
			if err := unix.Access(probe, unix.W_OK|unix.X_OK); err != nil {
				return fmt.Errorf("%s: cannot write in %s: %w", key, probe, err)
			}
			return nil
		}
		if !errors.Is(err, os.ErrNotExist) || probe == filepath.Dir(probe) {
			return fmt.Errorf("%s: %w", key, err)
		}
		probe = filepath.Dir(probe)
	}
}
