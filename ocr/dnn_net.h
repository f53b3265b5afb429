#ifndef LPRD_DNN_NET_H
#define LPRD_DNN_NET_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
typedef struct lprd_net lprd_net;
lprd_net* lprd_net_load(const void* model, size_t len, const float* calib, int n, int c, int h, int w, char* err, int errlen);
int lprd_net_forward(lprd_net* net, const float* in, float* out, int outlen, char* err, int errlen);
void lprd_net_free(lprd_net* net);
#ifdef __cplusplus
}
#endif
#endif
