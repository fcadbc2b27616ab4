package bench

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The handshake flood's attacker runs as a process of its own (this
// binary again, selected by helperEnv), pinned to the attacker's CPU at
// SCHED_IDLE: the partner's client shares that CPU and must not queue
// behind it, or the figure would measure the bench instead of xdpban.
const helperEnv = "XDPBENCH_HANDSHAKE_ATTACKER"

// attackSources is how many flood source addresses there are,
// 198.19.0.1 to 198.19.254.255; 198.19.255.x are first-contact partners.
const attackSources = 254*256 - 1

// attackStats is what the attacker process reports on exit.
type attackStats struct {
	Failed  int64   // handshakes the server signed for, then lost (EOF)
	Refused int64   // closed by the server before it signed
	Errors  int64   // connect errors and timeouts
	Seconds float64 // how long it ran
}

// RunHelper runs this process as the handshake flood's attacker when it
// was started as one, and reports whether it was.
func RunHelper() bool {
	spec := os.Getenv(helperEnv)
	if spec == "" {
		return false
	}
	inFlight, err := strconv.Atoi(spec)
	if err != nil {
		fmt.Fprintln(os.Stderr, "xdpbench attacker:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	st := attack(ctx, inFlight)
	json.NewEncoder(os.Stdout).Encode(st)
	return true
}

// attack keeps inFlight failing handshakes going until ctx ends. Each
// replays one recorded TLS 1.3 ClientHello (X25519), waits for the
// server's flight (so the server did its key exchange and signature),
// then hangs up: the server counts an EOF. The attacker pays no crypto of
// its own, as a real one would not, so one CPU keeps the server's busy.
// Each source address is used at most twice, so the jail (maxretry 3)
// never bans it.
func attack(ctx context.Context, inFlight int) attackStats {
	var st attackStats
	hello, err := recordClientHello()
	if err != nil {
		fmt.Fprintln(os.Stderr, "xdpbench attacker:", err)
		return st
	}
	var next atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for range inFlight {
		wg.Go(func() {
			buf := make([]byte, 1)
			for ctx.Err() == nil {
				i := int(next.Add(1)/2) % attackSources
				src := netip.AddrFrom4([4]byte{198, 19, byte((i + 1) >> 8), byte(i + 1)})
				d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: src.AsSlice()}}
				c, err := d.DialContext(ctx, "tcp", netip.AddrPortFrom(labServer, labPort).String())
				if err != nil {
					if ctx.Err() == nil {
						atomic.AddInt64(&st.Errors, 1)
					}
					continue
				}
				c.SetDeadline(time.Now().Add(15 * time.Second))
				_, err = c.Write(hello)
				if err == nil {
					_, err = io.ReadFull(c, buf)
				}
				switch {
				case err == nil && buf[0] == 0x16: // the server's handshake flight
					atomic.AddInt64(&st.Failed, 1)
				case ctx.Err() == nil:
					atomic.AddInt64(&st.Refused, 1) // an alert or a close
				}
				c.Close()
			}
		})
	}
	<-ctx.Done()
	wg.Wait()
	st.Seconds = time.Since(start).Seconds()
	return st
}

// recordClientHello returns the bytes of a TLS 1.3 ClientHello as Go's
// client sends it, offering only X25519.
func recordClientHello() ([]byte, error) {
	cli, srv := net.Pipe()
	defer srv.Close()
	go func() {
		tls.Client(cli, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13, CurvePreferences: []tls.CurveID{tls.X25519}}).Handshake()
		cli.Close()
	}()
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(srv, hdr); err != nil {
		return nil, fmt.Errorf("record a ClientHello: %w", err)
	}
	body := make([]byte, int(hdr[3])<<8|int(hdr[4]))
	if _, err := io.ReadFull(srv, body); err != nil {
		return nil, fmt.Errorf("record a ClientHello: %w", err)
	}
	return append(hdr, body...), nil
}

// attacker is a running attacker process.
type attacker struct {
	cmd  *exec.Cmd
	out  []byte
	done chan error
}

// startAttacker starts inFlight failing handshakes from namespace ns,
// pinned to cpu (a taskset list; "" anywhere) at SCHED_IDLE.
func startAttacker(ns, cpu string, inFlight int) (*attacker, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"chrt", "--idle", "0", "nsenter", "--net=/run/netns/" + ns, "--", self}
	if cpu != "" {
		args = append([]string{"taskset", "--cpu-list", cpu}, args...)
	}
	a := &attacker{cmd: exec.Command(args[0], args[1:]...), done: make(chan error, 1)}
	a.cmd.Env = append(os.Environ(), helperEnv+"="+strconv.Itoa(inFlight))
	a.cmd.Stderr = os.Stderr
	out, err := a.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := a.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start attacker: %w", err)
	}
	go func() {
		var buf []byte
		b := make([]byte, 4096)
		for {
			n, err := out.Read(b)
			buf = append(buf, b[:n]...)
			if err != nil {
				break
			}
		}
		a.out = buf
		a.done <- a.cmd.Wait()
	}()
	return a, nil
}

// stop ends the attacker by its PID and returns its figures.
func (a *attacker) stop() (attackStats, error) {
	a.cmd.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case err = <-a.done:
	case <-time.After(30 * time.Second):
		a.cmd.Process.Kill()
		<-a.done
		return attackStats{}, fmt.Errorf("attacker did not stop")
	}
	var st attackStats
	if jerr := json.Unmarshal(a.out, &st); jerr != nil {
		return st, fmt.Errorf("attacker report %q: %v (exit %v)", a.out, jerr, err)
	}
	return st, nil
}
