/*
 * nn_dsp.h - the Cortex-M DSP (SIMD32) instructions the fast kernels use,
 * as one portable shim.
 *
 * Why a shim: the simd and sparse kernels must be bit-exact with the ref
 * kernels, and the cheapest way to prove that is to build the *same* kernel
 * source for x86 and compare outputs in pytest. On Arm with the DSP
 * extension (__ARM_FEATURE_DSP, e.g. -mcpu=cortex-m7) every helper maps to
 * one ACLE intrinsic from <arm_acle.h> (or one instruction of inline asm where
 * ACLE has no form, e.g. SXTB16 with a rotation); everywhere else it is an
 * exact C model of the instruction (two's-complement lanes, no saturation
 * except where the instruction saturates).
 *
 * Lane convention (as in the Arm ARM): "bottom" = bits 15:0, "top" = bits 31:16;
 * for a little-endian word of 4 int8 values [b0 b1 b2 b3], SXTB16 gives
 * bottom = b0, top = b2, and SXTB16 ROR #8 gives bottom = b1, top = b3.
 */
#ifndef EDGEKWS_NN_DSP_H
#define EDGEKWS_NN_DSP_H

#include <stdint.h>
#include <string.h>

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && defined(__ARM_FEATURE_SIMD32) && __ARM_FEATURE_SIMD32
#define NN_DSP_ACLE 1
#include <arm_acle.h>
#else
#define NN_DSP_ACLE 0
#endif

#define NN_ALWAYS_INLINE static inline __attribute__((always_inline))

/* Unaligned-safe 32-bit loads/stores (one LDR/STR on Cortex-M7, which allows unaligned LDR). */
NN_ALWAYS_INLINE uint32_t nn_ld32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

NN_ALWAYS_INLINE void nn_st32(void *p, uint32_t v)
{
    memcpy(p, &v, sizeof v);
}

/* Word-aligned 32-bit load from a buffer the kernel itself laid out as int16
 * pairs (scratch columns): aligned, so the compiler may fuse pairs into LDRD. */
NN_ALWAYS_INLINE uint32_t nn_ld32a(const void *p)
{
    return nn_ld32(__builtin_assume_aligned(p, 4));
}

NN_ALWAYS_INLINE uint32_t nn_ror(uint32_t x, unsigned n)
{
    n &= 31u;
    return n == 0u ? x : (x >> n) | (x << (32u - n));
}

/* Halfword lanes of a word as signed values, and a word from two halfwords. */
NN_ALWAYS_INLINE int32_t nn_lo16(uint32_t x) { return (int32_t)(int16_t)(uint16_t)(x & 0xFFFFu); }
NN_ALWAYS_INLINE int32_t nn_hi16(uint32_t x) { return (int32_t)(int16_t)(uint16_t)(x >> 16); }
NN_ALWAYS_INLINE uint32_t nn_pack16(int32_t lo, int32_t hi)
{
    return ((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16);
}

#if NN_DSP_ACLE

NN_ALWAYS_INLINE uint32_t nn_sxtb16(uint32_t x) { return (uint32_t)__sxtb16((int8x4_t)x); }

NN_ALWAYS_INLINE uint32_t nn_sxtb16_ror8(uint32_t x)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}

NN_ALWAYS_INLINE uint32_t nn_sxtab16(uint32_t acc, uint32_t x)
{
    return (uint32_t)__sxtab16((int16x2_t)acc, (int8x4_t)x);
}

NN_ALWAYS_INLINE uint32_t nn_sxtab16_ror8(uint32_t acc, uint32_t x)
{
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(acc), "r"(x));
    return r;
}

NN_ALWAYS_INLINE int32_t nn_smlad(uint32_t a, uint32_t b, int32_t acc)
{
    return __smlad((int16x2_t)a, (int16x2_t)b, acc);
}

