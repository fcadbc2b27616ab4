package bench

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"golang.org/x/sys/unix"
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
	dir, err := os.MkdirTemp("", "xdpbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	r.Progress("partner: building xdpban")
	bin, err := buildXdpban(ctx, dir)
	if err != nil {
		return err
	}
	pki, err := writePKI(dir, labServer.AsSlice())
	if err != nil {
		return err
	}
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
		lat, failed, pps, err := partnerOnce(ctx, bin, dir, pki, tx, c.flood, c.banned, c.rate)
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		med, p99 := median(append([]float64(nil), lat...)), percentile(lat, 99)
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
func partnerOnce(ctx context.Context, bin, dir string, pki labPKI, tx *ebpf.Program, flood, banned bool, rate float64) ([]float64, int, float64, error) {
	p, err := newLab(ctx, 0)
	if err != nil {
		return nil, 0, 0, err
	}
	defer p.Close()
	runDir, err := os.MkdirTemp(dir, "run-")
	if err != nil {
		return nil, 0, 0, err
	}
	echo, err := echoBackend(p.S)
	if err != nil {
		return nil, 0, 0, err
	}
	defer echo.Close()
	d, err := startDaemon(ctx, bin, runDir, p, pki, echo.Addr().String(), "--iface", p.SIf, "--xdp-mode", "native")
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
			if err := partnerSession(pki.partner); err != nil {
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

// generateUntil floods from the attacker's veth, pinned to floodCPU, until
// stop is set or partnerFloodMax has passed; it returns the frames sent.
// With rate > 0 it sends rate/200 frames every 5 ms, else runs flat out.
func generateUntil(ctx context.Context, tx *ebpf.Program, p *pair, stop *atomic.Bool, rate float64) (uint64, error) {
	frame := floodFrame(p)
	var sent uint64
	err := inNS(p.A, func() error {
		var set unix.CPUSet
		set.Set(floodCPU)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			return fmt.Errorf("pin generator to CPU %d: %w", floodCPU, err)
		}
		chunk := uint32(4096)
		start := time.Now()
		for !stop.Load() && time.Since(start) < partnerFloodMax && ctx.Err() == nil {
			t := time.Now()
			if _, err := tx.Run(&ebpf.RunOptions{
				Data:      frame,
				Context:   xdpMD{DataEnd: uint32(len(frame)), IngressIfindex: uint32(p.AIdx)},
				Repeat:    chunk,
				Flags:     unix.BPF_F_TEST_XDP_LIVE_FRAMES,
				BatchSize: 64,
			}); err != nil {
				return fmt.Errorf("generate: %w", err)
			}
			sent += uint64(chunk)
			if rate > 0 {
				chunk = uint32(rate / 200)
				time.Sleep(time.Until(t.Add(5 * time.Millisecond)))
				continue
			}
			got := float64(chunk) / time.Since(t).Seconds()
			chunk = uint32(min(max(got/20, 1024), 1<<24)) // about 50 ms a run
		}
		stop.Store(true)
		return nil
	})
	return sent, err
}

// Offsets in the flood frame (Ethernet, IPv4 without options, TCP).
const (
	offIPID    = 14 + 4
	offSrcLow  = 14 + 12 + 2
	offSrcPort = 14 + 20
	floodIDMax = 60000
	floodSport = 60000
)

// floodFrame is a SYN from floodSource(0) with IP ID floodIDMax and source
// port floodSport. The generator adds i to the low half of the source
// address and subtracts i from the IP ID and the source port: the sums the
// IP and TCP checksums cover stay the same, so the frame stays valid.
func floodFrame(p *pair) []byte {
	b := synFrame(p.AMAC, p.SMAC, floodSource(0), labServer, floodSport, labPort)
	binary.BigEndian.PutUint16(b[offIPID:], floodIDMax)
	binary.BigEndian.PutUint16(b[24:], 0)
	binary.BigEndian.PutUint16(b[24:], checksum(b[14:34], 0))
	return b
}

// floodTXProgram returns an XDP program that rewrites each frame to come
// from one of n sources picked at random (see floodFrame) and sends it
// out (XDP_TX). It writes absolute values, so a recycled page that still
// holds an earlier frame's fields is rewritten correctly.
func floodTXProgram(n int) (*ebpf.Program, error) {
	low := int32(binary.BigEndian.Uint16(floodSource(0).AsSlice()[2:]))
	ins := asm.Instructions{
		asm.Mov.Reg(asm.R7, asm.R1),
		asm.FnGetPrandomU32.Call(),
		asm.Mov.Reg(asm.R6, asm.R0),
		asm.Mod.Imm(asm.R6, int32(n)),            // i
		asm.LoadMem(asm.R2, asm.R7, 0, asm.Word), // data
		asm.LoadMem(asm.R3, asm.R7, 4, asm.Word), // data_end
		asm.Mov.Reg(asm.R4, asm.R2),
		asm.Add.Imm(asm.R4, 54),
		asm.JGT.Reg(asm.R4, asm.R3, "out"), // the verifier needs the bound
		// source address, low half: low + i
		asm.Mov.Reg(asm.R5, asm.R6),
		asm.Add.Imm(asm.R5, low),
		asm.HostTo(asm.BE, asm.R5, asm.Half),
		asm.StoreMem(asm.R2, offSrcLow, asm.R5, asm.Half),
		// IP ID: floodIDMax - i
		asm.Mov.Imm(asm.R5, floodIDMax),
		asm.Sub.Reg(asm.R5, asm.R6),
		asm.HostTo(asm.BE, asm.R5, asm.Half),
		asm.StoreMem(asm.R2, offIPID, asm.R5, asm.Half),
		// TCP source port: floodSport - i
		asm.Mov.Imm(asm.R5, floodSport),
		asm.Sub.Reg(asm.R5, asm.R6),
		asm.HostTo(asm.BE, asm.R5, asm.Half),
		asm.StoreMem(asm.R2, offSrcPort, asm.R5, asm.Half),
		asm.Mov.Imm(asm.R0, xdpTX).WithSymbol("out"),
		asm.Return(),
	}
	p, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: "bench_flood_tx", Type: ebpf.XDP, Instructions: ins, License: "Dual BSD/GPL"})
	if err != nil {
		return nil, fmt.Errorf("load flood generator: %w", err)
	}
	return p, nil
}
