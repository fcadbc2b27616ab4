package bench

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
)

const groupPartner = "5. partner under a SYN flood (namespaces, xdpban run)"

const (
	floodSources     = 1000 // flooding addresses 198.19.0.1 ..
	partnerHandshake = 200  // handshakes per condition
	partnerFloodMax  = 30 * time.Second
)

// floodSource is the i-th flooding address.
func floodSource(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{198, 19, byte((1 + i) >> 8), byte(1 + i)})
}

// PartnerUnderFlood measures the second half of figure 5: a partner's
// connect + mTLS handshake + one echoed line through `xdpban run`, with no
// flood, while 1,000 banned addresses flood SYNs to 6619 (dropped at XDP),
// and while the same 1,000 addresses flood unbanned (SYNs reach TCP).
func PartnerUnderFlood(ctx context.Context, r *Report) error {
	kit, err := newLabKit(ctx, r, "partner")
	if err != nil {
		return err
	}
	defer kit.remove()
	tx, err := floodTXProgram(floodSources)
	if err != nil {
		return err
	}
	defer tx.Close()

	conds := []struct {
		name   string
		flood  bool
		banned bool
		rate   float64 // offered pkt/s; 0 = as fast as the generator goes
	}{
		{"no flood", false, false, 0},
		{"1 Mpps from 1,000 banned sources (dropped at XDP)", true, true, 1e6},
		{"1 Mpps from 1,000 unbanned sources (reach TCP)", true, false, 1e6},
		{"max-rate flood, 1,000 banned sources", true, true, 0},
		{"max-rate flood, 1,000 unbanned sources", true, false, 0},
	}
	medians := map[string]float64{}
	for _, c := range conds {
		lat, failed, pps, err := partnerOnce(ctx, kit, tx, c.flood, c.banned, c.rate)
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		med, p99 := median(lat), percentile(lat, 99)
		medians[c.name] = med
		r.Add(Figure{Group: groupPartner, Name: c.name + ": median", Value: med, Unit: "ns"})
		r.Add(Figure{Group: groupPartner, Name: c.name + ": p99", Value: p99, Unit: "ns"})
		if c.flood {
			r.Add(Figure{Group: groupPartner, Name: c.name + ": flood offered", Value: pps, Unit: "pkt/s"})
		}
		if failed > 0 {
			r.Note("partner: %s: %d of %d handshakes failed or timed out (3 s)", c.name, failed, partnerHandshake)
		}
	}
	for _, k := range [][2]int{{2, 1}, {4, 3}} {
		un, ba := conds[k[0]].name, conds[k[1]].name
		r.Ratio(groupPartner, "partner median: "+un+" / banned", Input{un + ": median", medians[un], "ns"}, Input{ba + ": median", medians[ba], "ns"}, "")
	}
	r.Note("partner: %d sequential partner sessions per condition from 198.18.0.2 (connect, mTLS handshake with a client certificate, one line echoed by a backend behind `xdpban run`), fresh namespaces and daemon per condition", partnerHandshake)
	r.Note("partner: the flood is the in-kernel XDP_TX generator on the attacker's veth, pinned to CPU %d, each frame from one of %d sources 198.19.0.1.. (picked at random per frame, checksums kept valid), either paced (rate/200 frames every 5 ms) or flat out; it runs while the partner connects, at most %s; a flat-out flood fills the veth's one receive ring, so partner packets are lost there whatever drops the flood (p99 ≈ a 1 s SYN retransmission)", floodCPU, floodSources, partnerFloodMax)
	return nil
}

// partnerOnce runs one condition in a fresh lab and daemon; it returns the
// partner's session latencies (ns), failures and the flood's offered rate.
func partnerOnce(ctx context.Context, kit *labKit, tx *ebpf.Program, flood, banned bool, rate float64) ([]float64, int, float64, error) {
	p, err := newLab(ctx, 0)
	if err != nil {
		return nil, 0, 0, err
	}
	defer p.Close()
	runDir, err := os.MkdirTemp(kit.dir, "run-")
	if err != nil {
		return nil, 0, 0, err
	}
	echo, err := echoBackend(p.S)
	if err != nil {
		return nil, 0, 0, err
	}
	defer echo.Close()
	d, err := startDaemon(ctx, kit.bin, runDir, p, kit.pki, echo.Addr().String(), "--iface", p.SIf, "--xdp-mode", "native")
	if err != nil {
		return nil, 0, 0, err
	}
	defer d.stop()
	if banned {
		bans, err := openBans(d.pinDir)
		if err != nil {
			return nil, 0, 0, err
		}
		addrs := make([]netip.Addr, floodSources)
		for i := range addrs {
			addrs[i] = floodSource(i)
		}
		err = banAddrs(bans, addrs)
		bans.Close()
		if err != nil {
			return nil, 0, 0, fmt.Errorf("ban flood sources: %w", err)
		}
	}

	var stop atomic.Bool
	floodDone := make(chan error, 1)
	var sent uint64
	var floodTime time.Duration
	if flood {
		go func() {
			start := time.Now()
			var err error
			sent, err = generateUntil(ctx, tx, p, &stop, rate)
			floodTime = time.Since(start)
			floodDone <- err
		}()
		time.Sleep(200 * time.Millisecond) // let the flood reach its rate
	} else {
		floodDone <- nil
	}
	var lat []float64
	failed := 0
	err = inNS(p.A, func() error {
		for range partnerHandshake {
			if ctx.Err() != nil || stop.Load() {
				return ctx.Err()
			}
			start := time.Now()
			if err := partnerSession(kit.partner); err != nil {
				failed++
				continue
			}
			lat = append(lat, float64(time.Since(start).Nanoseconds()))
		}
		return nil
	})
	stop.Store(true)
	if ferr := <-floodDone; ferr != nil && err == nil {
		err = ferr
	}
	if err != nil {
		return nil, 0, 0, err
	}
	if len(lat) == 0 {
		return nil, failed, 0, fmt.Errorf("no partner session succeeded (daemon: %s)", d.stderr.String())
	}
	pps := 0.0
	if floodTime > 0 {
		pps = float64(sent) / floodTime.Seconds()
	}
	return lat, failed, pps, nil
}

// partnerSession connects as the partner, completes the mTLS handshake
// and has one line echoed, so the server has verified the certificate.
func partnerSession(cfg *tls.Config) error {
	dl := net.Dialer{Timeout: 3 * time.Second, LocalAddr: &net.TCPAddr{IP: labPartner.AsSlice()}}
	c, err := dl.Dial("tcp", netip.AddrPortFrom(labServer, labPort).String())
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	tc := tls.Client(c, cfg)
	if _, err := tc.Write([]byte("partner\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(tc).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "partner\n" {
		return fmt.Errorf("echo: %q", line)
	}
	return nil
}

// generateUntil floods from the attacker's veth until stop is set or
// partnerFloodMax has passed; it returns the frames sent. With rate > 0 it
// sends rate/200 frames every 5 ms, else runs flat out in runs of ~50 ms.
func generateUntil(ctx context.Context, tx *ebpf.Program, p *pair, stop *atomic.Bool, rate float64) (uint64, error) {
	start := time.Now()
	defer stop.Store(true)
	return runGenerator(ctx, tx, p, floodFrame(p), func(n uint32, took time.Duration) uint32 {
		switch {
		case stop.Load() || time.Since(start) >= partnerFloodMax:
			return 0
		case rate > 0:
			time.Sleep(5*time.Millisecond - took)
			return uint32(rate / 200)
		}
		return runSize(n, took, 50*time.Millisecond)
	})
}