NN_ALWAYS_INLINE int32_t nn_smlabb(uint32_t a, uint32_t b, int32_t acc) { return __smlabb((int32_t)a, (int32_t)b, acc); }
NN_ALWAYS_INLINE int32_t nn_smlatb(uint32_t a, uint32_t b, int32_t acc) { return __smlatb((int32_t)a, (int32_t)b, acc); }
NN_ALWAYS_INLINE int32_t nn_smlabt(uint32_t a, uint32_t b, int32_t acc) { return __smlabt((int32_t)a, (int32_t)b, acc); }
NN_ALWAYS_INLINE int32_t nn_smlatt(uint32_t a, uint32_t b, int32_t acc) { return __smlatt((int32_t)a, (int32_t)b, acc); }

/* PKHBT / PKHTB: GCC selects them from these shift-and-mask forms. */
NN_ALWAYS_INLINE uint32_t nn_pkhbt(uint32_t a, uint32_t b, unsigned lsl)
{
    return (a & 0xFFFFu) | ((b << lsl) & 0xFFFF0000u);
}

NN_ALWAYS_INLINE uint32_t nn_pkhtb(uint32_t a, uint32_t b, unsigned asr)
{
    return (a & 0xFFFF0000u) | ((uint32_t)((int32_t)b >> asr) & 0xFFFFu);
}

#else /* exact C models */

NN_ALWAYS_INLINE uint32_t nn_sxtb16(uint32_t x)
{
    return nn_pack16((int8_t)(uint8_t)(x & 0xFFu), (int8_t)(uint8_t)((x >> 16) & 0xFFu));
}

NN_ALWAYS_INLINE uint32_t nn_sxtb16_ror8(uint32_t x) { return nn_sxtb16(nn_ror(x, 8)); }

/* Lane-wise (wrapping) add of the sign-extended bytes 0 and 2 of x to acc. */
NN_ALWAYS_INLINE uint32_t nn_sxtab16(uint32_t acc, uint32_t x)
{
    const uint32_t e = nn_sxtb16(x);
    return nn_pack16(nn_lo16(acc) + nn_lo16(e), nn_hi16(acc) + nn_hi16(e));
}

NN_ALWAYS_INLINE uint32_t nn_sxtab16_ror8(uint32_t acc, uint32_t x) { return nn_sxtab16(acc, nn_ror(x, 8)); }

/* SMLAD: acc + a.lo*b.lo + a.hi*b.hi, wrapping like the instruction (it only sets Q on overflow). */
NN_ALWAYS_INLINE int32_t nn_smlad(uint32_t a, uint32_t b, int32_t acc)
{
    const uint32_t s = (uint32_t)acc + (uint32_t)(nn_lo16(a) * nn_lo16(b)) + (uint32_t)(nn_hi16(a) * nn_hi16(b));
    return (int32_t)s;
}

NN_ALWAYS_INLINE int32_t nn_smla_(int32_t x, int32_t y, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(x * y));
}
NN_ALWAYS_INLINE int32_t nn_smlabb(uint32_t a, uint32_t b, int32_t acc) { return nn_smla_(nn_lo16(a), nn_lo16(b), acc); }
NN_ALWAYS_INLINE int32_t nn_smlatb(uint32_t a, uint32_t b, int32_t acc) { return nn_smla_(nn_hi16(a), nn_lo16(b), acc); }
NN_ALWAYS_INLINE int32_t nn_smlabt(uint32_t a, uint32_t b, int32_t acc) { return nn_smla_(nn_lo16(a), nn_hi16(b), acc); }
NN_ALWAYS_INLINE int32_t nn_smlatt(uint32_t a, uint32_t b, int32_t acc) { return nn_smla_(nn_hi16(a), nn_hi16(b), acc); }

NN_ALWAYS_INLINE uint32_t nn_pkhbt(uint32_t a, uint32_t b, unsigned lsl)
{
    return (a & 0xFFFFu) | ((b << lsl) & 0xFFFF0000u);
}

NN_ALWAYS_INLINE uint32_t nn_pkhtb(uint32_t a, uint32_t b, unsigned asr)
{
    return (a & 0xFFFF0000u) | ((uint32_t)((int32_t)b >> asr) & 0xFFFFu);
}

