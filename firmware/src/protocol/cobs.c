/*
 * cobs.c - Consistent Overhead Byte Stuffing.
 *
 * Each block starts with a code byte c (1..255): c-1 data bytes follow, and
 * unless c == 255 a zero is implied after them. The implied zero after the
 * last block is dropped. The result never contains 0x00, so 0x00 delimits
 * frames and a receiver resynchronises after garbage at the next 0x00.
 */
#include "edgekws/protocol.h"

size_t cobs_encode(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    if (cap == 0) {
        return 0;
    }
    size_t code_pos = 0; /* where the current block's code byte goes */
    size_t o = 1;
    uint8_t code = 1;
    for (size_t i = 0; i < n; i++) {
        if (in[i] == 0) {
            out[code_pos] = code;
            code = 1;
            code_pos = o++;
            if (code_pos >= cap) {
                return 0;
            }
        } else {
            if (o >= cap) {
                return 0;
            }
            out[o++] = in[i];
            code++;
            if (code == 0xFF) {
                out[code_pos] = code;
                code = 1;
                code_pos = o++;
                if (code_pos >= cap) {
                    return 0;
                }
            }
        }
    }
    out[code_pos] = code;
    return o;
}

long cobs_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    size_t i = 0;
    size_t o = 0;
    while (i < n) {
        uint8_t code = in[i++];
        if (code == 0) {
            return -1;
        }
        size_t run = (size_t)code - 1u;
        if (run > n - i) {
            return -1; /* the block claims bytes past the end */
        }
        if (run > cap - o) {
            return -1;
        }
        for (size_t k = 0; k < run; k++) {
            uint8_t b = in[i++];
            if (b == 0) {
                return -1;
            }
            out[o++] = b;
        }
        if (code != 0xFF && i < n) {
            if (o >= cap) {
                return -1;
            }
            out[o++] = 0;
        }
    }
    return (long)o;
}
