#include <opencv2/core.hpp>
#include "pipeline_threads.h"

void lprd_set_num_threads(int n) { cv::setNumThreads(n); }
int lprd_get_num_threads(void) { return cv::getNumThreads(); }
