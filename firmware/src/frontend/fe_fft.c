/*
 * fe_fft.c - windowing and the real FFT power spectrum of one frame.
 *
 * A real n_fft-point FFT as an M = n_fft/2 point complex FFT of the packed
 * sequence z[n] = x[2n] + i x[2n+1], then the split
 *     2 X[k] = A + W^k (-i B),  A = Z[k] + conj(Z[M-k]),  B = Z[k] - conj(Z[M-k]),
 *     W = exp(-2 pi i / n_fft),
 * and |X[k]|^2 = (Re^2 + Im^2) / 4, only for the bins the mel bands use.
 * The complex FFT is iterative radix-2 decimation in time on bit-reversed input;
 * its first two stages (twiddles 1 and -i, no multiplications) run fused as one
 * pass, the others fused in pairs (radix-2^2 order: half the loads and stores,
 * the same butterflies). Every other butterfly is t = b * w = (br*wr - bi*wi, br*wi + bi*wr),
 * a' = a + t, b' = a - t: the exact operations of the host twin
 * (edgekws.frontend.device), so the float32 results are identical.
 *
 * Measured on the emulated Cortex-M7 (benchmarks/frontend_device.py, QEMU
 * -icount, kws-mfcc-49x10): one 20 ms hop (this power spectrum plus mel, log,
 * DCT and int8) costs ~63,600 instructions, 1.5 % of the hop at 216 MHz and
 * 29 % of the 216,000-instruction budget; the power spectrum is ~85 % of it
 * (76,400 before the stage pairs were fused). Float32 on the FPU is well
 * inside the budget and lets the host twin be bit-exact, so there is no
 * fixed-point variant. Code 1.0 KB; tables 11.5 KB of flash; 5.2 KB of .bss.
 */
#if defined(__has_include)
#if __has_include("edgekws_frontend_tables.h")
#define FE_HAVE_TABLES 1
#endif
#endif
#ifdef FE_HAVE_TABLES
#include "edgekws_frontend_tables.h"
#if defined(EDGEKWS_FE_KIND_MICRO) && EDGEKWS_FE_KIND_MICRO
#undef FE_HAVE_TABLES /* TFLM frontend tables: fe_micro*.c compute that frontend */
#endif
#endif

#ifdef FE_HAVE_TABLES

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#include "fe_internal.h"

#define M EDGEKWS_FE_FFT_LEN
#define WIN EDGEKWS_FE_WIN_LENGTH

#if (M & (M - 1u)) != 0u || M < 2u
#error "EDGEKWS_FE_FFT_LEN must be a power of two >= 2"
#endif
#if EDGEKWS_FE_N_USED > M + 1u
#error "EDGEKWS_FE_N_USED exceeds the real FFT's bins"
#endif

static void pack_windowed(const int16_t *x, float *buf)
{
    const float pcm_scale = 1.0f / 32768.0f;
    const float *w = edgekws_fe_window;
    const uint16_t *rev = edgekws_fe_bitrev;
    uint32_t n = 0;
    for (; 2u * n + 1u < WIN; n++) {
        float *p = buf + 2u * rev[n];
        p[0] = ((float)x[2u * n] * pcm_scale) * w[2u * n];
        p[1] = ((float)x[2u * n + 1u] * pcm_scale) * w[2u * n + 1u];
    }
    if (2u * n < WIN) { /* odd window: the last sample pairs with a zero */
        float *p = buf + 2u * rev[n];
        p[0] = ((float)x[2u * n] * pcm_scale) * w[2u * n];
        p[1] = 0.0f;
        n++;
    }
    for (; n < M; n++) {
        float *p = buf + 2u * rev[n];
        p[0] = 0.0f;
        p[1] = 0.0f;
    }
}

