package capture

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Negotiated is what a camera actually delivers, as the driver (or the file) chose it.
type Negotiated struct {
	// Format is the camera's format: "MJPG", "YUYV", "GREY" for V4L2, the codec
	// for video files and streams, "images" for folders.
	Format string `json:"format"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	// FPS is the frame rate the driver reports (0 when unknown).
	FPS float64 `json:"fps"`
	// Buffers is the number of driver buffers asked for (V4L2 only).
	Buffers int `json:"buffers,omitempty"`
	// Exposure and Gain are the values set, after clamping to the control's range
	// (0 when left to the driver; see Notes).
	Exposure time.Duration `json:"exposure_ns,omitempty"`
	Gain     int           `json:"gain,omitempty"`
	// Notes lists requests the driver could not honour, in words.
	Notes []string `json:"notes,omitempty"`
}

// formatPreference is the order "auto" tries: raw grey costs nothing, YUYV grey costs
// a byte shuffle, MJPEG costs a decode (but fits more pixels through USB 2).
var formatPreference = []FourCC{FourCCGrey, FourCCYUYV, FourCCMJPEG}

// parseCameraFormat maps Options.Format to a FourCC, 0 meaning auto.
func parseCameraFormat(s string) (FourCC, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return 0, nil
	case "mjpeg", "mjpg":
		return FourCCMJPEG, nil
	case "yuyv", "yuy2":
		return FourCCYUYV, nil
	case "grey", "gray", "y8":
		return FourCCGrey, nil
	}
	return 0, fmt.Errorf("camera format %q: want auto, mjpeg, yuyv or grey", s)
}

// fitSize picks, among the sizes a format offers, the one to ask for: the requested
// size if offered, else the smallest that covers it, else the largest. Stepwise
// ranges are rounded to their step. ok is false when the driver lists no sizes.
func fitSize(sizes []FrameSize, w, h uint32) (uint32, uint32, bool) {
	type wh struct{ w, h uint32 }
	var cands []wh
	for _, s := range sizes {
		if s.StepWidth == 0 && s.StepHeight == 0 {
			cands = append(cands, wh{s.MaxWidth, s.MaxHeight})
			continue
		}
		cands = append(cands, wh{snap(w, s.MinWidth, s.MaxWidth, s.StepWidth), snap(h, s.MinHeight, s.MaxHeight, s.StepHeight)})
	}
	if len(cands) == 0 {
		return w, h, false
	}
	area := func(c wh) uint64 { return uint64(c.w) * uint64(c.h) }
	var best *wh
	for i, c := range cands {
		if c.w == w && c.h == h {
			return w, h, true
		}
		if c.w >= w && c.h >= h && (best == nil || area(c) < area(*best)) {
			best = &cands[i]
		}
	}
	if best == nil {
		for i, c := range cands {
			if best == nil || area(c) > area(*best) {
				best = &cands[i]
			}
		}
	}
	return best.w, best.h, true
}

// snap clamps v into [lo, hi] and rounds it up to lo + k*step.
func snap(v, lo, hi, step uint32) uint32 {
	v = min(max(v, lo), hi)
	if step > 1 {
		v = lo + (v-lo+step-1)/step*step
		if v > hi {
			v -= step
		}
	}
	return v
}

// maxRate is the highest frame rate among intervals, 0 if none are listed.
func maxRate(rates []FrameRate) float64 {
	best := 0.0
	for _, r := range rates {
		num, den := r.MinNumerator, r.MinDenominator
		if r.StepNumerator != 0 || r.StepDenominator != 0 {
			den = r.MaxDenominator // stepwise: shortest interval
		}
		if num > 0 && float64(den)/float64(num) > best {
			best = float64(den) / float64(num)
		}
	}
	return best
}

// plan is the result of choosing a format and size before asking the driver.
type plan struct {
	format        FourCC
	width, height uint32
}

// choose picks the format and size to ask a device for. With an explicit format it
// must be offered. With auto, it prefers a format that has the requested size at the
// requested rate, then one with the size, then any, each in formatPreference order.
func choose(dev Device, want FourCC, w, h uint32, fps float64) (plan, error) {
	offered := dev.SupportedFormats()
	var names []string
	for f := range offered {
		names = append(names, f.String())
	}
	slices.Sort(names)
	cands := formatPreference
	if want != 0 {
		if _, ok := offered[want]; !ok {
			return plan{}, fmt.Errorf("format %s not offered (the device offers %s)", want, strings.Join(names, ", "))
		}
		cands = []FourCC{want}
	}
	bestScore := -1
	var best plan
	for _, f := range cands {
		if _, ok := offered[f]; !ok {
			continue
		}
		cw, ch, _ := fitSize(dev.SupportedFrameSizes(f), w, h)
		score := 0
		if cw == w && ch == h {
			score += 2
			if r := maxRate(dev.SupportedFrameRates(f, cw, ch)); fps <= 0 || r == 0 || r+0.01 >= fps {
				score++
			}
		}
		if score > bestScore {
			bestScore, best = score, plan{f, cw, ch}
		}
	}
	if bestScore < 0 {
		return plan{}, fmt.Errorf("no usable format (want MJPG, YUYV or GREY; the device offers %s)", strings.Join(names, ", "))
	}
	return best, nil
}

// negotiate sets format, size, rate, buffers and controls on dev and starts streaming.
func negotiate(dev Device, opt *Options) (Negotiated, plan, error) {
	want, err := parseCameraFormat(opt.Format)
	if err != nil {
		return Negotiated{}, plan{}, permanent(err)
	}
	p, err := choose(dev, want, uint32(opt.Width), uint32(opt.Height), opt.FPS)
	if err != nil {
		return Negotiated{}, plan{}, permanent(err)
	}
	var n Negotiated
	f, gw, gh, err := dev.SetImageFormat(p.format, p.width, p.height)
	if err != nil {
		return n, p, fmt.Errorf("set format %s %dx%d: %w", p.format, p.width, p.height, err)
	}
	if f != p.format {
		if !slices.Contains(formatPreference, f) {
			return n, p, permanent(fmt.Errorf("asked for %s, the driver chose %s, which capture cannot decode", p.format, f))
		}
		n.Notes = append(n.Notes, fmt.Sprintf("asked for %s, the driver chose %s", p.format, f))
		p.format = f
	}
	if gw != 0 && gh != 0 && (gw != p.width || gh != p.height) {
		n.Notes = append(n.Notes, fmt.Sprintf("asked for %dx%d, the driver chose %dx%d", p.width, p.height, gw, gh))
		p.width, p.height = gw, gh
	}
	if p.width != uint32(opt.Width) || p.height != uint32(opt.Height) {
		n.Notes = append(n.Notes, fmt.Sprintf("%dx%d is not offered in %s; using %dx%d", opt.Width, opt.Height, p.format, p.width, p.height))
	}
	n.Format, n.Width, n.Height = p.format.String(), int(p.width), int(p.height)

	if opt.FPS > 0 {
		if err := dev.SetFramerate(float32(opt.FPS)); err != nil {
			n.Notes = append(n.Notes, fmt.Sprintf("frame rate %g not set: %v", opt.FPS, err))
		}
	}
	if r, err := dev.Framerate(); err == nil {
		n.FPS = math.Round(float64(r)*100) / 100
		if opt.FPS > 0 && math.Abs(n.FPS-opt.FPS) > 0.5 {
			n.Notes = append(n.Notes, fmt.Sprintf("asked for %g fps, the driver chose %g", opt.FPS, n.FPS))
		}
	}
	if err := dev.SetBufferCount(uint32(opt.Buffers)); err != nil {
		return n, p, fmt.Errorf("set %d buffers: %w", opt.Buffers, err)
	}
	n.Buffers = opt.Buffers
	setControls(dev, opt, &n)
	if err := dev.StartStreaming(); err != nil {
		return n, p, fmt.Errorf("start streaming: %w", err)
	}
	return n, p, nil
}

// setControls applies exposure and gain where the device offers them. A control that
// is missing or refused is a note, not an error: the camera still works.
func setControls(dev Device, opt *Options, n *Negotiated) {
	if opt.Exposure <= 0 && !opt.ManualGain {
		return
	}
	ctrls := dev.Controls()
	if opt.Exposure > 0 {
		abs, ok := ctrls[CIDExposureAbsolute]
		switch {
		case !ok:
			n.Notes = append(n.Notes, "exposure: the device offers no absolute exposure control")
		default:
			if _, ok := ctrls[CIDExposureAuto]; ok {
				if err := dev.SetControl(CIDExposureAuto, exposureManual); err != nil {
					n.Notes = append(n.Notes, fmt.Sprintf("exposure: manual mode refused: %v", err))
				}
			}
			v := clampControl(abs, int64(opt.Exposure/(100*time.Microsecond)))
			if err := dev.SetControl(CIDExposureAbsolute, v); err != nil {
				n.Notes = append(n.Notes, fmt.Sprintf("exposure: %v refused: %v", opt.Exposure, err))
			} else {
				n.Exposure = time.Duration(v) * 100 * time.Microsecond
				if n.Exposure != opt.Exposure {
					n.Notes = append(n.Notes, fmt.Sprintf("exposure %v set as %v (range and step of the control)", opt.Exposure, n.Exposure))
				}
			}
		}
	}
	if opt.ManualGain {
		g, ok := ctrls[CIDGain]
		if !ok {
			n.Notes = append(n.Notes, "gain: the device offers no gain control")
			return
		}
		v := clampControl(g, int64(opt.Gain))
		if err := dev.SetControl(CIDGain, v); err != nil {
			n.Notes = append(n.Notes, fmt.Sprintf("gain: %d refused: %v", opt.Gain, err))
			return
		}
		n.Gain = int(v)
		if n.Gain != opt.Gain {
			n.Notes = append(n.Notes, fmt.Sprintf("gain %d set as %d (range of the control %d..%d)", opt.Gain, v, g.Min, g.Max))
		}
	}
}

// clampControl clamps v into the control's range and onto its step.
func clampControl(c Control, v int64) int32 {
	if c.Max > c.Min {
		v = min(max(v, int64(c.Min)), int64(c.Max))
		if c.Step > 1 {
			v = int64(c.Min) + (v-int64(c.Min))/int64(c.Step)*int64(c.Step)
		}
	}
	return int32(max(min(v, math.MaxInt32), math.MinInt32))
}
