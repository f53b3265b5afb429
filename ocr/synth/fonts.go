package synth

import (
	"image"
	"image/draw"
	"os"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gomedium"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/gofont/gosmallcaps"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// glyphCapHeight is the cap height, in pixels, at which glyph masks are
// rasterized once and then scaled to the plate.
const glyphCapHeight = 64

// glyphRunes are the runes every face rasterizes.
const glyphRunes = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-.'&! "

// SystemFontPaths lists font files used in addition to gofont when they exist.
// Plate lists condensed and bold sans text faces; Signage lists highway,
// signage and condensed display faces (closest to US plate lettering, used
// for plate characters only); Banner lists faces used only for banners and
// slogans.
var SystemFontPaths = struct{ Plate, Signage, Banner []string }{
	Plate: []string{
		"/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf",
		"/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed.ttf",
		"/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
		"/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf",
		"/usr/share/fonts/opentype/urw-base35/NimbusSansNarrow-Bold.otf",
		"/usr/share/fonts/opentype/urw-base35/NimbusSansNarrow-Regular.otf",
		"/usr/share/fonts/opentype/urw-base35/NimbusSans-Bold.otf",
		"/usr/share/fonts/opentype/urw-base35/URWGothic-Demi.otf",
		"/usr/share/fonts/truetype/roboto/unhinted/RobotoCondensed-Bold.ttf",
		"/usr/share/fonts/truetype/roboto/unhinted/RobotoCondensed-Medium.ttf",
		"/usr/share/fonts/truetype/roboto/unhinted/RobotoCondensed-Regular.ttf",
		"/usr/share/fonts/truetype/liberation2/LiberationSans-Bold.ttf",
		"/usr/share/fonts/truetype/liberation2/LiberationMono-Bold.ttf",
		"/usr/share/fonts/truetype/croscore/Arimo-Bold.ttf",
		"/usr/share/fonts/truetype/croscore/Cousine-Bold.ttf",
		"/usr/share/fonts/truetype/freefont/FreeSansBold.ttf",
		"/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
		"/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
	},
	// Highway Gothic (FHWA series B-D, which many US plates use or
	// resemble), signage and condensed display faces: narrow digits whose
	// 0, 8, 3 and 1 a reader that saw only text faces takes for O/U, B, 5
	// and I. Their flat-topped 3, stadium 0 and O and plain 1 are what real
	// plates look like.
	Signage: []string{
		"/usr/share/fonts/truetype/roadgeek/RG2014B.ttf",
		"/usr/share/fonts/truetype/roadgeek/RG2014C.ttf",
		"/usr/share/fonts/truetype/roadgeek/RG2014D.ttf",
		"/usr/share/fonts/opentype/national-park/NationalPark-Heavy.otf",
		"/usr/share/fonts/opentype/national-park/NationalPark-Regular.otf",
		"/usr/share/fonts/opentype/bebas-neue/BebasNeue-Bold.otf",
		"/usr/share/fonts/opentype/bebas-neue/BebasNeue-Regular.otf",
		"/usr/share/fonts/truetype/opendin/OSP-DIN.ttf",
		"/usr/share/fonts/opentype/yanone-kaffeesatz/YanoneKaffeesatz-Bold.otf",
		"/usr/share/fonts/truetype/paratype/PTN77F.ttf",
		"/usr/share/fonts/truetype/paratype/PTN57F.ttf",
	},
	Banner: []string{
		"/usr/share/fonts/opentype/urw-base35/NimbusRoman-Bold.otf",
		"/usr/share/fonts/opentype/urw-base35/C059-Bold.otf",
		"/usr/share/fonts/opentype/urw-base35/Z003-MediumItalic.otf",
		"/usr/share/fonts/opentype/urw-base35/P052-BoldItalic.otf",
		"/usr/share/fonts/opentype/urw-base35/URWBookman-Demi.otf",
		"/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf",
		"/usr/share/fonts/truetype/dejavu/DejaVuSans-BoldOblique.ttf",
		"/usr/share/fonts/truetype/freefont/FreeSerifBoldItalic.ttf",
		"/usr/share/fonts/truetype/liberation2/LiberationSerif-Bold.ttf",
	},
}

// glyph is one rune rasterized at glyphCapHeight.
type glyph struct {
	mask    *image.Alpha // nil for blank glyphs
	off     image.Point  // top-left of mask relative to the pen position on the baseline
	advance float64
}

// face is a font rasterized once; it is immutable after loading and safe for
// concurrent use.
type face struct {
	name   string
	glyphs map[rune]glyph
}

func loadFace(name string, data []byte) (*face, error) {
	f, err := opentype.Parse(data)
	if err != nil {
		return nil, err
	}
	// Find the size that gives glyphCapHeight for 'H'.
	size := float64(glyphCapHeight) * 1.4
	for range 2 {
		fc, err := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingNone})
		if err != nil {
			return nil, err
		}
		b, _, ok := fc.GlyphBounds('H')
		fc.Close()
		if !ok || b.Min.Y >= 0 {
			break
		}
		capH := float64(-b.Min.Y) / 64
		size *= glyphCapHeight / capH
	}
	fc, err := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		return nil, err
	}
	defer fc.Close()
	fa := &face{name: name, glyphs: map[rune]glyph{}}
	for _, r := range glyphRunes {
		dr, mask, mp, adv, ok := fc.Glyph(fixed.P(0, 0), r)
		if !ok {
			continue
		}
		g := glyph{advance: float64(adv) / 64, off: dr.Min}
		if !dr.Empty() {
			a := image.NewAlpha(image.Rect(0, 0, dr.Dx(), dr.Dy()))
			draw.Draw(a, a.Bounds(), mask, mp, draw.Src)
			g.mask = a
		}
		fa.glyphs[r] = g
	}
	for _, r := range "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" {
		if _, ok := fa.glyphs[r]; !ok {
			return nil, os.ErrInvalid
		}
	}
	return fa, nil
}

