// Package synth renders synthetic licence plates for training, tests and demos.
//
// RenderPlate draws a whole plate (banner text above, slogan below, coloured or
// gradient backgrounds, graphics, stickers, bolts, frames, separators) with a
// known text and the boxes of its characters. Photograph degrades a rendered
// plate the way a lane camera sees it (perspective, low resolution, blur,
// noise, uneven light, glare, shadows, infrared-like colour loss, JPEG
// artefacts) and crops it loosely or tightly, or around its character band.
//
// Everything is deterministic for a seed and a font set. Go's own gofont faces
// are always available; condensed and bold sans faces from Debian font packages
// are added when they are installed (see SystemFontPaths), together with the
// stroke faces of strokefont.go (DMV-style lettering drawn from centre lines,
// used for most plate texts). That changes the output for a seed, so tests
// that need fixed pixels set Options.GoFontsOnly.
//
// The package writes nothing to disk: images stay in memory.
package synth
