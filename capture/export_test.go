package capture

// Negotiate runs format negotiation on dev as Open would, for the external tests.
func Negotiate(dev Device, opt Options) (Negotiated, error) {
	opt.setDefaults()
	n, _, err := negotiate(dev, &opt)
	return n, err
}

// IsPermanent reports whether err is one that reopening cannot fix.
var IsPermanent = isPermanent

// ImageSize exposes imageSize to the external tests.
var ImageSize = imageSize
