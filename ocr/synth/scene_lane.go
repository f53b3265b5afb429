package synth

import (
	"math"
	"time"
)

// LaneOptions describes a synthetic lane clip: vehicles driving towards the camera one after
// the other, each plate growing from small and far to large and near.
type LaneOptions struct {
	// Width and Height of the frames (default 1280x720).
	Width, Height int
	// FPS is the frame rate (default 15).
	FPS float64
	// Vehicles is the number of vehicle passes (default 4).
	Vehicles int
	// Pass is how long a plate is in view (default 2.5 s); Gap the empty time between two
	// vehicles (default 1 s, negative: none).
	Pass, Gap time.Duration
	// Park stops the last vehicle in the middle of its pass for this long (a car at a booth).
	Park time.Duration
	// GoFontsOnly renders plates with Go's own fonts only.
	GoFontsOnly bool
}

func (o LaneOptions) withDefaults() LaneOptions {
	if o.Width <= 0 {
		o.Width = 1280
	}
	if o.Height <= 0 {
		o.Height = 720
	}
	if o.FPS <= 0 {
		o.FPS = 15
	}
	if o.Vehicles <= 0 {
		o.Vehicles = 4
	}
	if o.Pass <= 0 {
		o.Pass = 2500 * time.Millisecond
	}
	if o.Gap == 0 {
		o.Gap = time.Second
	}
	if o.Gap < 0 {
		o.Gap = 0
	}
	return o
}

// LanePass is the ground truth of one vehicle pass.
type LanePass struct {
	Text string
	// Enter and Leave are the times (from the clip's start) of the first and last frame
	// that show the plate.
	Enter, Leave time.Duration
}

// Lane renders the frames of a synthetic lane clip on demand.
type Lane struct {
	seed   int64
	opt    LaneOptions
	passes []LanePass
	starts []time.Duration
	lat    []float64 // lateral offset of each vehicle, fraction of the width
	tilt   []float64
	length time.Duration
}

// NewLane plans a clip for seed: the plates' texts, when each vehicle passes, where and how
// tilted. Rendering happens frame by frame in Frame.
func NewLane(seed int64, opt LaneOptions) *Lane {
	opt = opt.withDefaults()
	l := &Lane{seed: seed, opt: opt}
	rng := newRand(seed, 200)
	at := opt.Gap / 2
	for i := 0; i < opt.Vehicles; i++ {
		dur := opt.Pass
		if i == opt.Vehicles-1 {
			dur += opt.Park
		}
		text := trafficText(newRand(l.plateSeed(i), 201))
		p := RenderPlate(l.plateSeed(i), Options{Width: 60, Text: text, Layout: "us", GoFontsOnly: opt.GoFontsOnly})
		l.passes = append(l.passes, LanePass{Text: p.Text, Enter: at, Leave: at + dur})
		l.starts = append(l.starts, at)
		l.lat = append(l.lat, rng.Float64()*0.3-0.15)
		l.tilt = append(l.tilt, rng.Float64()*12-6)
		at += dur + opt.Gap
	}
	l.length = at - opt.Gap/2
	return l
}

func (l *Lane) plateSeed(i int) int64 { return l.seed*1000 + int64(i) + 1 }

// Passes returns the ground truth: one entry per vehicle, in order.
func (l *Lane) Passes() []LanePass { return l.passes }

// Frames is the number of frames in the clip.
func (l *Lane) Frames() int { return int(l.length.Seconds() * l.opt.FPS) }

// FrameTime is the time of frame i from the clip's start.
func (l *Lane) FrameTime(i int) time.Duration {
	return time.Duration(float64(i) / l.opt.FPS * float64(time.Second))
}

// Frame renders frame i.
func (l *Lane) Frame(i int) Scene {
	t := l.FrameTime(i)
	vs := []Vehicle{} // not nil: nil asks RenderScene for a random vehicle
	for k, p := range l.passes {
		if t < p.Enter || t > p.Leave {
			continue
		}
		// progress through the pass in [0,1]; a parked vehicle holds at 0.55
		prog := float64(t-p.Enter) / float64(l.opt.Pass)
		if k == len(l.passes)-1 && l.opt.Park > 0 {
			hold := 0.55 * float64(l.opt.Pass)
			switch el := float64(t - p.Enter); {
			case el > hold && el < hold+float64(l.opt.Park):
				prog = 0.55
			case el >= hold+float64(l.opt.Park):
				prog = (el - float64(l.opt.Park)) / float64(l.opt.Pass)
			}
		}
		prog = math.Min(1, math.Max(0, prog))
		w, h := float64(l.opt.Width), float64(l.opt.Height)
		vs = append(vs, Vehicle{
			X:          int(w * (0.5 + l.lat[k] + 0.05*prog)),
			Y:          int(h * (0.38 + 0.5*prog)),
			PlateWidth: int(w / 1280 * (70 + 150*prog*prog)),
			Tilt:       l.tilt[k],
			PlateSeed:  l.plateSeed(k),
			Text:       p.Text,
		})
	}
	return RenderScene(l.seed, SceneOptions{Width: l.opt.Width, Height: l.opt.Height, Vehicles: vs, GoFontsOnly: l.opt.GoFontsOnly})
}
