package trigger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// Options configures [New]. Zero values are documented defaults.
type Options struct {
	// Presence is the vehicle-presence input (a loop detector or light barrier).
	// Required by New; a lane without one uses a nil *Trigger.
	Presence gpio.PinIn
	// Edge is the edge that means a vehicle arrived: gpio.RisingEdge (default: the
	// input is active high) or gpio.FallingEdge (active low).
	Edge gpio.Edge
	// Pull is the input's pull resistor; default gpio.PullNoChange.
	Pull gpio.Pull
	// Debounce is how long a new level must hold before it counts; 0 takes every
	// change at once.
	Debounce time.Duration
	// Margin widens every window on both sides: frames captured this long before a
	// window opened or after it closed are inside too, and the illuminator stays on
	// this long after a window closes.
	Margin time.Duration
	// Illuminator, if set, is driven high while a window (plus Margin) is open.
	Illuminator gpio.PinOut
	// Poll bounds each wait for an edge and so how late a missed edge or a
	// cancellation is noticed; default 100 ms.
	Poll time.Duration
	// EventBuffer is the capacity of the Events channel; default 16. Events that do
	// not fit are dropped and counted.
	EventBuffer int
	// Logger receives window changes; default slog.Default().
	Logger *slog.Logger
}

// Event is a vehicle window opening or closing.
type Event struct {
	// Window numbers the windows from 1.
	Window uint64
	// Open is true when the window opened, false when it closed.
	Open bool
	// Opened is when the presence input became active (before debouncing).
	Opened time.Time
	// Closed is when it became inactive again; zero for an Open event.
	Closed time.Time
}

// State is a snapshot for the health topic.
type State struct {
	Present     bool      `json:"present"`
	Windows     uint64    `json:"windows"`
	LastChange  time.Time `json:"last_change,omitzero"`
	Illuminator bool      `json:"illuminator"`
	// Bounces counts level changes that did not hold for the debounce time.
	Bounces       uint64 `json:"bounces"`
	EventsDropped uint64 `json:"events_dropped"`
}

type window struct{ open, close time.Time } // close is zero while open

// history is how many closed windows InWindow remembers; frames older than that are
// long processed.
const history = 8

// Trigger watches the presence input. Create it with New, start Run in a goroutine
// owned by the caller, and query it from any goroutine.
type Trigger struct {
	opt    Options
	active gpio.Level // the level that means "vehicle present"
	events chan Event
	log    *slog.Logger

	mu         sync.Mutex
	present    bool
	cur        window
	past       []window // most recent last, at most history
	windows    uint64
	lastChange time.Time
	illum      bool

	bounces, dropped atomic.Uint64
	running          atomic.Bool
}

