package trigger

import (
	"context"
	"sync/atomic"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// LEDMode is what a status LED shows.
type LEDMode int32

// The status LED modes. The daemon maps its camera state to them: streaming LEDOn,
// starting or reconnecting LEDBlink, failed LEDFastBlink, stopped LEDOff.
const (
	LEDOff       LEDMode = iota
	LEDOn                // steady: working
	LEDBlink             // 1 Hz: degraded, recovering
	LEDFastBlink         // 4 Hz: failed, needs a person
)

// LED drives a status LED. Set may be called from any goroutine; Run owns the pin.
type LED struct {
	pin  gpio.PinOut
	mode atomic.Int32
}

// NewLED returns an LED on pin, initially off.
func NewLED(pin gpio.PinOut) *LED { return &LED{pin: pin} }

// Set changes the mode. A nil LED ignores it, so the daemon need not check whether
// one is configured.
func (l *LED) Set(m LEDMode) {
	if l != nil {
		l.mode.Store(int32(m))
	}
}

// Run drives the pin until ctx ends, then switches the LED off and returns nil.
func (l *LED) Run(ctx context.Context) error {
	const tick = 125 * time.Millisecond
	t := time.NewTicker(tick)
	defer t.Stop()
	var n int
	last := gpio.Level(false)
	l.pin.Out(gpio.Low)
	for {
		var on bool
		switch LEDMode(l.mode.Load()) {
		case LEDOn:
			on = true
		case LEDBlink:
			on = n%8 < 4
		case LEDFastBlink:
			on = n%2 == 0
		}
		if lv := gpio.Level(on); lv != last {
			l.pin.Out(lv)
			last = lv
		}
		select {
		case <-t.C:
			n++
		case <-ctx.Done():
			l.pin.Out(gpio.Low)
			return nil
		}
	}
}
