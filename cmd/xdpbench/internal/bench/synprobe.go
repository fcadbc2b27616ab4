package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// The ban latency figure times events of microseconds from a thread locked
// in the attacker's namespace. Go's netpoller would add the time it takes
// to hand a woken goroutine back to that locked thread (a futex wake-up of
// another thread, on two vCPUs often the bulk of a probe), so the attacker
// uses the sockets below: non-blocking, waited on with ppoll(2) by the
// thread itself, which the kernel wakes directly when the packet is in.

// waitFD waits until fd is ready for events or deadline passes (zero: no
// deadline); it reports a timeout as errTimeout.
func waitFD(fd int, events int16, deadline time.Time) error {
	for {
		var ts *unix.Timespec
		if !deadline.IsZero() {
			left := time.Until(deadline)
			if left <= 0 {
				return errTimeout
			}
			t := unix.NsecToTimespec(left.Nanoseconds())
			ts = &t
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: events}}
		n, err := unix.Ppoll(fds, ts, nil)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return err
		case n > 0:
			return nil
		}
	}
}

// errTimeout is a deadline that passed; it satisfies net.Error.
var errTimeout error = timeoutError{}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }
func (timeoutError) Unwrap() error   { return os.ErrDeadlineExceeded }

// pollConn is a TCP connection whose reads and writes wait in ppoll on
// the calling thread. Deadlines are kept here; it is for one goroutine.
type pollConn struct {
	fd           int
	laddr, raddr net.Addr
	rdl, wdl     time.Time
	closed       bool
}

// dialPoll connects from src to dst within timeout. It must run on a
// thread in the namespace the socket belongs to.
func dialPoll(src netip.Addr, dst netip.AddrPort, timeout time.Duration) (*pollConn, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	c := &pollConn{fd: fd, laddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0)), raddr: net.TCPAddrFromAddrPort(dst)}
	if err := c.connect(src, dst, time.Now().Add(timeout)); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return c, nil
}

func (c *pollConn) connect(src netip.Addr, dst netip.AddrPort, deadline time.Time) error {
	if err := unix.Bind(c.fd, &unix.SockaddrInet4{Addr: src.As4()}); err != nil {
		return fmt.Errorf("bind %s: %w", src, err)
	}
	err := unix.Connect(c.fd, &unix.SockaddrInet4{Addr: dst.Addr().As4(), Port: int(dst.Port())})
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EINPROGRESS) && !errors.Is(err, unix.EINTR) {
		return fmt.Errorf("connect %s: %w", dst, err)
	}
	if err := waitFD(c.fd, unix.POLLOUT, deadline); err != nil {
		return fmt.Errorf("connect %s: %w", dst, err)
	}
	soerr, err := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err == nil && soerr != 0 {
		err = unix.Errno(soerr)
	}
	if err != nil {
		return fmt.Errorf("connect %s: %w", dst, err)
	}
	return nil
}

func (c *pollConn) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for {
		n, err := unix.Read(c.fd, b)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			if err := waitFD(c.fd, unix.POLLIN, c.rdl); err != nil {
				return 0, err
			}
			continue
		case err != nil:
			return 0, err
		case n == 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func (c *pollConn) Write(b []byte) (int, error) {
	done := 0
	for done < len(b) {
		n, err := unix.Write(c.fd, b[done:])
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			if err := waitFD(c.fd, unix.POLLOUT, c.wdl); err != nil {
				return done, err
			}
			continue
		case err != nil:
			return done, err
		}
		done += n
	}
	return done, nil
}

func (c *pollConn) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	return unix.Close(c.fd)
}

func (c *pollConn) LocalAddr() net.Addr                { return c.laddr }
func (c *pollConn) RemoteAddr() net.Addr               { return c.raddr }
func (c *pollConn) SetDeadline(t time.Time) error      { c.rdl, c.wdl = t, t; return nil }
func (c *pollConn) SetReadDeadline(t time.Time) error  { c.rdl = t; return nil }
func (c *pollConn) SetWriteDeadline(t time.Time) error { c.wdl = t; return nil }

// synProber sends bare TCP SYNs from one address to the lab server's port
// through a raw socket and waits for the SYN-ACK. The server's kernel
// answers without the daemon seeing anything (nothing completes the
// handshake: the attacker's kernel resets it, having no socket of its
// own), so probing does not load the daemon whose latency it measures,
// as back-to-back full connects did: each was one more connection for
// the daemon to accept and read on the same two CPUs.
type synProber struct {
	fd    int
	src   netip.Addr
	dst   netip.AddrPort
	port  uint16 // source port of the last probe; each probe takes a new one
	buf   []byte
	pkt   [20]byte
	pseud [12]byte
}

// Probes take source ports below the kernel's ephemeral range (32768 up),
// so no socket of the attacker's own shares their connection.
const (
	probePortLo = 10000
	probePorts  = 20000
)