#endif /* NN_DSP_ACLE */

/* Saturate to int8 (SSAT #8 on Arm). */
NN_ALWAYS_INLINE int32_t nn_ssat8(int32_t x)
{
#if NN_DSP_ACLE && defined(__ARM_FEATURE_SAT) && __ARM_FEATURE_SAT
    return __ssat(x, 8);
#else
    return x < -128 ? -128 : (x > 127 ? 127 : x);
#endif
}

/*
 * Requantization, exactly nn_requantize() of nn_math.h (TFLite's
 * MultiplyByQuantizedMultiplier, double rounding), in fewer instructions.
 *
 * SaturatingRoundingDoublingHighMul(a, m) nudges by +2^30 (ab >= 0) or
 * 1 - 2^30 (ab < 0) and divides by 2^31 truncating toward zero; for ab < 0,
 * trunc((ab + 1 - 2^30) / 2^31) = ceil(...) = floor((ab + 2^30) / 2^31), so
 * both cases are one floor((ab + 2^30) / 2^31): an SMLAL and a shift. The
 * saturating case a = b = INT32_MIN cannot occur, since TFLite multipliers
 * are >= 0. RoundingDivideByPOT stays as in nn_math.h.
 */
NN_ALWAYS_INLINE int32_t nn_requantize_fast(int32_t x, int32_t multiplier, int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    const int64_t ab = (int64_t)(int32_t)((uint32_t)x << left) * multiplier + (INT64_C(1) << 30);
    const int32_t r = (int32_t)(ab >> 31);
    const int32_t mask = (int32_t)((UINT32_C(1) << right) - 1u);
    const int32_t remainder = r & mask;
    const int32_t threshold = (mask >> 1) + (int32_t)((uint32_t)r >> 31);
    return (r >> right) + (remainder > threshold ? 1 : 0);
}

/*
 * The same for right shifts R = -shift >= 2, in 5 instructions (AND, ORR,
 * ADD, SMLAL, ASR), given rnd = 1 << (R - 2) and rsh = R - 1 per channel.
 * Both roundings fold into one: RoundingDivideByPOT(r, R) =
 * floor((r + 2^(R-1) - [r < 0]) / 2^R), and floor(floor(a / 2^31) / 2^R) =
 * floor(a / 2^(31+R)), so the result is floor((x*m + 2^30 + 2^(R+30) -
 * [x < 0]*2^31) / 2^(31+R)): the 64-bit addend is preset from x's sign and
 * the high word shifted. ([x < 0] may differ from [r < 0] only where
 * -2^30 <= x*m < 0, and there both give the same floor.) Needs multiplier >= 0.
 */
NN_ALWAYS_INLINE int32_t nn_requantize_r2(int32_t x, int32_t multiplier, int32_t rnd, int32_t rsh)
{
#if NN_DSP_ACLE
    /* One asm block per output keeps the two temporaries local (the compiler otherwise computes several
     * outputs' presets ahead and spills them). Same arithmetic as the C below. */
    uint32_t lo;
    int32_t hi;
    __asm__("and    %[lo], %[x], #0x80000000\n\t"
            "orr    %[lo], %[lo], #0x40000000\n\t"
            "add    %[hi], %[rnd], %[x], asr #31\n\t"
            "smlal  %[lo], %[hi], %[x], %[m]\n\t"
            "asr    %[hi], %[hi], %[rsh]\n\t"
            : [lo] "=&r"(lo), [hi] "=&r"(hi)
            : [x] "r"(x), [m] "r"(multiplier), [rnd] "r"(rnd), [rsh] "r"(rsh));
    return hi;
#else
    const uint32_t lo = ((uint32_t)x & 0x80000000u) | 0x40000000u;
    const int32_t hi = rnd + (x >> 31);
    const int64_t v = (int64_t)(((uint64_t)(uint32_t)hi << 32) | lo) + (int64_t)x * multiplier;
    return (int32_t)(v >> 32) >> rsh;
#endif
}

#endif /* EDGEKWS_NN_DSP_H */
