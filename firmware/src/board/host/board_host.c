/*
 * board_host.c - a "board" for x86 (POSIX): the whole device server runs as a
 * normal program so tests drive it over a real socket in milliseconds.
 *
 * The serial line is stdin/stdout by default, or a TCP socket when the
 * environment says so:
 *   EDGEKWS_HOST_PORT=N   listen on 127.0.0.1:N (0 = any free port), print
 *                         "edgekws-host listening on 127.0.0.1:PORT" to stderr,
 *                         serve one client at a time; a client that disconnects
 *                         is followed by the next one (a device keeps serving).
 * board_reset() re-executes the program with the open sockets inherited
 * (EDGEKWS_HOST_FD / EDGEKWS_HOST_LISTEN_FD), so the client sees a fresh boot
 * banner on the same connection, as on a board.
 *
 * The counter is CLOCK_MONOTONIC in nanoseconds; its unit is "ns" (never to be
 * confused with cycles or instructions).
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "edgekws/board.h"

static int g_in = 0;        /* read side */
static int g_out = 1;       /* write side */
static int g_listen = -1;   /* listening socket in TCP mode */
static struct timespec g_t0;

static void set_inheritable(int fd)
{
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0) {
        (void)fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
    }
}

static void accept_client(void)
{
    int c;
    do {
        c = accept(g_listen, NULL, NULL);
    } while (c < 0 && errno == EINTR);
    if (c < 0) {
        perror("edgekws-host: accept");
        exit(2);
    }
    int one = 1;
    (void)setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    g_in = c;
    g_out = c;
}

static int env_int(const char *name, int fallback)
{
    const char *v = getenv(name);
    if (v == NULL || *v == '\0') {
        return fallback;
    }
    return atoi(v);
}

void board_init(void)
{
    signal(SIGPIPE, SIG_IGN);
    clock_gettime(CLOCK_MONOTONIC, &g_t0);
    int fd = env_int("EDGEKWS_HOST_FD", -1);
    int lfd = env_int("EDGEKWS_HOST_LISTEN_FD", -1);
    if (fd >= 0) { /* coming back from board_reset() */
        g_in = fd;
        g_out = fd;
        g_listen = lfd;
        return;
    }
    const char *port = getenv("EDGEKWS_HOST_PORT");
    if (port == NULL || *port == '\0') {
        return; /* stdin/stdout */
    }
    g_listen = socket(AF_INET, SOCK_STREAM, 0);
    if (g_listen < 0) {
        perror("edgekws-host: socket");
        exit(2);
    }
    int one = 1;
    (void)setsockopt(g_listen, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons((uint16_t)atoi(port));
    if (bind(g_listen, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(g_listen, 1) != 0) {
        perror("edgekws-host: bind/listen");
        exit(2);
    }
    socklen_t alen = sizeof(addr);
    (void)getsockname(g_listen, (struct sockaddr *)&addr, &alen);
    fprintf(stderr, "edgekws-host listening on 127.0.0.1:%u\n", (unsigned)ntohs(addr.sin_port));
    fflush(stderr);
    accept_client();
}

const char *board_name(void) { return "host"; }

uint32_t board_clock_hz(void) { return 1000000000u; }

void board_uart_write(const uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(g_out, buf, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return; /* peer gone: the next read notices */
        }
        buf += n;
        len -= (size_t)n;
    }
}

int board_uart_read(uint8_t *byte, uint32_t timeout_ms)
{
    struct pollfd p = {.fd = g_in, .events = POLLIN, .revents = 0};
    int r = poll(&p, 1, (int)timeout_ms);
    if (r <= 0) {
        return 0;
    }
    ssize_t n = read(g_in, byte, 1);
    if (n == 1) {
        return 1;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        return 0;
    }
    /* End of file or a dropped connection. */
    if (g_listen < 0) {
        exit(0);
    }
    close(g_in);
    accept_client();
    return 0;
}

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)(t.tv_sec - g_t0.tv_sec) * 1000000000u + (uint64_t)t.tv_nsec - (uint64_t)g_t0.tv_nsec;
}

uint32_t board_counter(void) { return (uint32_t)now_ns(); }

const char *board_counter_unit(void) { return "ns"; }

uint32_t board_millis(void) { return (uint32_t)(now_ns() / 1000000u); }

void board_led(int on) { (void)on; }

/* No GPIO on the host: each pulse is one stderr line, so a test can count them. */
void board_timestamp_pin(void) { fputs("board: timestamp pin pulse\n", stderr); }

void board_exit(int status)
{
    fflush(stdout);
    exit(status);
}

void board_reset(void)
{
    char fd_s[16];
    char lfd_s[16];
    snprintf(fd_s, sizeof(fd_s), "%d", g_in);
    snprintf(lfd_s, sizeof(lfd_s), "%d", g_listen);
    set_inheritable(g_in);
    if (g_listen >= 0) {
        set_inheritable(g_listen);
    }
    if (g_in != 0) { /* TCP mode: stdin/stdout mode keeps its pipes anyway */
        setenv("EDGEKWS_HOST_FD", fd_s, 1);
        setenv("EDGEKWS_HOST_LISTEN_FD", lfd_s, 1);
    }
    char *argv[] = {(char *)"edgekws-host", NULL};
    execv("/proc/self/exe", argv);
    perror("edgekws-host: reset");
    exit(3);
}

void board_watchdog_kick(void) {}

size_t board_stack_used(void) { return 0; }

size_t board_stack_size(void) { return 0; }
