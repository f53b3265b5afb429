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
// are added when they are installed (see SystemFontPaths): text faces,
// highway and signage faces (Highway Gothic and the like, closest to US plate
// lettering), together with the stroke faces of strokefont.go (DMV-style
// lettering drawn from centre lines). Plate characters use a stroke face on
// 40 % of plates, a signage face on 30 % and a text face on the rest. That changes the output for a seed, so tests
// that need fixed pixels set Options.GoFontsOnly.
//
// The package writes nothing to disk: images stay in memory.
package synth
