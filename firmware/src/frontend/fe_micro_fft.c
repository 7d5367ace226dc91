/*
 * fe_micro_fft.c - the TFLM frontend's 16-bit fixed-point real FFT.
 *
 * The arithmetic of KISS FFT built with FIXED_POINT=16, which TensorFlow Lite
 * Micro's frontend uses: the N_FFT-point real FFT is an N_FFT/2-point complex
 * FFT of z[n] = x[2n] + i x[2n+1] in radix-4 stages (one radix-2 stage when
 * N_FFT/2 is an odd power of two), every stage first dividing its inputs by
 * the radix (multiply by 32767/radix, round), products rounded to 15
 * fractional bits; then the real-FFT split, halved. Twiddles, the input order
 * and the stage schedule are tables (edgekws.frontend.micro.micro_tables), so
 * the host twin and this code read the same numbers.
 */
#if defined(__has_include)
#if __has_include("edgekws_frontend_tables.h")
#include "edgekws_frontend_tables.h"
#endif
#endif

#if defined(EDGEKWS_FE_KIND_MICRO) && EDGEKWS_FE_KIND_MICRO

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#include "fe_internal.h"

#define NC EDGEKWS_FE_MICRO_NCFFT

/* Round a Q15 product to int16; unsigned adds make the (never expected) wrap defined. */
static inline int16_t sround(int32_t x)
{
    return (int16_t)((int32_t)((uint32_t)x + (1u << 14)) >> 15);
}

static inline fe_cpx16_t fixdiv(fe_cpx16_t c, int32_t k)
{
    const int32_t s = 32767 / k;
    fe_cpx16_t out = {sround(c.r * s), sround(c.i * s)};
    return out;
}

static inline fe_cpx16_t cmul(fe_cpx16_t a, uint32_t tw)
{
    const int32_t wr = edgekws_fe_micro_twiddle[2u * tw];
    const int32_t wi = edgekws_fe_micro_twiddle[2u * tw + 1u];
    fe_cpx16_t out = {sround((int32_t)((uint32_t)(a.r * wr) - (uint32_t)(a.i * wi))),
                      sround((int32_t)((uint32_t)(a.r * wi) + (uint32_t)(a.i * wr)))};
    return out;
}

static void bfly2(fe_cpx16_t *f, uint32_t fstride, uint32_t m)
{
    for (uint32_t u = 0; u < m; u++) {
        const fe_cpx16_t a = fixdiv(f[u], 2);
        const fe_cpx16_t t = cmul(fixdiv(f[u + m], 2), u * fstride);
        f[u + m].r = (int16_t)(a.r - t.r);
        f[u + m].i = (int16_t)(a.i - t.i);
        f[u].r = (int16_t)(a.r + t.r);
        f[u].i = (int16_t)(a.i + t.i);
    }
}

static void bfly4(fe_cpx16_t *f, uint32_t fstride, uint32_t m)
{
    for (uint32_t u = 0; u < m; u++) {
        const fe_cpx16_t a0 = fixdiv(f[u], 4);
        const fe_cpx16_t s0 = cmul(fixdiv(f[u + m], 4), u * fstride);
        const fe_cpx16_t s1 = cmul(fixdiv(f[u + 2u * m], 4), 2u * u * fstride);
        const fe_cpx16_t s2 = cmul(fixdiv(f[u + 3u * m], 4), 3u * u * fstride);
        const fe_cpx16_t s5 = {(int16_t)(a0.r - s1.r), (int16_t)(a0.i - s1.i)};
        const fe_cpx16_t f0 = {(int16_t)(a0.r + s1.r), (int16_t)(a0.i + s1.i)};
        const fe_cpx16_t s3 = {(int16_t)(s0.r + s2.r), (int16_t)(s0.i + s2.i)};
        const fe_cpx16_t s4 = {(int16_t)(s0.r - s2.r), (int16_t)(s0.i - s2.i)};
        f[u + 2u * m].r = (int16_t)(f0.r - s3.r);
        f[u + 2u * m].i = (int16_t)(f0.i - s3.i);
        f[u].r = (int16_t)(f0.r + s3.r);
        f[u].i = (int16_t)(f0.i + s3.i);
        f[u + m].r = (int16_t)(s5.r + s4.i);
        f[u + m].i = (int16_t)(s5.i - s4.r);
        f[u + 3u * m].r = (int16_t)(s5.r - s4.i);
        f[u + 3u * m].i = (int16_t)(s5.i + s4.r);
    }
}

void fe_micro_rfft(const int16_t *x, fe_cpx16_t *z, fe_cpx16_t *out)
{
    for (uint32_t n = 0; n < NC; n++) {
        const uint32_t src = 2u * edgekws_fe_micro_perm[n];
        z[n].r = x[src];
        z[n].i = x[src + 1u];
    }
    for (uint32_t s = 0; s < EDGEKWS_FE_MICRO_N_STAGES; s++) {
        const uint32_t p = edgekws_fe_micro_stage_radix[s];
        const uint32_t m = edgekws_fe_micro_stage_m[s];
        const uint32_t fstride = edgekws_fe_micro_stage_fstride[s];
        for (uint32_t base = 0; base < NC; base += p * m) {
            if (p == 2u) {
                bfly2(z + base, fstride, m);
            } else {
                bfly4(z + base, fstride, m);
            }
        }
    }
    const fe_cpx16_t dc = fixdiv(z[0], 2);
    out[0].r = (int16_t)(dc.r + dc.i);
    out[0].i = 0;
    out[NC].r = (int16_t)(dc.r - dc.i);
    out[NC].i = 0;
    for (uint32_t k = 1; k <= NC / 2u; k++) {
        const fe_cpx16_t pk = fixdiv(z[k], 2);
        const fe_cpx16_t conj = {z[NC - k].r, (int16_t)(-z[NC - k].i)};
        const fe_cpx16_t pnk = fixdiv(conj, 2);
        const fe_cpx16_t f1 = {(int16_t)(pk.r + pnk.r), (int16_t)(pk.i + pnk.i)};
        const fe_cpx16_t f2 = {(int16_t)(pk.r - pnk.r), (int16_t)(pk.i - pnk.i)};
        const int32_t wr = edgekws_fe_micro_super_twiddle[2u * (k - 1u)];
        const int32_t wi = edgekws_fe_micro_super_twiddle[2u * (k - 1u) + 1u];
        const int16_t tr = sround((int32_t)((uint32_t)(f2.r * wr) - (uint32_t)(f2.i * wi)));
        const int16_t ti = sround((int32_t)((uint32_t)(f2.r * wi) + (uint32_t)(f2.i * wr)));
        out[k].r = (int16_t)((f1.r + tr) >> 1);
        out[k].i = (int16_t)((f1.i + ti) >> 1);
        /* at k = NC/2 both halves are the same bin; this second store wins, as in KISS FFT */
        out[NC - k].r = (int16_t)((f1.r - tr) >> 1);
        out[NC - k].i = (int16_t)((ti - f1.i) >> 1);
    }
}

#else
typedef int fe_micro_fft_unused_t;
#endif
