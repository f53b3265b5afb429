// A thin layer over OpenCV DNN for the recognizer's network: gocv does not wrap
// Net::quantize. Every OpenCV exception is caught here and returned as a message, so
// that none reaches Go (an exception through cgo aborts the process).
#include <opencv2/dnn.hpp>
#include <cstring>
#include <string>
#include "dnn_net.h"

struct lprd_net {
	cv::dnn::Net net;
	int c, h, w; // the input's shape (batch 1)
};

static void set_err(char* err, int errlen, const std::string& msg) {
	if (errlen <= 0) return;
	std::strncpy(err, msg.c_str(), errlen - 1);
	err[errlen - 1] = 0;
}

// lprd_net_load reads an ONNX model from memory. With calib (n inputs of c x h x w floats)
// it quantizes the network to 8-bit integers (Net::quantize: weights per output channel,
// activation ranges from calib; float input and output). NULL and a message on failure.
lprd_net* lprd_net_load(const void* model, size_t len, const float* calib, int n, int c, int h, int w, char* err, int errlen) {
	try {
		cv::dnn::Net net = cv::dnn::readNetFromONNX(static_cast<const char*>(model), len);
		if (net.empty()) {
			set_err(err, errlen, "the ONNX model has no layers");
			return nullptr;
		}
		if (calib != nullptr) {
			int sz[] = {n, c, h, w};
			std::vector<cv::Mat> data{cv::Mat(4, sz, CV_32F, const_cast<float*>(calib))};
			net = net.quantize(data, CV_32F, CV_32F);
		}
		return new lprd_net{net, c, h, w};
	} catch (const std::exception& e) {
		set_err(err, errlen, e.what());
	} catch (...) {
		set_err(err, errlen, "unknown OpenCV error");
	}
	return nullptr;
}

// lprd_net_forward runs the network on one input of the shape it was loaded with and copies
// its single output to out; it returns the output's size in floats, or -1 with a message when
// it fails or the output is larger than outlen.
int lprd_net_forward(lprd_net* net, const float* in, float* out, int outlen, char* err, int errlen) {
	try {
		int sz[] = {1, net->c, net->h, net->w};
		net->net.setInput(cv::Mat(4, sz, CV_32F, const_cast<float*>(in)));
		cv::Mat o = net->net.forward();
		if (o.type() != CV_32F || !o.isContinuous()) {
			set_err(err, errlen, "the output is not a continuous float tensor");
			return -1;
		}
		int total = static_cast<int>(o.total());
		if (total > outlen) {
			set_err(err, errlen, "the output has " + std::to_string(total) + " values, more than " + std::to_string(outlen));
			return -1;
		}
		std::memcpy(out, o.ptr<float>(), total * sizeof(float));
		return total;
	} catch (const std::exception& e) {
		set_err(err, errlen, e.what());
	} catch (...) {
		set_err(err, errlen, "unknown OpenCV error");
	}
	return -1;
}

void lprd_net_free(lprd_net* net) { delete net; }
