package fusion

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"image"
	"math"
	"sort"
	"time"

	"github.com/lprd/lprd/internal/editdist"
	"github.com/lprd/lprd/ocr/plateformat"
)

// Options configures a Fuser. The zero value of each field selects its default.
type Options struct {
	// Rules rank and repair the fused candidates; nil uses none.
	Rules *plateformat.Set
	// LeaveAfter is how long a track may go without a read before its plate counts as gone
	// (default 700 ms, the env file's LPRD_FUSION_GAP).
	LeaveAfter time.Duration
	// MaxDelay is the longest time from a track's first read to its result (default 3 s, the
	// env file's LPRD_FUSION_MAX_DELAY).
	MaxDelay time.Duration
	// Suppress is how long after a result the same plate at the same place is taken for the same
	// vehicle (a standing car whose reads paused) and not reported again (default 30 s).
	Suppress time.Duration
	// MaxCandidates caps a result's candidate list (default 5).
	MaxCandidates int
	// AmbiguousRatio marks a result ambiguous when the second candidate scores at least this
	// fraction of the best (default 0.7).
	AmbiguousRatio float32
	// SingleReadConfidence is the confidence a track of a single read needs to be reported
	// (default 0.5): a vehicle passing the camera is read in several frames, while a lone
	// uncertain read is most often text that is not a plate.
	SingleReadConfidence float32
	// MinConfidence is the fused confidence a result needs to be reported at all (default
	// 0.3, the env file's LPRD_MIN_CONFIDENCE); weaker results are most often text that is
	// not a plate, read again and again. ocr/lane sets it and SingleReadConfidence from its
	// one confidence policy.
	MinConfidence float32
	// MaxTracks bounds the open tracks; the oldest is closed when a new one would exceed it
	// (default 16).
	MaxTracks int
	// MaxReadsPerTrack bounds the reads kept for voting per track; later reads of a standing
	// vehicle only extend its last-seen time (default 64).
	MaxReadsPerTrack int
	// Retain is how long after a vehicle's result (counted from its last read before the
	// result) its track may keep the text of its reads, to match a standing vehicle's later
	// reads by text (default 0: the text is purged as soon as the result is emitted, or
	// dropped as too uncertain). It is capped at MaxRetain. After the purge a track and
	// the memory of recent results (Suppress) hold only a digest of the text under a key
	// drawn by New, which the process never writes anywhere.
	Retain time.Duration
}

// MaxRetain caps Options.Retain: the 3 minutes New Hampshire's plate-reader law allows.
const MaxRetain = 3 * time.Minute

func (o Options) withDefaults() Options {
	if o.LeaveAfter <= 0 {
		o.LeaveAfter = 700 * time.Millisecond
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 3 * time.Second
	}
	if o.Suppress <= 0 {
		o.Suppress = 30 * time.Second
	}
	if o.MaxCandidates <= 0 {
		o.MaxCandidates = 5
	}
	if o.AmbiguousRatio <= 0 {
		o.AmbiguousRatio = 0.7
	}
	if o.SingleReadConfidence <= 0 {
		o.SingleReadConfidence = 0.5
	}
	if o.MinConfidence <= 0 {
		o.MinConfidence = 0.3
	}
	if o.MaxTracks <= 0 {
		o.MaxTracks = 16
	}
	if o.MaxReadsPerTrack <= 0 {
		o.MaxReadsPerTrack = 64
	}
	o.Retain = min(max(o.Retain, 0), MaxRetain)
	return o
}

// Candidate is one plate text with its confidence in [0,1].
type Candidate = plateformat.Candidate

// Read is one plate read in one frame.
type Read struct {
	// At is the frame's capture time.
	At time.Time
	// Box is the plate in frame pixels.
	Box image.Rectangle
	// Text and Confidence are the recognizer's best reading.
	Text       string
	Confidence float32
	// CharConf holds a confidence per character of Text (optional).
	CharConf []float32
	// Candidates are the recognizer's alternatives, best first (may include Text).
	Candidates []Candidate
}

// Reason says why a result was emitted.
type Reason uint8

const (
	// Left: no read for Options.LeaveAfter.
	Left Reason = iota + 1
	// Window: the caller closed the trigger window.
	Window
	// MaxDelay: Options.MaxDelay passed since the first read.
	MaxDelay
	// Flush: the caller flushed (shutdown).
	Flush
)

func (r Reason) String() string {
	switch r {
	case Left:
		return "left"
	case Window:
		return "window"
	case MaxDelay:
		return "max-delay"
	case Flush:
		return "flush"
	}
	return "unknown"
}