static void fft_complex(float *buf)
{
    uint32_t h = 1u;
#if M >= 4u
    /* stages h = 1 and h = 2 fused: twiddles 1 (h = 1, 2) and -i (h = 2) */
    for (uint32_t g = 0; g < M; g += 4u) {
        float *p = buf + 2u * g;
        const float a0r = p[0] + p[2], a0i = p[1] + p[3];
        const float a1r = p[0] - p[2], a1i = p[1] - p[3];
        const float a2r = p[4] + p[6], a2i = p[5] + p[7];
        const float a3r = p[4] - p[6], a3i = p[5] - p[7];
        p[0] = a0r + a2r;
        p[1] = a0i + a2i;
        p[4] = a0r - a2r;
        p[5] = a0i - a2i;
        p[2] = a1r + a3i; /* a1 + (-i) a3 */
        p[3] = a1i - a3r;
        p[6] = a1r - a3i;
        p[7] = a1i + a3r;
    }
    h = 4u;
#endif
    /* the other stages two at a time (h and 2h fused: each point loaded and stored once
     * per pair of stages; the same butterflies, so the same numbers), then a last one alone */
    const float *tw = edgekws_fe_fft_twiddle;
    for (; 2u * h < M; h <<= 2) {
        const uint32_t step1 = M / (2u * h), step2 = M / (4u * h);
        for (uint32_t j = 0; j < h; j++) {
            const float w1r = tw[2u * j * step1], w1i = tw[2u * j * step1 + 1u];
            const float w2r = tw[2u * j * step2], w2i = tw[2u * j * step2 + 1u];
            const float w3r = tw[2u * (j + h) * step2], w3i = tw[2u * (j + h) * step2 + 1u];
            for (uint32_t g = j; g < M; g += 4u * h) {
                float *p0 = buf + 2u * g;
                float *p1 = p0 + 2u * h;
                float *p2 = p1 + 2u * h;
                float *p3 = p2 + 2u * h;
                /* stage h: (p0, p1) and (p2, p3), twiddle w1 */
                float br = p1[0], bi = p1[1];
                float tr = br * w1r - bi * w1i;
                float ti = br * w1i + bi * w1r;
                const float a0r = p0[0] + tr, a0i = p0[1] + ti;
                const float a1r = p0[0] - tr, a1i = p0[1] - ti;
                br = p3[0];
                bi = p3[1];
                tr = br * w1r - bi * w1i;
                ti = br * w1i + bi * w1r;
                const float a2r = p2[0] + tr, a2i = p2[1] + ti;
                const float a3r = p2[0] - tr, a3i = p2[1] - ti;
                /* stage 2h: (p0, p2) with w2, (p1, p3) with w3 */
                tr = a2r * w2r - a2i * w2i;
                ti = a2r * w2i + a2i * w2r;
                p0[0] = a0r + tr;
                p0[1] = a0i + ti;
                p2[0] = a0r - tr;
                p2[1] = a0i - ti;
                tr = a3r * w3r - a3i * w3i;
                ti = a3r * w3i + a3i * w3r;
                p1[0] = a1r + tr;
                p1[1] = a1i + ti;
                p3[0] = a1r - tr;
                p3[1] = a1i - ti;
            }
        }
    }
    for (; h < M; h <<= 1) {
        const uint32_t step = M / (2u * h);
        for (uint32_t j = 0; j < h; j++) {
            const float wr = tw[2u * j * step];
            const float wi = tw[2u * j * step + 1u];
            for (uint32_t g = j; g < M; g += 2u * h) {
                float *pa = buf + 2u * g;
                float *pb = pa + 2u * h;
                const float br = pb[0], bi = pb[1];
                const float tr = br * wr - bi * wi;
                const float ti = br * wi + bi * wr;
                const float ar = pa[0], ai = pa[1];
                pa[0] = ar + tr;
                pa[1] = ai + ti;
                pb[0] = ar - tr;
                pb[1] = ai - ti;
            }
        }
    }
}

static void split_power(const float *buf, float *power)
{
    const float *tw = edgekws_fe_rfft_twiddle;
    for (uint32_t k = 0; k < EDGEKWS_FE_N_USED; k++) {
        const float *zk = buf + 2u * (k & (M - 1u));
        const float *zc = buf + 2u * ((M - k) & (M - 1u));
        const float a_r = zk[0] + zc[0], a_i = zk[1] - zc[1];
        const float b_r = zk[0] - zc[0], b_i = zk[1] + zc[1];
        const float c = tw[2u * k], s = tw[2u * k + 1u];
        const float xr = a_r + (c * b_i - s * b_r);
        const float xi = a_i - (c * b_r + s * b_i);
        power[k] = (xr * xr + xi * xi) * 0.25f;
    }
}

void fe_power_spectrum(const int16_t *x, float *buf, float *power)
{
    pack_windowed(x, buf);
    fft_complex(buf);
    split_power(buf, power);
}

#else
/* The model was exported without frontend tables: nothing to build. */
typedef int fe_fft_unused_t;
#endif
