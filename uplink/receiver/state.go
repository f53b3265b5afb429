package receiver

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/lprd/lprd/internal/atomicfile"
)

// state is the receiver's memory as saved by SaveState: per device the
// highest accepted sequence number and the window bitmap, and the recent
// event ids, oldest first.
type state struct {
	Window  uint64                 `json:"window"`
	Devices map[string]deviceState `json:"devices"`
	IDs     []string               `json:"event_ids"`
}

type deviceState struct {
	High uint64   `json:"high"`
	Seen []uint64 `json:"seen"`
}

// SaveState writes the receiver's replay and duplicate memory to path
// (atomically: temporary file, fsync, rename), so that a restarted receiver
// still refuses replays and drops duplicates of reads it already output. It is
// safe for concurrent use.
func (r *Receiver) SaveState(path string) error {
	r.saveMu.Lock()
	defer r.saveMu.Unlock()
	r.mu.Lock()
	st := state{Window: r.opt.ReplayWindow, Devices: make(map[string]deviceState, len(r.devices))}
	for id, d := range r.devices {
		st.Devices[id] = deviceState{High: d.high, Seen: append([]uint64(nil), d.seen...)}
	}
	for i := range r.idRing {
		if id := r.idRing[(r.idNext+i)%len(r.idRing)]; id != "" {
			st.IDs = append(st.IDs, id)
		}
	}
	r.mu.Unlock()
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("receiver state %s: %w", path, err)
	}
	if err := atomicfile.Write(path, b); err != nil {
		return fmt.Errorf("receiver state %s: %w", path, err)
	}
	return nil
}

// LoadState restores what SaveState wrote. A missing file is not an error
// (first start). A state saved with another replay window is refused, since
// its bitmaps would be read wrongly.
func (r *Receiver) LoadState(path string) error {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("receiver state %s: %w", path, err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("receiver state %s: %w", path, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if st.Window != r.opt.ReplayWindow {
		return fmt.Errorf("receiver state %s: saved with a replay window of %d, this receiver uses %d", path, st.Window, r.opt.ReplayWindow)
	}
	for id, d := range st.Devices {
		if uint64(len(d.Seen)) != r.opt.ReplayWindow/64 {
			return fmt.Errorf("receiver state %s: device %s: bitmap of %d words, want %d", path, id, len(d.Seen), r.opt.ReplayWindow/64)
		}
		r.devices[id] = &device{high: d.High, seen: d.Seen}
	}
	for _, id := range st.IDs {
		r.rememberID(id)
	}
	return nil
}
