package main

import (
	"strings"
	"testing"
	"time"

	"github.com/lprd/lprd/uplink/envelope"
	"github.com/lprd/lprd/uplink/receiver"
)

func TestWriteTextRead(t *testing.T) {
	at := time.Date(2026, 11, 30, 3, 4, 5, 6e6, time.UTC)
	for _, tc := range []struct {
		ev   envelope.Event
		want string
	}{
		{envelope.Event{Plate: "ABC1234", Confidence: 0.914, Lane: "2", FirstSeen: at, Frames: 12},
			"  ABC1234    0.91   2     2026-11-30 03:04:05.006  12     cam1\n"},
		{envelope.Event{Lane: "1", FirstSeen: at, Frames: 1},
			"  -          0.00   1     2026-11-30 03:04:05.006  1      cam1\n"},
	} {
		var b strings.Builder
		writeTextRead(&b, receiver.Read{DeviceID: "cam1", Event: tc.ev})
		if b.String() != tc.want {
			t.Errorf("writeTextRead(%+v) = %q; want %q", tc.ev, b.String(), tc.want)
		}
	}
}
