package listener

import (
	"bytes"
	"slices"
	"testing"
)

func TestRecordWatcherFindsClearAlert(t *testing.T) {
	stream := []byte{
		0x16, 0x03, 0x01, 0x00, 0x03, 1, 2, 3, // handshake record
		0x17, 0x03, 0x03, 0x00, 0x02, 0x02, 0x30, // encrypted, looks alert-sized
		0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x30, // clear alert: fatal unknown_ca
	}
	for _, chunk := range []int{1, 2, 5, len(stream)} {
		var w recordWatcher
		for i := 0; i < len(stream); i += chunk {
			w.feed(stream[i:min(i+chunk, len(stream))])
		}
		if a, ok := w.plaintextAlert(); !ok || a != 48 {
			t.Errorf("chunk %d: %d %v", chunk, a, ok)
		}
	}
	var w recordWatcher
	w.feed(stream[:len(stream)-1]) // alert record incomplete
	if a, ok := w.plaintextAlert(); ok {
		t.Errorf("incomplete alert reported: %d", a)
	}
	w = recordWatcher{}
	w.feed(stream[:15]) // only the encrypted record
	if _, ok := w.plaintextAlert(); ok {
		t.Error("application-data record taken for an alert")
	}
}

func TestStripSNIDot(t *testing.T) {
	hello12 := func(sni string) []byte { return record(0x16, 0x0301, hello(0x0303, sni)) }
	if got, want := stripSNIDot(hello12("localhost.")), hello12("localhost"); !bytes.Equal(got, want) {
		t.Errorf("localhost.:\n got %x\nwant %x", got, want)
	}
	if got, want := stripSNIDot(hello12("gw.example..")), hello12("gw.example"); !bytes.Equal(got, want) {
		t.Errorf("two dots:\n got %x\nwant %x", got, want)
	}
	full := hello12("localhost.")
	for name, rec := range map[string][]byte{
		"no dot":       hello12("localhost"),
		"no sni":       hello12(""),
		"only dots":    hello12(".."),
		"truncated":    full[:len(full)-1],
		"trailing":     append(slices.Clip(full), 0),
		"server hello": record(0x16, 0x0303, append([]byte{2}, hello(0x0303, "localhost.")[1:]...)),
		"alert":        record(0x15, 0x0303, []byte{2, 40}),
	} {
		if got := stripSNIDot(rec); got != nil {
			t.Errorf("%s: rewritten to %x", name, got)
		}
	}
}

// FuzzStripSNIDot: any bytes are safe, and a rewritten record is the same
// record shorter by the dots, and has none left to remove.
func FuzzStripSNIDot(f *testing.F) {
	f.Add(record(0x16, 0x0301, hello(0x0303, "localhost.")))
	f.Add(record(0x16, 0x0301, hello(0x0303, "a.")))
	f.Add(record(0x16, 0x0301, hello(0x0303, "")))
	f.Fuzz(func(t *testing.T, rec []byte) {
		out := stripSNIDot(rec)
		if out == nil {
			return
		}
		if len(out) >= len(rec) || !bytes.Equal(out[:3], rec[:3]) || int(out[3])<<8|int(out[4]) != len(out)-5 {
			t.Fatalf("%x rewritten to %x", rec, out)
		}
		if again := stripSNIDot(out); again != nil {
			t.Fatalf("%x rewritten to %x, which still has a dot to remove", rec, out)
		}
	})
}

// TestTrailingDotPartnerIsAKnownDifference: OpenSSL serves a partner whose
// client sends "localhost." as server name; crypto/tls cannot (the hello
// it reads lacks the dot, so the transcripts differ) and xdpban logs the
// failed CertificateVerify. The README lists this difference.
func TestTrailingDotPartnerIsAKnownDifference(t *testing.T) {
	p := newPKI(t)
	partnerCert, partnerKey := writePair(t, p.dir, "partner", p.partner)
	run := sClientArgs("-servername", "localhost.", "-cert", partnerCert, "-key", partnerKey)
	s := startSServer(t, p)
	run(t, p, s.addr)
	if code, reason := s.code(t); code != 0 {
		t.Errorf("OpenSSL refused the partner: %d %s", code, reason)
	}
	r := startRig(t, p, nil)
	run(t, p, r.addr)
	expectOne(t, r, CodeBadSignature)
}
