/*
 * fuzz_frontend.c - the device frontend (src/frontend) with arbitrary lengths.
 *
 * Input: u32 LE requested out_len | u8 mode | int16 LE samples. The samples are
 * handed over in an exact-size heap copy (the caller's true sample count), the
 * output buffer is exactly out_len long, so any read or write outside either
 * is an ASan report. mode bit0 asks for the exact out_len the clip needs
 * (reaching the feature code), otherwise the fuzzer's out_len is used
 * (reaching the length checks). The clip also streams through fe_push_hop().
 * Checks: FE_OK only when out_len matches fe_num_frames(n) * features; a
 * refused call writes nothing; streaming emits frames only after a full window.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgekws/frontend.h"

#define FUZZ_FAIL(msg) (fprintf(stderr, "fuzz finding: %s\n", msg), abort())
/* Longest output the target allocates (64 K features). */
#define FUZZ_MAX_OUT 65536u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5) {
        return 0;
    }
    uint32_t want = (uint32_t)data[0] | ((uint32_t)data[1] << 8) | ((uint32_t)data[2] << 16) |
                    ((uint32_t)data[3] << 24);
    uint8_t mode = data[4];
    uint32_t n = (uint32_t)((size - 5) / 2u);
    int16_t *pcm = (int16_t *)malloc(n > 0 ? n * sizeof(int16_t) : 2u);
    if (pcm == NULL) {
        return 0;
    }
    for (uint32_t i = 0; i < n; i++) {
        pcm[i] = (int16_t)(uint16_t)(data[5 + 2 * i] | (data[6 + 2 * i] << 8));
    }
    uint32_t frames = fe_num_frames(n);
    uint32_t need = frames * FE_NUM_FEATURES;
    uint32_t out_len = (mode & 1u) ? need : want % (FUZZ_MAX_OUT + 1u);
    int8_t *out = (int8_t *)malloc(out_len > 0 ? out_len : 1u);
    if (out == NULL) {
        free(pcm);
        return 0;
    }
    memset(out, 0x5A, out_len > 0 ? out_len : 1u);
    int rc = fe_extract_int8(pcm, n, out, out_len);
    if (rc == FE_OK && (frames == 0 || out_len != need)) {
        FUZZ_FAIL("fe_extract_int8 accepted a length it cannot fill");
    }
    if (rc != FE_OK) {
        for (uint32_t i = 0; i < out_len; i++) {
            if (out[i] != 0x5A) {
                FUZZ_FAIL("a refused fe_extract_int8 wrote its output");
            }
        }
    }
    if ((mode & 2u) && out_len <= FUZZ_MAX_OUT) {
        float *fout = (float *)malloc((out_len > 0 ? out_len : 1u) * sizeof(float));
        if (fout != NULL) {
            (void)fe_extract_float(pcm, n, fout, out_len);
            free(fout);
        }
    }
    /* Streaming: whole hops only, as the device feeds them. */
    fe_state_t st;
    fe_init(&st);
    int8_t frame[FE_NUM_FEATURES];
    uint32_t hops = n / FE_HOP_LENGTH;
    uint32_t emitted = 0;
    for (uint32_t h = 0; h < hops; h++) {
        int r = fe_push_hop(&st, pcm + (size_t)h * FE_HOP_LENGTH, frame);
        if (r == FE_FRAME_READY) {
            emitted++;
        } else if (r != FE_OK) {
            FUZZ_FAIL("fe_push_hop failed on valid pointers");
        }
    }
    if (emitted != fe_num_frames(hops * FE_HOP_LENGTH)) {
        FUZZ_FAIL("streaming emitted a different number of frames than the clip has");
    }
    if (fe_push_hop(NULL, pcm, frame) != FE_ERR_ARG || fe_extract_int8(NULL, n, out, out_len) != FE_ERR_ARG) {
        FUZZ_FAIL("NULL pointer not refused");
    }
    free(out);
    free(pcm);
    return 0;
}
