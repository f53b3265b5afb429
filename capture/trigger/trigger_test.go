package trigger

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

var quiet = slog.New(slog.DiscardHandler)

// lane is a presence input, an illuminator and a running Trigger, inside a synctest
// bubble whose clock starts at t0.
type lane struct {
	in, light *gpiotest.Pin
	trig      *Trigger
	t0        time.Time
	stop      func()
}

func newLane(t *testing.T, opt Options, initial gpio.Level) *lane {
	t.Helper()
	l := &lane{
		in:    &gpiotest.Pin{N: "GPIO17", EdgesChan: make(chan gpio.Level, 1)},
		light: &gpiotest.Pin{N: "GPIO27"},
		t0:    time.Now(),
	}
	opt.Presence, opt.Illuminator, opt.Logger = l.in, l.light, quiet
	opt.Pull = gpio.PullNoChange
	l.in.L = initial
	trig, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	l.trig = trig
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { trig.Run(ctx) })
	l.stop = func() { cancel(); wg.Wait() }
	t.Cleanup(l.stop)
	return l
}

// edge makes the input go to level at time at (relative to t0).
func (l *lane) edge(at time.Duration, level gpio.Level) {
	time.Sleep(time.Until(l.t0.Add(at)))
	l.in.EdgesChan <- level
}

func (l *lane) at(d time.Duration) time.Time { return l.t0.Add(d) }

func (l *lane) lightOn() bool { return l.light.Read() == gpio.High }

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestWindowWithDebounce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLane(t, Options{Debounce: ms(50), Margin: ms(200)}, gpio.Low)
		if l.trig.InWindow(l.t0) || l.lightOn() {
			t.Fatal("a window is open before any vehicle")
		}

		// A 10 ms glitch is no vehicle.
		l.edge(ms(1000), gpio.High)
		l.edge(ms(1010), gpio.Low)
		time.Sleep(ms(200))
		if st := l.trig.State(); st.Windows != 0 || st.Bounces != 1 || l.lightOn() {
			t.Errorf("after a 10ms glitch: %+v, light %v; want no window, one bounce, light off", st, l.lightOn())
		}

		// A vehicle arrives at 2 s and leaves at 5 s.
		l.edge(ms(2000), gpio.High)
		time.Sleep(ms(40))
		if l.trig.State().Present {
			t.Error("window open before the debounce time passed")
		}
		time.Sleep(ms(20))
		ev := <-l.trig.Events()
		if !ev.Open || ev.Window != 1 || !ev.Opened.Equal(l.at(ms(2000))) {
			t.Errorf("open event = %+v; want window 1 opened at 2s (the edge, not the debounce)", ev)
		}
		if !l.lightOn() {
			t.Error("illuminator off during the window")
		}
		for _, c := range []struct {
			at   time.Duration
			want bool
		}{{1500, false}, {1790, false}, {1800, true}, {2000, true}, {2050, true}} {
			if got := l.trig.InWindow(l.at(ms(int(c.at)))); got != c.want {
				t.Errorf("InWindow(%v) with the window open since 2s = %v; want %v", c.at*time.Millisecond, got, c.want)
			}
		}

		l.edge(ms(5000), gpio.Low)
		time.Sleep(ms(60))
		ev = <-l.trig.Events()
		if ev.Open || ev.Window != 1 || !ev.Closed.Equal(l.at(ms(5000))) || !ev.Opened.Equal(l.at(ms(2000))) {
			t.Errorf("close event = %+v; want window 1 from 2s to 5s", ev)
		}
		if !l.lightOn() {
			t.Error("illuminator off within the margin after the window")
		}
		time.Sleep(time.Until(l.at(ms(5210))))
		if l.lightOn() {
			t.Error("illuminator still on after the window and its margin")
		}
		for _, c := range []struct {
			at   time.Duration
			want bool
		}{{1799, false}, {3000, true}, {5000, true}, {5200, true}, {5201, false}, {9000, false}} {
			if got := l.trig.InWindow(l.at(ms(int(c.at)))); got != c.want {
				t.Errorf("InWindow(%v) after the 2s..5s window = %v; want %v", c.at*time.Millisecond, got, c.want)
			}
		}
		if st := l.trig.State(); st.Present || st.Windows != 1 || !st.LastChange.Equal(l.at(ms(5000))) {
			t.Errorf("State() = %+v; want absent, 1 window, last change at 5s", st)
		}
	})
}

func TestBounceRestartsDebounce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLane(t, Options{Debounce: ms(50)}, gpio.Low)
		// Chatter while the vehicle drives on: each edge restarts the debounce.
		l.edge(ms(100), gpio.High)
		l.edge(ms(130), gpio.Low)
		l.edge(ms(140), gpio.High)
		l.edge(ms(170), gpio.Low)
		l.edge(ms(180), gpio.High)
		time.Sleep(time.Until(l.at(ms(220))))
		if l.trig.State().Present {
			t.Error("window open 40ms after the last bounce; want 50ms of a steady level")
		}
		time.Sleep(ms(20))
		ev := <-l.trig.Events()
		if !ev.Open || !ev.Opened.Equal(l.at(ms(180))) {
			t.Errorf("open event = %+v; want opened at 180ms (the last edge)", ev)
		}
	})
}

func TestActiveLowAndPresentAtStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Falling edge means arrival; the input is low (a vehicle is present) at start.
		l := newLane(t, Options{Edge: gpio.FallingEdge, Debounce: ms(20)}, gpio.Low)
		ev := <-l.trig.Events()
		if !ev.Open || !l.lightOn() || !l.trig.InWindow(l.t0) {
			t.Fatalf("vehicle present at start: event %+v, light %v; want a window open at once", ev, l.lightOn())
		}
		l.edge(ms(500), gpio.High) // leaves
		time.Sleep(ms(30))
		ev = <-l.trig.Events()
		if ev.Open || !ev.Closed.Equal(l.at(ms(500))) || l.lightOn() {
			t.Errorf("close event = %+v, light %v; want closed at 500ms and light off (no margin)", ev, l.lightOn())
		}
	})
}

func TestMissedEdgeCaughtByPolling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLane(t, Options{Poll: ms(100)}, gpio.Low)
		time.Sleep(ms(1000))
		l.in.Out(gpio.High) // the level changes but the driver reports no edge
		time.Sleep(ms(150))
		if !l.trig.State().Present {
			t.Error("a level change without an edge was not noticed within a poll interval")
		}
	})
}

func TestShutdownSwitchesIlluminatorOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLane(t, Options{Poll: time.Second}, gpio.High)
		if !l.lightOn() {
			t.Fatal("light off with a vehicle present")
		}
		start := time.Now()
		l.stop()
		if d := time.Since(start); d > time.Second {
			t.Errorf("Run took %v to stop; want at most one poll interval", d)
		}
		if l.lightOn() {
			t.Error("illuminator left on after Run returned")
		}
	})
}

func TestNilTrigger(t *testing.T) {
	var tr *Trigger
	if !tr.InWindow(time.Now()) {
		t.Error("nil Trigger: InWindow = false; want every frame processed without a trigger")
	}
	if tr.Events() != nil || tr.State() != (State{}) {
		t.Error("nil Trigger: want nil events and a zero state")
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("New without a presence pin succeeded")
	}
	p := &gpiotest.Pin{N: "GPIO5"} // no EdgesChan: In with edges fails
	if _, err := New(Options{Presence: p, Logger: quiet}); err == nil {
		t.Error("New with a pin that refuses edge detection succeeded")
	}
	p = &gpiotest.Pin{N: "GPIO5", EdgesChan: make(chan gpio.Level)}
	if _, err := New(Options{Presence: p, Edge: gpio.BothEdges, Logger: quiet}); err == nil {
		t.Error("New with edge both succeeded; want rising or falling")
	}
}

func TestEventsDroppedWhenNobodyListens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLane(t, Options{EventBuffer: 1}, gpio.Low)
		l.edge(ms(100), gpio.High)
		l.edge(ms(200), gpio.Low)
		l.edge(ms(300), gpio.High)
		time.Sleep(ms(50))
		if st := l.trig.State(); st.EventsDropped != 2 || st.Windows != 2 {
			t.Errorf("State() = %+v; want 2 windows and 2 events dropped", st)
		}
	})
}

func TestLED(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &gpiotest.Pin{N: "GPIO22"}
		led := NewLED(p)
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		wg.Go(func() { led.Run(ctx) })
		sample := func(n int, every time.Duration) (ons int) {
			for range n {
				time.Sleep(every)
				if p.Read() == gpio.High {
					ons++
				}
			}
			return ons
		}
		time.Sleep(ms(10))
		if got := sample(8, ms(125)); got != 0 {
			t.Errorf("LEDOff: on in %d of 8 samples", got)
		}
		led.Set(LEDOn)
		if got := sample(8, ms(125)); got != 8 {
			t.Errorf("LEDOn: on in %d of 8 samples", got)
		}
		led.Set(LEDBlink)
		if got := sample(16, ms(125)); got != 8 {
			t.Errorf("LEDBlink: on in %d of 16 samples; want half", got)
		}
		led.Set(LEDFastBlink)
		if got := sample(16, ms(125)); got != 8 {
			t.Errorf("LEDFastBlink: on in %d of 16 samples; want half", got)
		}
		led.Set(LEDOn)
		time.Sleep(ms(200))
		cancel()
		wg.Wait()
		if p.Read() != gpio.Low {
			t.Error("LED left on after Run returned")
		}
		var none *LED
		none.Set(LEDOn) // must not panic
	})
}

func TestLookupUnknownLine(t *testing.T) {
	if p, err := Lookup("LPRD-NO-SUCH-LINE"); err == nil {
		t.Errorf("Lookup(unknown line) = %v; want an error", p)
	}
}
