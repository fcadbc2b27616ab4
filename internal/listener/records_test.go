package listener

import "testing"

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
