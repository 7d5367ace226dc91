/*
 * protocol_tool.c - drives firmware/src/protocol from a line-based stdin so
 * pytest can compare the C codec with host/edgekws/device/protocol.py.
 * Built with the host gcc and -fsanitize=address,undefined by the tests.
 *
 * Commands (one per line, hex without spaces, "-" for empty):
 *   crc HEX                 -> crc as 8 hex digits
 *   cobs_enc HEX            -> encoded hex
 *   cobs_dec HEX            -> decoded hex, or "ERR"
 *   encode CMD SEQ HEX      -> wire bytes (with trailing 0x00) as hex
 *   parse HEX               -> "status cmd seq len payloadhex" of a raw frame
 *   rx HEX                  -> one line per event: "F cmd seq payloadhex" or "E status seq"
 *   ml TEXT...              -> feed the text to the MLPerf receiver, one line per command
 *   fixed3 FLOAT            -> mlperf_fmt_fixed3
 *   fixed3s FLOAT...        -> mlperf_fmt_fixed3 of each, one line each, then "."
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgekws/mlperf.h"
#include "edgekws/protocol.h"

static char line[1 << 17];
static uint8_t a[1 << 16];
static uint8_t b[1 << 16];

static long unhex(const char *s, uint8_t *out, size_t cap)
{
    if (strcmp(s, "-") == 0) {
        return 0;
    }
    size_t n = strlen(s);
    if (n % 2 || n / 2 > cap) {
        return -1;
    }
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) {
            return -1;
        }
        out[i] = (uint8_t)v;
    }
    return (long)(n / 2);
}

static void hexout(const uint8_t *p, size_t n)
{
    if (n == 0) {
        fputs("-", stdout);
    }
    for (size_t i = 0; i < n; i++) {
        printf("%02x", p[i]);
    }
}

static proto_rx_t rx;
static mlperf_rx_t mrx;

int main(void)
{
    while (fgets(line, sizeof(line), stdin)) {
        line[strcspn(line, "\r\n")] = 0;
        char *sp = strchr(line, ' ');
        char *arg = sp ? sp + 1 : (char *)"-";
        if (sp) {
            *sp = 0;
        }
        if (strcmp(line, "crc") == 0) {
            long n = unhex(arg, a, sizeof(a));
            printf("%08x\n", (unsigned)proto_crc32(0, a, (size_t)n));
        } else if (strcmp(line, "cobs_enc") == 0) {
            long n = unhex(arg, a, sizeof(a));
            size_t m = cobs_encode(a, (size_t)n, b, sizeof(b));
            hexout(b, m);
            puts("");
        } else if (strcmp(line, "cobs_dec") == 0) {
            long n = unhex(arg, a, sizeof(a));
            /* decode into an exactly-sized heap buffer so ASan sees overruns */
            long m = cobs_decode(a, (size_t)n, b, PROTO_MAX_FRAME);
            if (m < 0) {
                puts("ERR");
            } else {
                hexout(b, (size_t)m);
                puts("");
            }
        } else if (strcmp(line, "encode") == 0) {
            unsigned cmd, seq;
            char hex[1 << 16];
            if (sscanf(arg, "%x %x %65535s", &cmd, &seq, hex) != 3) {
                puts("ERR");
                continue;
            }
            long n = unhex(hex, a, sizeof(a));
            size_t m = n < 0 ? 0 : proto_encode((uint8_t)cmd, (uint16_t)seq, a, (uint16_t)n, b, sizeof(b));
            if (m == 0) {
                puts("ERR");
            } else {
                hexout(b, m);
                puts("");
            }
        } else if (strcmp(line, "parse") == 0) {
            long n = unhex(arg, a, sizeof(a));
            uint8_t *raw = malloc((size_t)n + 1);
            memcpy(raw, a, (size_t)n);
            proto_frame_t f;
            proto_status_t st = proto_parse(raw, (size_t)n, &f);
            printf("%d %02x %u %u ", (int)st, f.cmd, f.seq, f.len);
            hexout(st == ST_OK ? f.payload : a, st == ST_OK ? f.len : 0);
            puts("");
            free(raw);
        } else if (strcmp(line, "rx") == 0) {
            long n = unhex(arg, a, sizeof(a));
            for (long i = 0; i < n; i++) {
                proto_frame_t f;
                proto_status_t st;
                proto_rx_event_t ev = proto_rx_push(&rx, a[i], &f, &st);
                if (ev == RX_FRAME) {
                    printf("F %02x %u ", f.cmd, f.seq);
                    hexout(f.payload, f.len);
                    puts("");
                } else if (ev == RX_ERROR) {
                    printf("E %d %u\n", (int)st, f.seq);
                }
            }
            puts(".");
        } else if (strcmp(line, "ml") == 0) {
            for (char *p = arg; *p; p++) {
                mlperf_cmd_t c;
                if (mlperf_rx_push(&mrx, *p, &c)) {
                    printf("%d %u %u %s %s\n", (int)c.kind, (unsigned)c.arg_n, (unsigned)c.arg_w,
                           c.hex ? c.hex : "-", c.error ? c.error : (c.word ? c.word : "-"));
                }
            }
            puts(".");
        } else if (strcmp(line, "fixed3") == 0) {
            char out[32];
            size_t n = mlperf_fmt_fixed3(out, sizeof(out), strtof(arg, NULL));
            printf("%s\n", n ? out : "ERR");
        } else if (strcmp(line, "fixed3s") == 0) {
            for (char *tok = strtok(arg, " "); tok != NULL; tok = strtok(NULL, " ")) {
                char out[32];
                size_t n = mlperf_fmt_fixed3(out, sizeof(out), strtof(tok, NULL));
                printf("%s\n", n ? out : "ERR");
            }
            puts(".");
        } else {
            puts("ERR");
        }
        fflush(stdout);
    }
    return 0;
}
