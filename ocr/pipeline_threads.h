#ifndef LPRD_PIPELINE_THREADS_H
#define LPRD_PIPELINE_THREADS_H
#ifdef __cplusplus
extern "C" {
#endif
void lprd_set_num_threads(int n);
int lprd_get_num_threads(void);
#ifdef __cplusplus
}
#endif
#endif