// fontSet holds the faces for plate characters and for banners, and the
// signage and stroke faces (plate characters only, see strokefont.go).
type fontSet struct {
	plate, banner, signage, stroke []*face
}

var (
	goOnce, sysOnce sync.Once
	goFonts         fontSet
	allFonts        fontSet
)

func goFontSet() fontSet {
	goOnce.Do(func() {
		for _, f := range []struct {
			name string
			data []byte
		}{
			{"gobold", gobold.TTF}, {"gomedium", gomedium.TTF}, {"goregular", goregular.TTF},
			{"gomonobold", gomonobold.TTF},
		} {
			fa, err := loadFace(f.name, f.data)
			if err != nil {
				panic("synth: gofont " + f.name + ": " + err.Error())
			}
			goFonts.plate = append(goFonts.plate, fa)
		}
		fa, err := loadFace("gosmallcaps", gosmallcaps.TTF)
		if err != nil {
			panic("synth: gofont gosmallcaps: " + err.Error())
		}
		goFonts.banner = append(goFonts.banner, fa)
	})
	return goFonts
}

// fonts returns the faces to use: gofont alone, or gofont plus the system
// fonts that are installed.
func fonts(goOnly bool) fontSet {
	g := goFontSet()
	if goOnly {
		return g
	}
	sysOnce.Do(func() {
		allFonts.plate = append(allFonts.plate, g.plate...)
		allFonts.banner = append(allFonts.banner, g.banner...)
		load := func(paths []string) []*face {
			var out []*face
			for _, p := range paths {
				data, err := os.ReadFile(p)
				if err != nil {
					continue
				}
				fa, err := loadFace(p, data)
				if err != nil {
					continue
				}
				out = append(out, fa)
			}
			return out
		}
		allFonts.plate = append(allFonts.plate, load(SystemFontPaths.Plate)...)
		allFonts.signage = load(SystemFontPaths.Signage)
		allFonts.stroke = strokeFaces()
		allFonts.banner = append(allFonts.banner, load(SystemFontPaths.Banner)...)
	})
	return allFonts
}

// FontCount reports how many plate (text, signage and stroke) and banner
// faces are in use.
func FontCount(goOnly bool) (plate, banner int) {
	f := fonts(goOnly)
	return len(f.plate) + len(f.signage) + len(f.stroke), len(f.banner)
}
