package ocr

/*
#cgo pkg-config: opencv4
#cgo CXXFLAGS: --std=c++11
#include "dnn_net.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// dnnNet is a network of fixed input shape run by OpenCV DNN through lprd's own thin C++
// layer (dnn_net.cpp), which can quantize it: gocv cannot. One goroutine at a time.
type dnnNet struct {
	p    *C.lprd_net
	size int // floats per input
	out  []float32
	msg  []C.char // room for an OpenCV error message, kept so that forward does not allocate
}

// errLen is the room for an OpenCV error message.
const errLen = 512

// loadNet reads an ONNX model of input 1 x c x h x w and outputs of at most outLen floats.
// With calib (inputs of c*h*w floats each, back to back) it quantizes the network to 8-bit
// integers, calibrating its activations on them.
func loadNet(model []byte, c, h, w, outLen int, calib []float32) (*dnnNet, error) {
	if len(model) == 0 {
		return nil, errors.New("empty model")
	}
	k := c * h * w
	if len(calib)%k != 0 {
		return nil, fmt.Errorf("calibration data of %d floats is not a whole number of %dx%dx%d inputs", len(calib), c, h, w)
	}
	var cal *C.float
	if len(calib) > 0 {
		cal = (*C.float)(unsafe.Pointer(&calib[0]))
	}
	var msg [errLen]C.char
	p := C.lprd_net_load(unsafe.Pointer(&model[0]), C.size_t(len(model)), cal, C.int(len(calib)/k), C.int(c), C.int(h), C.int(w), &msg[0], errLen)
	if p == nil {
		return nil, fmt.Errorf("OpenCV: %s", C.GoString(&msg[0]))
	}
	return &dnnNet{p: p, size: k, out: make([]float32, outLen), msg: make([]C.char, errLen)}, nil
}

// forward runs the network on one input of c*h*w floats; the result is valid until the next
// call.
func (n *dnnNet) forward(in []float32) ([]float32, error) {
	if len(in) != n.size {
		return nil, fmt.Errorf("input of %d floats, want %d", len(in), n.size)
	}
	got := C.lprd_net_forward(n.p, (*C.float)(unsafe.Pointer(&in[0])), (*C.float)(unsafe.Pointer(&n.out[0])), C.int(len(n.out)),
		&n.msg[0], errLen)
	if got < 0 {
		return nil, fmt.Errorf("OpenCV: %s", C.GoString(&n.msg[0]))
	}
	return n.out[:got], nil
}

func (n *dnnNet) close() {
	if n.p != nil {
		C.lprd_net_free(n.p)
		n.p = nil
	}
}