// Result is one vehicle pass.
type Result struct {
	FirstSeen, LastSeen time.Time
	// Plate is the fused text; Confidence its support in [0,1].
	Plate      string
	Confidence float32
	// Candidates are the alternatives, best first, Plate included.
	Candidates []Candidate
	// Rule names the plate-format rule Plate matched ("" for none).
	Rule string
	// Frames counts the reads that contributed.
	Frames int
	// Box is the plate's box in the most confident read.
	Box image.Rectangle
	// Ambiguous is set when the runner-up candidate is close to Plate.
	Ambiguous bool
	Reason    Reason
}

type track struct {
	reads    []Read
	first    time.Time
	last     time.Time
	lastBox  image.Rectangle
	vx, vy   float64 // box centre velocity, pixels per second
	frames   int
	emitted  bool
	bestText string // the most confident text so far, for matching; "" once purged
	bestConf float32
	bestBox  image.Rectangle
	digest   digest    // of bestText, set when the track is emitted
	purgeAt  time.Time // when an emitted track's text goes (Options.Retain)
	purged   bool
}

// digest is a keyed hash of a plate text: what fusion keeps of a vehicle after its result.
type digest [16]byte

type recent struct {
	plate digest
	box   image.Rectangle
	last  time.Time
}

// Fuser groups reads into tracks and emits results. Not safe for concurrent use.
type Fuser struct {
	opt    Options
	key    [32]byte // keys the digests of purged texts; never leaves the Fuser
	tracks []*track
	recent []recent
	snap   []*track
	// Dropped counts results not reported as too uncertain (Options.MinConfidence and
	// SingleReadConfidence).
	Dropped int
	// Absorbed counts tracks of a few garbled reads merged into the track of the same plate.
	Absorbed int
	// Suppressed counts results withheld as repeats of a recent one.
	Suppressed int
}

// New returns a Fuser.
func New(opt Options) *Fuser {
	f := &Fuser{opt: opt.withDefaults()}
	rand.Read(f.key[:])
	return f
}

// digest returns the keyed digest of text; the zero digest for "".
func (f *Fuser) digest(text string) digest {
	var d digest
	if text == "" {
		return d
	}
	m := hmac.New(sha256.New, f.key[:])
	m.Write([]byte(text))
	copy(d[:], m.Sum(nil))
	return d
}

// purge forgets the text of t: its reads (text, candidates) and its best text. Only the
// digest stays, to recognise the same vehicle.
func (f *Fuser) purge(t *track) {
	clear(t.reads)
	t.reads = nil
	t.bestText = ""
	t.purged = true
}

// Open reports how many tracks are open (emitted or not).
func (f *Fuser) Open() int { return len(f.tracks) }

// Add puts a read into the track it belongs to, or into a new one. It returns results closed
// by the time of the read (see Tick). Reads should come in time order; an empty text is
// ignored.
func (f *Fuser) Add(r Read) []Result {
	out := f.Tick(r.At)
	if plateformat.Normalize(r.Text) == "" && len(r.Candidates) == 0 {
		return out
	}
	if r.Text == "" && len(r.Candidates) > 0 {
		r.Text, r.Confidence = r.Candidates[0].Text, r.Candidates[0].Confidence
	}
	r.Text = plateformat.Normalize(r.Text)
	if t := f.match(r); t != nil {
		f.extend(t, r)
		return out
	}
	if len(f.tracks) >= f.opt.MaxTracks {
		oldest := 0
		for i, t := range f.tracks {
			if t.first.Before(f.tracks[oldest].first) {
				oldest = i
			}
		}
		out = f.close(out, oldest, MaxDelay)
	}
	t := &track{first: r.At}
	f.extend(t, r)
	f.tracks = append(f.tracks, t)
	return out
}

// Tick closes the tracks whose plate left by now or that reached MaxDelay, and returns their
// results. Call it regularly (e.g. once per processed frame or every 100 ms) so results do not
// wait for the next read.
func (f *Fuser) Tick(now time.Time) []Result {
	var out []Result
	f.snap = append(f.snap[:0], f.tracks...)
	for _, t := range f.snap {
		i := f.index(t)
		if i < 0 { // absorbed by another track meanwhile
			continue
		}
		switch {
		case now.Sub(t.last) > f.opt.LeaveAfter:
			out = f.close(out, i, Left)
		case !t.emitted && now.Sub(t.first) >= f.opt.MaxDelay:
			out = f.emit(out, t, MaxDelay)
		case t.emitted && !t.purged && !now.Before(t.purgeAt):
			f.purge(t)
		}
	}
	clear(f.snap)
	f.expireRecent(now)
	return out
}