// New sets up the pins: the presence input with edge detection on both edges, the
// illuminator off. If a vehicle is present already, a window opens at once.
func New(opt Options) (*Trigger, error) {
	if opt.Presence == nil {
		return nil, errors.New("trigger: no presence pin")
	}
	switch opt.Edge {
	case gpio.NoEdge, gpio.RisingEdge:
		opt.Edge = gpio.RisingEdge
	case gpio.FallingEdge:
	default:
		return nil, fmt.Errorf("trigger %s: edge %v: want rising or falling", opt.Presence, opt.Edge)
	}
	if opt.Debounce < 0 || opt.Margin < 0 || opt.Poll < 0 {
		return nil, fmt.Errorf("trigger %s: negative debounce, margin or poll", opt.Presence)
	}
	if opt.Poll == 0 {
		opt.Poll = 100 * time.Millisecond
	}
	if opt.EventBuffer <= 0 {
		opt.EventBuffer = 16
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	t := &Trigger{
		opt:    opt,
		active: opt.Edge == gpio.RisingEdge,
		events: make(chan Event, opt.EventBuffer),
		log:    opt.Logger.With("pin", opt.Presence.String()),
	}
	if err := opt.Presence.In(opt.Pull, gpio.BothEdges); err != nil {
		return nil, fmt.Errorf("trigger %s: set input with edge detection: %w%s", opt.Presence, err, hint(err))
	}
	if opt.Illuminator != nil {
		if err := opt.Illuminator.Out(gpio.Low); err != nil {
			return nil, fmt.Errorf("illuminator %s: set output: %w%s", opt.Illuminator, err, hint(err))
		}
	}
	if opt.Presence.Read() == t.active {
		t.change(true, time.Now())
	}
	return t, nil
}

// Run watches the input until ctx ends, then switches the illuminator off and returns
// nil. It must be called once, from a goroutine the caller waits for.
func (t *Trigger) Run(ctx context.Context) error {
	if !t.running.CompareAndSwap(false, true) {
		return errors.New("trigger: Run called twice")
	}
	defer t.setIlluminator(false)
	t.mu.Lock()
	stable := t.present
	t.mu.Unlock()
	candidate, since := stable, time.Time{}
	var illumOff time.Time // when the illuminator goes off after a close
	for ctx.Err() == nil {
		wait := t.opt.Poll
		now := time.Now()
		if candidate != stable {
			wait = min(wait, since.Add(t.opt.Debounce).Sub(now))
		}
		if !illumOff.IsZero() {
			wait = min(wait, illumOff.Sub(now))
		}
		// Never 0 or negative: gpioioctl would wait forever or not at all.
		wait = max(wait, time.Millisecond)
		edge := t.opt.Presence.WaitForEdge(wait)
		now = time.Now()
		level := t.opt.Presence.Read() == t.active
		switch {
		case level != candidate:
			if candidate != stable {
				t.bounces.Add(1) // the pending change did not hold
			}
			candidate, since = level, now
		case edge && candidate != stable:
			since = now // a bounce back and forth: start the debounce again
		}
		if candidate != stable && now.Sub(since) >= t.opt.Debounce {
			stable = candidate
			t.change(stable, since)
			if stable {
				illumOff = time.Time{}
			} else {
				illumOff = since.Add(t.opt.Margin)
			}
		}
		if !illumOff.IsZero() && !now.Before(illumOff) {
			t.setIlluminator(false)
			illumOff = time.Time{}
		}
	}
	return nil
}

// change records a debounced level change at time at and tells the listeners.
func (t *Trigger) change(present bool, at time.Time) {
	t.mu.Lock()
	t.present, t.lastChange = present, at
	var ev Event
	if present {
		t.windows++
		t.cur = window{open: at}
		ev = Event{Window: t.windows, Open: true, Opened: at}
	} else {
		t.cur.close = at
		t.past = append(t.past, t.cur)
		if len(t.past) > history {
			t.past = t.past[len(t.past)-history:]
		}
		ev = Event{Window: t.windows, Opened: t.cur.open, Closed: at}
	}
	t.mu.Unlock()
	if present {
		t.setIlluminator(true)
		t.log.Info("vehicle window open", "window", ev.Window)
	} else {
		t.log.Info("vehicle window closed", "window", ev.Window, "duration", ev.Closed.Sub(ev.Opened))
	}
	select {
	case t.events <- ev:
	default:
		t.dropped.Add(1)
	}
}

func (t *Trigger) setIlluminator(on bool) {
	if t.opt.Illuminator == nil {
		return
	}
	t.mu.Lock()
	changed := t.illum != on
	t.illum = on
	t.mu.Unlock()
	if !changed {
		return
	}
	l := gpio.Low
	if on {
		l = gpio.High
	}
	if err := t.opt.Illuminator.Out(l); err != nil {
		t.log.Warn("illuminator", "on", on, "err", err)
	}
}

// InWindow reports whether a frame captured at ts should be processed: ts lies in a
// vehicle window widened by Margin on both sides. It answers with what is known now,
// so a frame from before a window that has not opened yet is outside. A nil Trigger
// (no presence input configured) is always in a window.
func (t *Trigger) InWindow(ts time.Time) bool {
	if t == nil {
		return true
	}
	m := t.opt.Margin
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.present && !ts.Before(t.cur.open.Add(-m)) {
		return true
	}
	for i := len(t.past) - 1; i >= 0; i-- {
		w := t.past[i]
		if !ts.Before(w.open.Add(-m)) && !ts.After(w.close.Add(m)) {
			return true
		}
	}
	return false
}

// Events returns the channel of window open and close events (nil for a nil
// Trigger, which never sends). Only one consumer should read it.
func (t *Trigger) Events() <-chan Event {
	if t == nil {
		return nil
	}
	return t.events
}

// State returns a snapshot for the health topic; the zero State for a nil Trigger.
func (t *Trigger) State() State {
	if t == nil {
		return State{}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return State{
		Present:       t.present,
		Windows:       t.windows,
		LastChange:    t.lastChange,
		Illuminator:   t.illum,
		Bounces:       t.bounces.Load(),
		EventsDropped: t.dropped.Load(),
	}
}
