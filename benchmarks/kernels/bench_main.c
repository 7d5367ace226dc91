/*
 * bench_main.c - per-kernel instruction counts in the emulated Cortex-M7.
 *
 * benchmarks/kernels.py generates bench_data.h: a table of layer cases, each
 * with one entry per backend (weights already re-laid by the exporter's
 * registry). Every case runs its ref entry first; every other backend's output
 * is compared with ref's on the device, so the figures are only printed for
 * kernels that are bit-exact here too. Counts are board_counter() deltas
 * (QEMU -icount: instructions), minus the cost of an empty measurement,
 * averaged over the case's repetitions.
 *
 * Output, one line per entry:
 *   kernel <layer> <backend> macs=<n> instructions=<n> match=<0|1> rc=<n>
 * then "bench done fails=<n>"; the exit status is the number of failures.
 */
#include <stdint.h>
#include <string.h>

#include "edgekws/board.h"
#include "edgekws/nn.h"
#include "edgekws/nn_simd.h"
#include "edgekws/nn_sparse.h"

typedef struct {
    const char *layer;
    const char *backend;
    int is_fc;
    nn_conv_fn conv;
    nn_fc_fn fc;
    nn_conv_params_t cp;
    nn_fc_params_t fp;
    nn_dims_t in_dims, filter_dims, out_dims;
    const int8_t *weights;
    const int32_t *bias;
    const int32_t *multiplier;
    const int32_t *shift;
    const void *aux;
    uint32_t aux_size;
    uint32_t scratch_size;
    const int8_t *input;
    uint32_t out_size;
    uint32_t macs;
    uint32_t reps;
} bench_entry_t;

#include "bench_data.h"

static uint32_t scratch_words[BENCH_MAX_SCRATCH / 4 + 1];
static int8_t out_buf[BENCH_MAX_OUT];
static int8_t ref_buf[BENCH_MAX_OUT];

static void put_str(const char *s)
{
    board_uart_write((const uint8_t *)s, strlen(s));
}

static void put_u32(uint32_t v)
{
    char buf[11];
    int i = 10;
    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0u);
    put_str(&buf[i]);
}

static void put_i32(int32_t v)
{
    if (v < 0) {
        put_str("-");
        put_u32((uint32_t)(-(int64_t)v));
    } else {
        put_u32((uint32_t)v);
    }
}

static int run_entry(const bench_entry_t *e)
{
    const nn_context_t ctx = {scratch_words, e->scratch_size, e->aux, e->aux_size};
    const nn_quant_t q = {e->multiplier, e->shift};
    if (e->is_fc) {
        return e->fc(&ctx, &e->fp, &q, &e->in_dims, e->input, &e->filter_dims, e->weights, e->bias, &e->out_dims,
                     out_buf);
    }
    return e->conv(&ctx, &e->cp, &q, &e->in_dims, e->input, &e->filter_dims, e->weights, e->bias, &e->out_dims,
                   out_buf);
}

int main(void)
{
    board_init();
    /* cost of the measurement itself */
    uint32_t t0 = board_counter();
    uint32_t t1 = board_counter();
    const uint32_t overhead = t1 - t0;
    int fails = 0;
    put_str("bench begin unit=");
    put_str(board_counter_unit());
    put_str(" entries=");
    put_u32(BENCH_N_ENTRIES);
    put_str("\n");
    for (uint32_t i = 0; i < BENCH_N_ENTRIES; ++i) {
        const bench_entry_t *e = &bench_entries[i];
        int rc = 0;
        memset(out_buf, 0, sizeof out_buf);
        t0 = board_counter();
        for (uint32_t r = 0; r < e->reps; ++r) {
            rc |= run_entry(e);
        }
        t1 = board_counter();
        const uint32_t total = t1 - t0 - overhead;
        int match = 1;
        if (strcmp(e->backend, "ref") == 0) {
            memcpy(ref_buf, out_buf, e->out_size);
        } else {
            match = memcmp(ref_buf, out_buf, e->out_size) == 0;
        }
        fails += (rc != 0) || !match;
        put_str("kernel ");
        put_str(e->layer);
        put_str(" ");
        put_str(e->backend);
        put_str(" macs=");
        put_u32(e->macs);
        put_str(" instructions=");
        put_u32(total / e->reps);
        put_str(" match=");
        put_u32((uint32_t)match);
        put_str(" rc=");
        put_i32(rc);
        put_str("\n");
    }
    put_str("bench done fails=");
    put_u32((uint32_t)fails);
    put_str("\n");
    board_exit(fails);
}
