package bench

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xdpban/xdpban/internal/event"
	"github.com/xdpban/xdpban/internal/lab"
	"github.com/xdpban/xdpban/internal/listener"
)

const groupListener = "5. listener under attack (loopback)"

// Listener measures the first half of figure 5: how many failing
// handshakes per second the listener absorbs on loopback, clients without
// a certificate running on the same two CPUs.
func Listener(ctx context.Context, r *Report) error {
	dir, err := os.MkdirTemp("", "xdpbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	pki, err := lab.NewPKI(dir, net.IPv4(127, 0, 0, 1))
	if err != nil {
		return err
	}
	var failures atomic.Int64
	l, err := listener.New(listener.Config{
		CertFile: pki.CertFile, KeyFile: pki.KeyFile, ClientCAFile: pki.CAFile,
		BackendAddr: "127.0.0.1:9", // never reached: no handshake succeeds
		// Every client comes from 127.0.0.1: lift the per-source limit so
		// the figure counts handshakes, not limit refusals.
		MaxHandshakesPerSource: 1024,
		OnFailure:              func(event.Failure) { failures.Add(1) },
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go l.Serve(ln)
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		l.Shutdown(sctx)
	}()

	const clients, dur = 16, 3 * time.Second
	addr := ln.Addr().String()
	cfg := &tls.Config{InsecureSkipVerify: true} // no client certificate: the attacker
	deadline := time.Now().Add(dur)
	var wg sync.WaitGroup
	var attempts atomic.Int64
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				attempts.Add(1)
				c, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", addr, cfg)
				if err != nil {
					continue
				}
				// TLS 1.3: the server's verdict on the missing certificate
				// comes after the client finished; wait for it.
				c.SetReadDeadline(time.Now().Add(time.Second))
				c.Read(make([]byte, 1))
				c.Close()
			}
		})
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	time.Sleep(200 * time.Millisecond) // the last failures are reported after close
	n := float64(failures.Load())
	r.Add(Figure{Group: groupListener, Name: "failing handshakes absorbed (no client cert, 16 clients)", Value: n / el, Unit: "handshakes/s"})
	r.Note("listener: TLS clients and listener share the machine's CPUs on loopback, so the figure is a lower bound; %d attempts, %d failures reported in %.1f s", attempts.Load(), int64(n), el)
	return nil
}