func (f *Fuser) index(t *track) int {
	for i, x := range f.tracks {
		if x == t {
			return i
		}
	}
	return -1
}

// within reports whether small lies inside big in place and time and has at most half its
// reads: then small holds garbled reads of big's plate (or of its banner or slogan, read in
// the frames where the registration was not) rather than another vehicle. In place: their
// best boxes overlap, or small ended within a plate height and a half of where big ended (a
// plate's banner and slogan lie within one plate height of its registration; another
// vehicle's plate is a vehicle's width away, a dozen plate heights).
func within(small, big *track) bool {
	cx0, cy0 := center(small.lastBox)
	cx1, cy1 := center(big.lastBox)
	h := float64(max(small.lastBox.Dy(), big.lastBox.Dy()))
	near := iou(small.bestBox, big.bestBox) >= 0.2 || math.Hypot(cx0-cx1, cy0-cy1) <= 1.5*h
	return small != big && small.frames*2 <= big.frames && near &&
		!small.first.Before(big.first) && !small.last.After(big.last)
}

// CloseWindow ends the trigger window: every open track is closed (emitting those not yet
// emitted).
func (f *Fuser) CloseWindow(now time.Time) []Result {
	out := f.Tick(now)
	for len(f.tracks) > 0 {
		out = f.close(out, 0, Window)
	}
	return out
}

// Flush closes every track, for shutdown.
func (f *Fuser) Flush() []Result {
	var out []Result
	for len(f.tracks) > 0 {
		out = f.close(out, 0, Flush)
	}
	return out
}

// close emits track i when it has not been emitted and removes it. A track of a few garbled
// reads inside a bigger track goes into that track's vote instead (or away, when that track has
// already been reported).
func (f *Fuser) close(out []Result, i int, why Reason) []Result {
	t := f.tracks[i]
	if !t.emitted {
		for _, host := range f.tracks {
			if within(t, host) {
				if !host.emitted {
					host.reads = append(host.reads, t.reads...)
					host.frames += t.frames
				}
				f.Absorbed++
				f.drop(i)
				return out
			}
		}
		out = f.emit(out, t, why)
	}
	f.remember(t)
	f.drop(f.index(t))
	return out
}

func (f *Fuser) drop(i int) {
	f.purge(f.tracks[i])
	copy(f.tracks[i:], f.tracks[i+1:])
	f.tracks[len(f.tracks)-1] = nil
	f.tracks = f.tracks[:len(f.tracks)-1]
}

// emit fuses t, absorbing into it the smaller tracks inside it in place and time (reads too
// garbled to match it), and appends the result unless it repeats a recent one.
func (f *Fuser) emit(out []Result, t *track, why Reason) []Result {
	for i := 0; i < len(f.tracks); i++ {
		o := f.tracks[i]
		if o.emitted || !within(o, t) {
			continue
		}
		t.reads = append(t.reads, o.reads...)
		t.frames += o.frames
		f.Absorbed++
		f.drop(i)
		i--
	}
	t.emitted = true
	out = f.report(out, t, f.fuse(t, why))
	t.digest = f.digest(t.bestText)
	t.purgeAt = t.last.Add(f.opt.Retain)
	if f.opt.Retain == 0 {
		f.purge(t)
	}
	return out
}

// report appends res unless it is empty, under the confidence bars or a repeat of a recent
// result.
func (f *Fuser) report(out []Result, t *track, res Result) []Result {
	if res.Plate == "" {
		return out
	}
	if res.Confidence < f.opt.MinConfidence || (res.Frames == 1 && res.Confidence < f.opt.SingleReadConfidence) {
		f.Dropped++
		return out
	}
	t.bestText = res.Plate
	if f.repeats(t, f.digest(res.Plate), res) {
		f.Suppressed++
		return out
	}
	return append(out, res)
}

