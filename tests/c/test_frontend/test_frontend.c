/* Test stand-in "frontend": out[i] = high byte of every 4th sample. It lets the
 * server's audio path (chunked LOAD_AUDIO, INFER from audio, frontend ticks)
 * be checked exactly before the real frontend exists. */
#include "edgekws/frontend.h"

int fe_extract_int8(const int16_t *pcm, uint32_t n_samples, int8_t *out, uint32_t out_len)
{
    for (uint32_t i = 0; i < out_len; i++) {
        uint32_t k = 4u * i;
        out[i] = (int8_t)(k < n_samples ? (pcm[k] >> 8) : 0);
    }
    return 0;
}
