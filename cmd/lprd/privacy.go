package main

import (
	"errors"

	"github.com/lprd/lprd/uplink"
	"github.com/lprd/lprd/uplink/hotlist"
)

// minimise applies the send mode to an event before it is sealed: it reports whether the
// event is sent at all, and in mode hashed replaces the texts of a read not on the hotlist
// by their digests.
func (d *daemon) minimise(ev uplink.Event) (uplink.Event, bool) {
	cands := make([]string, len(ev.Candidates))
	for i, c := range ev.Candidates {
		cands[i] = c.Text
	}
	dec := d.gate.Decide(ev.Plate, cands)
	if !dec.Send {
		return uplink.Event{}, false
	}
	ev.Plate = dec.Plate
	ev.Candidates = ev.Candidates[:len(dec.Candidates)]
	for i, t := range dec.Candidates {
		ev.Candidates[i].Text = t
	}
	return ev, true
}

// commands are the device's command topics: "hotlist" when a hotlist can be used.
func (d *daemon) commands() map[string]func([]byte) {
	st := d.gate.Store()
	if st == nil {
		return nil
	}
	return map[string]func([]byte){"hotlist": func(payload []byte) { d.hotlistUpdate(st, payload) }}
}

// hotlistUpdate applies a hotlist pushed on the command topic (lprctl hotlist push). The
// update names no plate; a refusal keeps the current list.
func (d *daemon) hotlistUpdate(st *hotlist.Store, payload []byte) {
	l, err := st.Apply(payload)
	switch {
	case err == nil:
		d.log.Info("hotlist updated", "version", l.Version, "entries", l.Len(), "bytes", len(payload))
	case errors.Is(err, hotlist.ErrCurrent):
		d.log.Debug("hotlist update not newer; kept the current list", "err", err)
	default:
		cur := st.List()
		var v uint64
		if cur != nil {
			v = cur.Version
		}
		d.log.Warn("hotlist update refused; kept the current list", "err", err, "current_version", v)
	}
}