// newSYNProber opens the raw socket; it must run on a thread in the
// attacker's namespace. Close releases it.
func newSYNProber(src netip.Addr, dst netip.AddrPort) (*synProber, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return nil, fmt.Errorf("raw socket: %w", err)
	}
	// Bound, the socket sees only packets to src; filtered, only those
	// from dst's port to a probe port, so the attacker's own handshakes
	// queue nothing on it.
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: src.As4()}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind raw socket to %s: %w", src, err)
	}
	if err := attachProbeFilter(fd, dst.Port()); err != nil {
		unix.Close(fd)
		return nil, err
	}
	p := &synProber{fd: fd, src: src, dst: dst, port: probePortLo + uint16(rand.IntN(probePorts)), buf: make([]byte, 1500)}
	copy(p.pseud[0:4], src.AsSlice())
	copy(p.pseud[4:8], dst.Addr().AsSlice())
	p.pseud[9] = unix.IPPROTO_TCP
	binary.BigEndian.PutUint16(p.pseud[10:], uint16(len(p.pkt)))
	return p, nil
}

func (p *synProber) Close() error { return unix.Close(p.fd) }

// attachProbeFilter lets through only TCP segments from port to a probe
// port; a raw socket reads IPv4 packets from the IP header on.
func attachProbeFilter(fd int, port uint16) error {
	drop := func(from, to int) uint8 { return uint8(to - from - 1) }
	prog := []unix.SockFilter{
		0: {Code: unix.BPF_LDX | unix.BPF_B | unix.BPF_MSH, K: 0}, // X = IP header length
		1: {Code: unix.BPF_LD | unix.BPF_H | unix.BPF_IND, K: 0},  // source port
		2: {Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: uint32(port), Jf: drop(2, 7)},
		3: {Code: unix.BPF_LD | unix.BPF_H | unix.BPF_IND, K: 2}, // destination port
		4: {Code: unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K, K: probePortLo, Jf: drop(4, 7)},
		5: {Code: unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K, K: probePortLo + probePorts, Jt: drop(5, 7)},
		6: {Code: unix.BPF_RET | unix.BPF_K, K: 0xffff},
		7: {Code: unix.BPF_RET | unix.BPF_K, K: 0},
	}
	f := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &f); err != nil {
		return fmt.Errorf("filter raw socket: %w", err)
	}
	return nil
}

// answered sends one SYN and reports whether the server answered it
// (SYN-ACK, or a reset) within timeout.
func (p *synProber) answered(timeout time.Duration) (bool, error) {
	// A new source port and sequence number per probe: a late answer to
	// an earlier probe cannot pass for this one.
	p.port = probePortLo + (p.port-probePortLo+1)%probePorts
	seq := rand.Uint32()
	h := p.pkt[:]
	clear(h)
	binary.BigEndian.PutUint16(h[0:], p.port)
	binary.BigEndian.PutUint16(h[2:], p.dst.Port())
	binary.BigEndian.PutUint32(h[4:], seq)
	h[12] = 5 << 4 // data offset: 5 words, no options
	h[13] = 0x02   // SYN
	binary.BigEndian.PutUint16(h[14:], 64240)
	binary.BigEndian.PutUint16(h[16:], tcpChecksum(p.pseud[:], h))
	// Drain what earlier probes left (the server's retransmitted
	// SYN-ACKs), so the wait below starts on an empty queue.
	for {
		if _, _, err := unix.Recvfrom(p.fd, p.buf, 0); err != nil {
			break
		}
	}
	to := &unix.SockaddrInet4{Addr: p.dst.Addr().As4()}
	for {
		err := unix.Sendto(p.fd, h, 0, to)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("send SYN: %w", err)
		}
		break
	}
	deadline := time.Now().Add(timeout)
	for {
		n, _, err := unix.Recvfrom(p.fd, p.buf, 0)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			if err := waitFD(p.fd, unix.POLLIN, deadline); errors.Is(err, errTimeout) {
				return false, nil
			} else if err != nil {
				return false, err
			}
			continue
		case err != nil:
			return false, fmt.Errorf("receive: %w", err)
		}
		if p.isAnswer(p.buf[:n], seq) {
			return true, nil
		}
	}
}

// isAnswer reports whether pkt (an IPv4 packet as a raw socket reads it)
// answers the SYN with sequence number seq.
func (p *synProber) isAnswer(pkt []byte, seq uint32) bool {
	if len(pkt) < 20 || pkt[0]>>4 != 4 {
		return false
	}
	ihl := int(pkt[0]&0x0f) * 4
	if len(pkt) < ihl+20 || pkt[9] != unix.IPPROTO_TCP || netip.AddrFrom4([4]byte(pkt[12:16])) != p.dst.Addr() {
		return false
	}
	t := pkt[ihl:]
	flags := t[13]
	return binary.BigEndian.Uint16(t[0:]) == p.dst.Port() && binary.BigEndian.Uint16(t[2:]) == p.port &&
		flags&0x10 != 0 && flags&0x06 != 0 && // ACK with SYN or RST
		binary.BigEndian.Uint32(t[8:]) == seq+1
}

// tcpChecksum is the Internet checksum of the pseudo-header and segment
// (whose checksum field is zero).
func tcpChecksum(pseudo, seg []byte) uint16 {
	var sum uint32
	for _, b := range [][]byte{pseudo, seg} {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(b[i:]))
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