// repeats reports whether res, the result of t (d the digest of its plate), repeats one
// already reported for the same vehicle: a track of the same plate still open (the vehicle's track split in two, when it
// moved further between two processed frames than the tracker follows), the same plate seen
// within LeaveAfter+MaxDelay of a reported one anywhere in the frame (no two vehicles carry one
// plate, and a vehicle passing the camera is in view for seconds), or the same plate at the
// same place within Suppress (a standing vehicle whose reads paused).
func (f *Fuser) repeats(t *track, d digest, res Result) bool {
	for _, o := range f.tracks {
		if o != t && o.emitted && o.digest == d {
			o.last = later(o.last, res.LastSeen)
			return true
		}
	}
	for i, r := range f.recent {
		gap := res.FirstSeen.Sub(r.last)
		if r.plate == d && (gap <= f.opt.LeaveAfter+f.opt.MaxDelay || (iou(r.box, res.Box) > 0.1 && gap <= f.opt.Suppress)) {
			f.recent[i].last = later(r.last, res.LastSeen)
			return true
		}
	}
	return false
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (f *Fuser) remember(t *track) {
	if !t.emitted || t.digest == (digest{}) {
		return
	}
	for i, r := range f.recent {
		if r.plate == t.digest {
			f.recent[i].last, f.recent[i].box = t.last, t.lastBox
			return
		}
	}
	f.recent = append(f.recent, recent{plate: t.digest, box: t.lastBox, last: t.last})
}

func (f *Fuser) expireRecent(now time.Time) {
	keep := f.recent[:0]
	for _, r := range f.recent {
		if now.Sub(r.last) <= f.opt.Suppress {
			keep = append(keep, r)
		}
	}
	f.recent = keep
}

// extend adds r to t.
func (f *Fuser) extend(t *track, r Read) {
	if t.frames > 0 {
		if dt := r.At.Sub(t.last).Seconds(); dt > 1e-3 {
			cx0, cy0 := center(t.lastBox)
			cx1, cy1 := center(r.Box)
			const a = 0.5 // smoothing of the velocity estimate
			t.vx = a*(cx1-cx0)/dt + (1-a)*t.vx
			t.vy = a*(cy1-cy0)/dt + (1-a)*t.vy
		}
	}
	t.frames++
	t.last = r.At
	t.lastBox = r.Box
	if r.Confidence >= t.bestConf || t.bestText == "" {
		if !t.emitted {
			t.bestText = r.Text
		}
		t.bestConf, t.bestBox = r.Confidence, r.Box
	}
	if len(t.reads) < f.opt.MaxReadsPerTrack && !t.emitted {
		t.reads = append(t.reads, r)
	}
}

// match finds the open track r belongs to: near where the track's motion predicts, and with a
// similar text. The nearest such track wins.
func (f *Fuser) match(r Read) *track {
	var best *track
	bestCost := math.MaxFloat64
	rx, ry := center(r.Box)
	for _, t := range f.tracks {
		dt := r.At.Sub(t.last).Seconds()
		px, py := center(t.lastBox)
		px += t.vx * dt
		py += t.vy * dt
		scale := math.Max(float64(t.lastBox.Dx()), float64(r.Box.Dx()))
		if scale < 1 {
			scale = 1
		}
		d := math.Hypot(rx-px, ry-py) / scale
		if d > 2 {
			continue
		}
		sim := f.textSimilarity(r, t, d)
		if sim < 0.5 {
			continue
		}
		if cost := d + 2*(1-sim); cost < bestCost {
			best, bestCost = t, cost
		}
	}
	return best
}

// textSimilarity is how alike r's texts and t's best text are. A purged track has only the
// digest of its text: an equal text is similar (1), and any read very near where the track
// is expected is taken for the same standing vehicle (0.5), its text no longer comparable.
func (f *Fuser) textSimilarity(r Read, t *track, d float64) float64 {
	if !t.purged {
		sim := similarity(r.Text, t.bestText)
		for _, c := range r.Candidates {
			sim = math.Max(sim, similarity(plateformat.Normalize(c.Text), t.bestText))
		}
		return sim
	}
	if f.digest(r.Text) == t.digest {
		return 1
	}
	for _, c := range r.Candidates {
		if f.digest(plateformat.Normalize(c.Text)) == t.digest {
			return 1
		}
	}
	if d <= 1 {
		return 0.5
	}
	return 0
}

// fuse votes over the reads of t.
func (f *Fuser) fuse(t *track, why Reason) Result {
	res := Result{FirstSeen: t.first, LastSeen: t.last, Frames: t.frames, Box: t.bestBox, Reason: why}
	if len(t.reads) == 0 {
		return res
	}
	sup, lengthW := wholeTextSupport(t.reads)
	n := float32(len(t.reads))
	if v, s, ok := positionVote(t.reads, lengthW); ok && s > sup.support[v] {
		// The voted text is as good as the mean read confidence times its per-position
		// agreement, unless whole reads of it already support it more.
		sup.set(v, s)
	}
	cands := make([]Candidate, 0, len(sup.order))
	for _, txt := range sup.order {
		cands = append(cands, Candidate{Text: txt, Confidence: sup.support[txt] / n})
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].Confidence > cands[j].Confidence })
	ranked := f.opt.Rules.Rank(cands)
	if len(ranked) == 0 {
		return res
	}
	if len(ranked) > f.opt.MaxCandidates {
		ranked = ranked[:f.opt.MaxCandidates]
	}
	res.Plate, res.Confidence, res.Rule = ranked[0].Text, clamp01(ranked[0].Confidence), ranked[0].Rule.Name()
	for _, r := range ranked {
		res.Candidates = append(res.Candidates, Candidate{Text: r.Text, Confidence: clamp01(r.Confidence)})
	}
	if len(ranked) > 1 && ranked[1].Score >= f.opt.AmbiguousRatio*ranked[0].Score {
		res.Ambiguous = true
	}
	return res
}

