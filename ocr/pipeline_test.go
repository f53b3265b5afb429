package ocr

import (
	"errors"
	"image"
	"runtime"
	"slices"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/lprd/lprd/ocr/fusion"
	"github.com/lprd/lprd/ocr/plateformat"
	"github.com/lprd/lprd/ocr/synth"
)

// greyPix converts a rendered frame to grey bytes, as a grey camera delivers them.
func greyPix(img *image.RGBA) []byte {
	out := make([]byte, img.Rect.Dx()*img.Rect.Dy())
	for i := range out {
		p := img.Pix[i*4 : i*4+3]
		out[i] = uint8((299*int(p[0]) + 587*int(p[1]) + 114*int(p[2]) + 500) / 1000)
	}
	return out
}

func newTestReader(t testing.TB) *FrameReader {
	t.Helper()
	rules, err := plateformat.Load("us,mx")
	if err != nil {
		t.Fatal(err)
	}
	fr, err := NewFrameReader(FrameReaderOptions{Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	return fr
}

// TestFrameReaderPlateFreeScene replays frames of scenes without plates (vehicles, windows,
// lane markings, lights) through a FrameReader and the fusion stage: no result may come out.
// Single frames may give weak reads of text-like structure; they stay under what fusion reports.
func TestFrameReaderPlateFreeScene(t *testing.T) {
	rules, _ := plateformat.Load("us,mx")
	fr, err := NewFrameReader(FrameReaderOptions{Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	defer fr.Close()
	fu := fusion.New(fusion.Options{Rules: rules})
	t0 := time.Date(2026, 11, 30, 5, 0, 0, 0, time.UTC)
	var results []fusion.Result
	at := t0
	for seed := int64(0); seed < 3; seed++ {
		for i := 0; i < 4; i++ { // a vehicle without a plate drives through
			sc := synth.RenderScene(seed, synth.SceneOptions{GoFontsOnly: true, Vehicles: []synth.Vehicle{
				{X: 500 + 20*i, Y: 380 + 15*i, PlateWidth: 120 + 8*i, NoPlate: true, PlateSeed: seed},
			}})
			reads, err := fr.Read(greyPix(sc.Image), 1280, 720, 1)
			if err != nil {
				t.Fatal(err)
			}
			at = at.Add(100 * time.Millisecond)
			for _, r := range reads {
				results = append(results, fu.Add(fusion.Read{At: at, Box: r.Box, Text: r.Text, Confidence: r.Confidence,
					CharConf: r.CharConf, Candidates: r.Candidates})...)
			}
		}
		at = at.Add(10 * time.Second)
		results = append(results, fu.Tick(at)...)
	}
	results = append(results, fu.Flush()...)
	for _, r := range results {
		t.Errorf("plate-free scenes gave a result: %q confidence %.2f from %d frames", r.Plate, r.Confidence, r.Frames)
	}
}

func TestFrameReaderRejectsBadFrames(t *testing.T) {
	fr := newTestReader(t)
	defer fr.Close()
	for _, tt := range []struct {
		pix     []byte
		w, h, c int
		want    error
	}{
		{make([]byte, 100), 10, 10, 2, ErrFrameFormat},
		{make([]byte, 100), 10, 10, 4, ErrFrameFormat},
		{make([]byte, 99), 10, 10, 1, ErrFrameSize},
		{make([]byte, 300), 10, 10, 1, ErrFrameSize},
		{nil, 0, 0, 1, ErrFrameSize},
		{make([]byte, 100), -10, -10, 1, ErrFrameSize},
	} {
		if _, err := fr.Read(tt.pix, tt.w, tt.h, tt.c); !errors.Is(err, tt.want) {
			t.Errorf("Read(%d bytes, %d, %d, %d) error = %v; want %v", len(tt.pix), tt.w, tt.h, tt.c, err, tt.want)
		}
	}
	// Tiny and blank frames are valid and have no plates.
	for _, sz := range []image.Point{{1, 1}, {16, 16}, {320, 240}} {
		reads, err := fr.Read(make([]byte, sz.X*sz.Y), sz.X, sz.Y, 1)
		if err != nil || len(reads) != 0 {
			t.Errorf("Read(blank %v) = %d reads, %v", sz, len(reads), err)
		}
	}
	m := gocv.NewMatWithSize(10, 10, gocv.MatTypeCV32F)
	defer m.Close()
	if _, err := fr.ReadMat(m); !errors.Is(err, ErrFrameFormat) {
		t.Errorf("ReadMat(CV_32F) error = %v; want ErrFrameFormat", err)
	}
	empty := gocv.NewMat()
	defer empty.Close()
	if _, err := fr.ReadMat(empty); !errors.Is(err, ErrFrameSize) {
		t.Errorf("ReadMat(empty) error = %v; want ErrFrameSize", err)
	}
}

func TestRectifierCrop(t *testing.T) {
	start := matCount()
	// A frame with a bright bar tilted 10 degrees: cropped upright, the bar is level.
	sc := synth.RenderScene(1, synth.SceneOptions{GoFontsOnly: true, Noise: -1, Vehicles: []synth.Vehicle{
		{X: 400, Y: 300, PlateWidth: 200, Tilt: 10, PlateSeed: 3, Plain: true}}})
	grey := greyMat(t, sc.Image)
	r := NewRectifier()
	g := Region{CX: 400, CY: 300, Width: 200, Height: 100, Angle: 10}
	crop := r.Crop(grey, g, 128, 64)
	if crop.Cols() != 128 || crop.Rows() != 64 || crop.Type() != gocv.MatTypeCV8UC1 {
		t.Fatalf("Crop = %dx%d type %v", crop.Cols(), crop.Rows(), crop.Type())
	}
	if b := g.Bounds(); !b.Eq(image.Rect(292, 233, 508, 367)) {
		t.Errorf("Bounds() = %v", b)
	}
	// Upright, the plate's top border row is uniform: compare the left and right ends of the
	// row just inside the crop's top.
	pix, _ := crop.DataPtrUint8()
	left, right := int(pix[3*128+10]), int(pix[3*128+117])
	if d := left - right; d > 40 || d < -40 {
		t.Errorf("crop not level: row 3 has %d at the left, %d at the right", left, right)
	}
	r.Close()
	grey.Close()
	if n := matCount(); n != start {
		t.Errorf("Mat count %d -> %d: leak", start, n)
	}
}

func BenchmarkFrameReader720p(b *testing.B) {
	defer SetOpenCVThreads(OpenCVThreads())
	SetOpenCVThreads(1) // one core, as a worker runs
	sc := synth.RenderScene(1, synth.SceneOptions{Vehicles: sceneCases[:1], GoFontsOnly: true})
	pix := greyPix(sc.Image)
	fr := newTestReader(b)
	defer fr.Close()
	b.ReportAllocs()
	stop := reportThreadCPU(b)
	for b.Loop() {
		if _, err := fr.Read(pix, 1280, 720, 1); err != nil {
			b.Fatal(err)
		}
	}
	stop()
}

func BenchmarkRecognizeBand(b *testing.B) {
	defer SetOpenCVThreads(OpenCVThreads())
	SetOpenCVThreads(1) // one core, as a worker runs
	sc := synth.RenderScene(1, synth.SceneOptions{Vehicles: sceneCases[:1], GoFontsOnly: true})
	grey := greyMat(b, sc.Image)
	defer grey.Close()
	fr := newTestReader(b)
	defer fr.Close()
	cands := fr.det.Detect(grey)
	if len(cands) == 0 {
		b.Fatal("no candidate")
	}
	c := cands[0]
	b.ReportAllocs()
	stop := reportThreadCPU(b)
	for b.Loop() {
		fr.readCandidate(grey, c)
	}
	stop()
}

// reportThreadCPU locks the benchmark to its OS thread and, when the returned function runs,
// reports the thread's CPU time per operation: with OpenCV on one thread this is what a frame
// costs a worker's core, whatever else loads the machine.
func reportThreadCPU(b *testing.B) func() {
	runtime.LockOSThread()
	start := threadCPU()
	return func() {
		b.ReportMetric(float64(threadCPU()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
		runtime.UnlockOSThread()
	}
}

func TestWithinLength(t *testing.T) {
	in := []plateformat.Ranked{{Text: "DRIVESAFELY"}, {Text: "ABC1234"}, {Text: "ABCD12345"}, {Text: "7ABC1234"}}
	got := withinLength(in, 8)
	if len(got) != 2 || got[0].Text != "ABC1234" || got[1].Text != "7ABC1234" {
		t.Errorf("withinLength = %+v; want ABC1234, 7ABC1234", got)
	}
	if got := withinLength([]plateformat.Ranked{{Text: "MYSTATEISGREAT"}}, 8); len(got) != 0 {
		t.Errorf("a slogan alone: %+v; want none", got)
	}
}

func TestRepetitive(t *testing.T) {
	for text, want := range map[string]bool{"WWWW": true, "WWWWWWH": true, "HHHHH": true, "IWWWWWH": true,
		"III111I": true, "1I1I": true, "ABC1234": false, "AAA1111": false, "1111AB": false, "777": false, "": false, "88B88": true} {
		if got := repetitive(text); got != want {
			t.Errorf("repetitive(%q) = %v; want %v", text, got, want)
		}
	}
}

func TestDedupeReads(t *testing.T) {
	plate := PlateRead{Text: "CKBT", Score: 0.9, Box: image.Rect(369, 423, 542, 522)}
	for _, tc := range []struct {
		name  string
		reads []PlateRead
		want  []string
	}{
		{"one", []PlateRead{plate}, []string{"CKBT"}},
		{"same plate twice", []PlateRead{{Text: "CK8T", Score: 0.5, Box: image.Rect(372, 420, 540, 520)}, plate},
			[]string{"CKBT"}},
		{"slogan inside the plate", []PlateRead{{Text: "WINTAT", Score: 0.5, Box: image.Rect(440, 481, 517, 526)}, plate},
			[]string{"CKBT"}},
		{"a plate is not inside a better slogan", []PlateRead{plate, {Text: "WINTAT", Score: 0.95, Box: image.Rect(440, 481, 517, 526)}},
			[]string{"WINTAT", "CKBT"}},
		{"banner inside a better plate", []PlateRead{{Text: "OUISI", Score: 0.3, Box: image.Rect(418, 418, 501, 466)}, plate},
			[]string{"CKBT"}},
		{"two vehicles", []PlateRead{plate, {Text: "DT2846", Score: 0.8, Box: image.Rect(600, 400, 760, 480)}},
			[]string{"CKBT", "DT2846"}},
		// With measured character rows the registration (rows twice as tall) wins over a
		// banner read more surely, also where the banner's box is offset above the plate's.
		{"taller row wins", []PlateRead{{Text: "CKBT", Score: 0.6, Box: plate.Box, rowHeight: 40},
			{Text: "MEXIC", Score: 0.95, Box: image.Rect(380, 380, 530, 470), rowHeight: 15}}, []string{"CKBT"}},
		{"rows alike: the better score", []PlateRead{{Text: "CKBT", Score: 0.6, Box: plate.Box, rowHeight: 40},
			{Text: "CK8T", Score: 0.9, Box: image.Rect(372, 420, 540, 520), rowHeight: 38}}, []string{"CK8T"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, r := range dedupeReads(tc.reads) {
				got = append(got, r.Text)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("dedupeReads = %v; want %v", got, tc.want)
			}
		})
	}
}

// TestFrameReaderCrops checks that Crops hands out what Read reads: as many crops as Read
// reads candidates, each of the reader's crop sizes, and the crop of the plate is read as the
// plate by the recognizer.
func TestFrameReaderCrops(t *testing.T) {
	fr := newTestReader(t)
	defer fr.Close()
	sc := synth.RenderScene(1, synth.SceneOptions{Vehicles: sceneCases[:1], GoFontsOnly: true})
	pix := greyPix(sc.Image)
	if _, err := fr.Read(pix, 1280, 720, 1); err != nil {
		t.Fatal(err)
	}
	want := fr.LastTiming().Candidates
	m, err := gocv.NewMatFromBytes(720, 1280, gocv.MatTypeCV8UC1, pix)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	rec, err := NewRecognizer()
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	n, read := 0, false
	err = fr.Crops(m, func(d Detection, cut Region, crop gocv.Mat) bool {
		if !cut.Bounds().Overlaps(d.Box) {
			t.Errorf("crop %d: region %v is off its detection %v", n+1, cut.Bounds(), d.Box)
		}
		n++
		if sz := (image.Pt(crop.Cols(), crop.Rows())); sz != image.Pt(bandW, bandH) && sz != image.Pt(plateW, plateH) {
			t.Errorf("crop %d is %v; want %dx%d or %dx%d", n, sz, bandW, bandH, plateW, plateH)
		}
		if rd, err := rec.Read(crop); err == nil && rd.Text == sc.Plates[0].Text && iou(d.Box, sc.Plates[0].Box) > 0.4 {
			read = true
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != want || n == 0 {
		t.Errorf("Crops yielded %d crops; Read read %d candidates", n, want)
	}
	if !read {
		t.Errorf("no crop at the plate read as %q", sc.Plates[0].Text)
	}
	stop := 0
	if err := fr.Crops(m, func(Detection, Region, gocv.Mat) bool { stop++; return false }); err != nil || stop != 1 {
		t.Errorf("Crops went on after yield returned false: %d calls, %v", stop, err)
	}
	empty := gocv.NewMat()
	defer empty.Close()
	if err := fr.Crops(empty, func(Detection, Region, gocv.Mat) bool { return true }); !errors.Is(err, ErrFrameSize) {
		t.Errorf("Crops(empty) = %v; want ErrFrameSize", err)
	}
}

func TestFrameReaderCropRegion(t *testing.T) {
	plate := Region{CX: 300, CY: 200, Width: 120, Height: 60, Angle: 3}
	band := Region{CX: 300, CY: 205, Width: 90, Height: 30, Angle: 3}
	loose := plate
	loose.Width, loose.Height = plate.Width*shortRowLoose, plate.Height*shortRowLoose
	cases := []struct {
		name string
		mode CropMode
		det  Detection
		want Region
		size image.Point
	}{
		{"whole row: the band", CropAuto, Detection{Plate: plate, Band: band, HasBand: true}, band, image.Pt(bandW, bandH)},
		{"short row: the plate, loose", CropAuto, Detection{Plate: plate, Band: band}, loose, image.Pt(plateW, plateH)},
		{"plate without a row (learned): as given", CropAuto, Detection{Plate: plate}, plate, image.Pt(plateW, plateH)},
		{"CropPlate: the plate", CropPlate, Detection{Plate: plate, Band: band, HasBand: true}, plate, image.Pt(plateW, plateH)},
		{"CropBand: the band", CropBand, Detection{Plate: plate, Band: band}, band, image.Pt(bandW, bandH)},
		{"CropBand without a band: the plate", CropBand, Detection{Plate: plate}, plate, image.Pt(plateW, plateH)},
	}
	grey := gocv.NewMatWithSize(480, 640, gocv.MatTypeCV8UC1)
	defer grey.Close()
	f := &FrameReader{opt: FrameReaderOptions{Crop: CropAuto}, rect: NewRectifier()}
	defer f.rect.Close()
	for _, c := range cases {
		f.opt.Crop = c.mode
		crop, cut := f.crop(grey, c.det)
		if cut != c.want {
			t.Errorf("%s: cut %+v; want %+v", c.name, cut, c.want)
		}
		if sz := image.Pt(crop.Cols(), crop.Rows()); sz != c.size {
			t.Errorf("%s: crop %v; want %v", c.name, sz, c.size)
		}
	}
}