// textSupport sums each text's confidence over reads, in first-seen order.
type textSupport struct {
	support map[string]float32
	order   []string
}

func (s *textSupport) add(text string, c float32) {
	if _, ok := s.support[text]; !ok {
		s.order = append(s.order, text)
	}
	s.support[text] += c
}

func (s *textSupport) set(text string, c float32) {
	if _, ok := s.support[text]; !ok {
		s.order = append(s.order, text)
	}
	s.support[text] = c
}

// wholeTextSupport is each text's support over the reads (the best text and every
// candidate once per read), and the confidence weight of each best-text length.
func wholeTextSupport(reads []Read) (textSupport, map[int]float32) {
	sup := textSupport{support: map[string]float32{}}
	lengthW := map[int]float32{}
	for _, r := range reads {
		seen := map[string]bool{}
		if r.Text != "" {
			sup.add(r.Text, r.Confidence)
			seen[r.Text] = true
			lengthW[len(r.Text)] += r.Confidence
		}
		for _, c := range r.Candidates {
			txt := plateformat.Normalize(c.Text)
			if txt == "" || seen[txt] {
				continue
			}
			seen[txt] = true
			sup.add(txt, c.Confidence)
		}
	}
	return sup, lengthW
}

// positionVote votes per character position over the reads of the commonest length
// and returns the voted text with its support: its per-position agreement times the
// mean read confidence times the number of reads (the scale of wholeTextSupport).
func positionVote(reads []Read, lengthW map[int]float32) (string, float32, bool) {
	bestLen, bestLW := 0, float32(-1)
	for l, w := range lengthW {
		if w > bestLW || (w == bestLW && l > bestLen) {
			bestLen, bestLW = l, w
		}
	}
	if bestLen == 0 {
		return "", 0, false
	}
	voted := make([]byte, bestLen)
	conf := float32(1)
	for i := 0; i < bestLen; i++ {
		var w [256]float32
		var total float32
		for _, r := range reads {
			if len(r.Text) != bestLen {
				continue
			}
			c := r.Confidence
			if len(r.CharConf) == len(r.Text) {
				c = r.CharConf[i]
			}
			w[r.Text[i]] += c
			total += c
		}
		best := byte(0)
		for ch := range w {
			if w[ch] > w[best] {
				best = byte(ch)
			}
		}
		voted[i] = best
		if total > 0 {
			conf *= w[best] / total
		}
	}
	var meanConf float32
	for _, r := range reads {
		meanConf += r.Confidence
	}
	n := float32(len(reads))
	meanConf /= n
	return string(voted), conf * meanConf * n, true
}

func clamp01(v float32) float32 {
	return float32(math.Min(1, math.Max(0, float64(v))))
}

func center(r image.Rectangle) (float64, float64) {
	return float64(r.Min.X+r.Max.X) / 2, float64(r.Min.Y+r.Max.Y) / 2
}

func iou(a, b image.Rectangle) float64 {
	in := a.Intersect(b)
	if in.Empty() {
		return 0
	}
	ia := float64(in.Dx() * in.Dy())
	return ia / (float64(a.Dx()*a.Dy()+b.Dx()*b.Dy()) - ia)
}

// similarity is 1 - the edit distance over the longer length: 1 for equal texts, 0 for texts
// with nothing in common.
func similarity(a, b string) float64 {
	if a == b {
		return 1
	}
	if a == "" || b == "" {
		return 0
	}
	return 1 - float64(editdist.Distance(a, b))/float64(max(len(a), len(b)))
}
