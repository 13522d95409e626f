/*
 * pacer: the paced-stream load client of bench/pacing.py (issue 20).
 *
 * One thread, one epoll loop, non-blocking sockets to 127.0.0.1:PORT. It opens N streams,
 * started evenly over a ramp, each sending the same HTTP/1.1 POST (one request a
 * connection), and decodes each answer as it arrives: the status line, the headers, the body
 * (chunked transfer-encoding, Content-Length, or until the server closes), and the body's SSE
 * frames (separated by a blank line; `data: [DONE]` and frames without a data field are not
 * counted). With --lines every non-empty line is a frame instead (NDJSON).
 *
 * Every time is CLOCK_MONOTONIC, in microseconds from the run's start. A stream's request is
 * stamped when its last byte is written, a frame when the read() that completed it returned.
 * Per stream it prints one line:
 *
 *   stream <i> <status> <start_us> <sent_us> <ttft_us> <frames> <first_us> <last_us>
 *          <max_gap_us> <error>
 *
 * (start = connect() called, so sent - start is the connection's setup and the request's
 * write; ttft = first frame - sent, -1 when there is none; error is `-` or a word) and at
 * the end
 *
 *   summary <wall_us> <user_us> <sys_us> <peak_in_flight> <streams> <complete>
 *
 * with its own CPU time (getrusage), so its overhead shows beside what it measured.
 *
 *   pacer --port 4010 --path /v1/chat/completions --body body.json --streams 1000 --ramp 1
 *
 * Built by bench/pacing.py with `cc -O2` into ~/.cache/aimock/bench/ (keyed by this file's
 * hash); it needs nothing beyond libc.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum phase { IDLE, CONNECTING, SENDING, HEADERS, BODY, DONE };
enum body_mode { UNTIL_CLOSE, LENGTH, CHUNKED };
enum chunk_state { CH_SIZE, CH_EXT, CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_TRAILER };

#define HEAD_MAX 16384
#define PREFIX 16

struct stream {
    int fd;
    enum phase phase;
    const char *error;
    size_t sent_bytes;
    int64_t start_us, sent_us, first_us, last_us, max_gap_us;
    int status;
    long frames;
    /* headers */
    char *head;
    size_t head_len;
    /* body */
    enum body_mode mode;
    long long remaining; /* LENGTH: bytes left; CHUNKED: bytes left in this chunk */
    enum chunk_state chunk;
    long long chunk_size;
    int trailer_line_len;
    /* frames */
    char prefix[PREFIX];
    int line_len;
    int frame_has_data, frame_is_done;
};

static int64_t t0_ns;
static int lines_mode;
static long finished, in_flight; /* streams done; started and not done */

static int64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ((int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec - t0_ns) / 1000;
}

static void die(const char *what) {
    perror(what);
    exit(2);
}

static void frame_end(struct stream *s, int64_t t) {
    if (s->frame_has_data && !s->frame_is_done) {
        if (s->frames == 0) {
            s->first_us = t;
        } else if (t - s->last_us > s->max_gap_us) {
            s->max_gap_us = t - s->last_us;
        }
        s->last_us = t;
        s->frames++;
    }
    s->frame_has_data = s->frame_is_done = 0;
}

/* One complete line of the body (without its newline; a trailing '\r' is dropped). */
static void line_end(struct stream *s, int64_t t) {
    int n = s->line_len < PREFIX ? s->line_len : PREFIX;
    if (n > 0 && s->line_len <= PREFIX && s->prefix[n - 1] == '\r') {
        n--;
        s->line_len--;
    }
    if (lines_mode) {
        if (s->line_len > 0) {
            s->frame_has_data = 1;
            frame_end(s, t);
        }
    } else if (s->line_len == 0) {
        frame_end(s, t);
    } else if (n >= 5 && memcmp(s->prefix, "data:", 5) == 0) {
        s->frame_has_data = 1;
        const char *v = s->prefix + 5;
        int left = n - 5;
        if (left > 0 && *v == ' ') {
            v++;
            left--;
        }
        if (s->line_len == n && left == 6 && memcmp(v, "[DONE]", 6) == 0) {
            s->frame_is_done = 1;
        }
    }
    s->line_len = 0;
}

static void body_bytes(struct stream *s, const char *p, size_t n, int64_t t) {
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '\n') {
            line_end(s, t);
        } else {
            if (s->line_len < PREFIX) s->prefix[s->line_len] = c;
            s->line_len++;
        }
    }
}

static void finish(struct stream *s, const char *error) {
    if (s->phase == DONE) return;
    if (!error && s->line_len > 0) line_end(s, now_us()); /* an unterminated last line */
    if (!error && lines_mode == 0 && s->frame_has_data) frame_end(s, now_us());
    if (s->phase != IDLE) in_flight--;
    finished++;
    s->error = error;
    s->phase = DONE;
    if (s->fd >= 0) close(s->fd);
    s->fd = -1;
    free(s->head);
    s->head = NULL;
}

/* Decode body bytes by the transfer mode; returns 1 when the body is complete. */
static int body(struct stream *s, const char *p, size_t n, int64_t t) {
    if (s->mode == UNTIL_CLOSE) {
        body_bytes(s, p, n, t);
        return 0;
    }
    if (s->mode == LENGTH) {
        size_t take = (long long)n < s->remaining ? n : (size_t)s->remaining;
        body_bytes(s, p, take, t);
        s->remaining -= take;
        return s->remaining == 0;
    }
    size_t i = 0;
    while (i < n) {
        char c = p[i];
        switch (s->chunk) {
        case CH_SIZE:
            if (isxdigit((unsigned char)c)) {
                int d = isdigit((unsigned char)c) ? c - '0' : (tolower((unsigned char)c) - 'a' + 10);
                s->chunk_size = s->chunk_size * 16 + d;
                i++;
            } else if (c == '\n') {
                i++;
                s->remaining = s->chunk_size;
                s->chunk = s->chunk_size == 0 ? CH_TRAILER : CH_DATA;
                s->trailer_line_len = 0;
            } else {
                s->chunk = CH_EXT; /* ';' extensions or the '\r' */
            }
            break;
        case CH_EXT:
            if (c == '\n') {
                s->chunk = CH_SIZE;
                continue; /* CH_SIZE takes the '\n' */
            }
            i++;
            break;
        case CH_DATA: {
            size_t take = (long long)(n - i) < s->remaining ? n - i : (size_t)s->remaining;
            body_bytes(s, p + i, take, t);
            s->remaining -= take;
            i += take;
            if (s->remaining == 0) s->chunk = CH_DATA_CR;
            break;
        }
        case CH_DATA_CR: /* the CRLF after a chunk's data (a bare LF is taken too) */
            if (c == '\r' || c == '\n') i++;
            s->chunk = c == '\r' ? CH_DATA_LF : CH_SIZE;
            s->chunk_size = 0;
            break;
        case CH_DATA_LF:
            if (c == '\n') i++;
            s->chunk = CH_SIZE;
            break;
        case CH_TRAILER:
            i++;
            if (c == '\n') {
                if (s->trailer_line_len == 0) return 1;
                s->trailer_line_len = 0;
            } else if (c != '\r') {
                s->trailer_line_len++;
            }
            break;
        }
    }
    return 0;
}

/* Headers complete at `end` (the byte after the blank line): status and transfer mode. */
static int headers(struct stream *s, size_t end) {
    s->head[end - 1] = '\0';
    if (sscanf(s->head, "HTTP/1.%*d %d", &s->status) != 1) return -1;
    s->mode = UNTIL_CLOSE;
    char *line = strstr(s->head, "\r\n");
    while (line && line[2] != '\r' && line[2] != '\0') {
        line += 2;
        char *next = strstr(line, "\r\n");
        if (strncasecmp(line, "transfer-encoding:", 18) == 0) {
            char *v = line + 18;
            if (next) *next = '\0';
            if (strcasestr(v, "chunked")) s->mode = CHUNKED;
            if (next) *next = '\r';
        } else if (strncasecmp(line, "content-length:", 15) == 0 && s->mode != CHUNKED) {
            s->mode = LENGTH;
            s->remaining = atoll(line + 15);
        }
        line = next;
    }
    s->chunk = CH_SIZE;
    s->chunk_size = 0;
    return 0;
}

static void on_readable(struct stream *s, char *buf, size_t cap) {
    for (;;) {
        ssize_t got = read(s->fd, buf, cap);
        int64_t t = now_us();
        if (got < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            if (errno == EINTR) continue;
            finish(s, s->phase == BODY && s->mode == UNTIL_CLOSE ? NULL : "read");
            return;
        }
        if (got == 0) {
            int whole = s->phase == BODY && s->mode == UNTIL_CLOSE;
            finish(s, whole ? NULL : (s->phase == BODY ? "truncated" : "closed"));
            return;
        }
        char *p = buf;
        size_t n = (size_t)got;
        if (s->phase == HEADERS) {
            size_t room = HEAD_MAX - 1 - s->head_len;
            size_t take = n < room ? n : room;
            memcpy(s->head + s->head_len, p, take);
            size_t before = s->head_len;
            s->head_len += take;
            s->head[s->head_len] = '\0';
            char *blank = strstr(s->head, "\r\n\r\n");
            if (!blank) {
                if (s->head_len >= HEAD_MAX - 1) {
                    finish(s, "headers");
                    return;
                }
                continue;
            }
            size_t end = (size_t)(blank - s->head) + 4;
            if (headers(s, end) < 0) {
                finish(s, "status");
                return;
            }
            s->phase = BODY;
            p += end - before;
            n -= end - before;
            if (s->mode == LENGTH && s->remaining == 0) {
                finish(s, NULL);
                return;
            }
        }
        if (n > 0 && body(s, p, n, t)) {
            finish(s, NULL);
            return;
        }
    }
}

static const char *request;
static size_t request_len;

static void on_writable(struct stream *s, int ep) {
    if (s->phase == CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            finish(s, "connect");
            return;
        }
        s->phase = SENDING;
    }
    while (s->sent_bytes < request_len) {
        ssize_t put = write(s->fd, request + s->sent_bytes, request_len - s->sent_bytes);
        if (put < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            if (errno == EINTR) continue;
            finish(s, "write");
            return;
        }
        s->sent_bytes += (size_t)put;
    }
    s->sent_us = now_us();
    s->phase = HEADERS;
    s->head = malloc(HEAD_MAX);
    if (!s->head) die("malloc");
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = s};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev) < 0) die("epoll_ctl");
}

static void start(struct stream *s, int ep, struct sockaddr_in *addr) {
    s->phase = CONNECTING;
    s->start_us = now_us();
    in_flight++;
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0) {
        finish(s, "socket");
        return;
    }
    int one = 1;
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(s->fd, (struct sockaddr *)addr, sizeof *addr) < 0 && errno != EINPROGRESS) {
        finish(s, "connect");
        return;
    }
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = s};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev) < 0) die("epoll_ctl");
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) die(path);
    struct stat st;
    if (fstat(fileno(f), &st) < 0) die("fstat");
    char *data = malloc((size_t)st.st_size + 1);
    if (!data || fread(data, 1, (size_t)st.st_size, f) != (size_t)st.st_size) die("read");
    fclose(f);
    *len = (size_t)st.st_size;
    return data;
}

static void usage(void) {
    fprintf(stderr, "usage: pacer --port P --path /x --body FILE [--streams N] [--ramp S] "
                    "[--timeout S] [--host-header H] [--lines]\n");
    exit(2);
}

int main(int argc, char **argv) {
    int port = 0;
    long streams = 1;
    double ramp = 0, timeout = 120;
    const char *path = NULL, *body_path = NULL, *host_header = "127.0.0.1";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--lines") == 0) {
            lines_mode = 1;
            continue;
        }
        if (!v) usage();
        if (strcmp(a, "--port") == 0) port = atoi(v);
        else if (strcmp(a, "--path") == 0) path = v;
        else if (strcmp(a, "--body") == 0) body_path = v;
        else if (strcmp(a, "--streams") == 0) streams = atol(v);
        else if (strcmp(a, "--ramp") == 0) ramp = atof(v);
        else if (strcmp(a, "--timeout") == 0) timeout = atof(v);
        else if (strcmp(a, "--host-header") == 0) host_header = v;
        else usage();
        i++;
    }
    if (!port || !path || !body_path || streams < 1) usage();

    size_t body_len;
    char *payload = read_file(body_path, &body_len);
    size_t cap = body_len + strlen(path) + strlen(host_header) + 256;
    char *req = malloc(cap);
    if (!req) die("malloc");
    int head = snprintf(req, cap,
                        "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                        "Accept: text/event-stream\r\nContent-Length: %zu\r\n"
                        "Connection: close\r\n\r\n",
                        path, host_header, body_len);
    memcpy(req + head, payload, body_len);
    request = req;
    request_len = (size_t)head + body_len;

    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        setrlimit(RLIMIT_NOFILE, &nofile);
    }

    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct stream *all = calloc((size_t)streams, sizeof *all);
    if (!all) die("calloc");
    for (long i = 0; i < streams; i++) {
        all[i].fd = -1;
        all[i].first_us = all[i].last_us = -1;
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");

    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    t0_ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    double step_us = streams > 1 ? ramp * 1e6 / (double)streams : 0;
    int64_t deadline = (int64_t)(timeout * 1e6);
    long started = 0, peak = 0;
    static char buf[1 << 16];
    struct epoll_event events[512];

    while (finished < streams) {
        int64_t t = now_us();
        while (started < streams && (int64_t)(started * step_us) <= t) {
            start(&all[started], ep, &addr);
            started++;
            if (in_flight > peak) peak = in_flight;
        }
        if (t >= deadline) break;
        int wait_ms = 1000;
        if (started < streams) {
            int64_t next = (int64_t)(started * step_us) - t;
            wait_ms = next <= 0 ? 0 : (int)((next + 999) / 1000);
        }
        if (deadline - t < (int64_t)wait_ms * 1000) wait_ms = (int)((deadline - t + 999) / 1000);
        int ready = epoll_wait(ep, events, 512, wait_ms);
        if (ready < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int k = 0; k < ready; k++) {
            struct stream *s = events[k].data.ptr;
            if (s->phase == CONNECTING || s->phase == SENDING) {
                if (events[k].events & (EPOLLERR | EPOLLHUP) && s->phase == CONNECTING) {
                    finish(s, "connect");
                } else {
                    on_writable(s, ep);
                }
            } else if (s->phase == HEADERS || s->phase == BODY) {
                on_readable(s, buf, sizeof buf);
            }
        }
    }
    int64_t wall = now_us();
    long complete = 0;
    for (long i = 0; i < streams; i++) {
        struct stream *s = &all[i];
        if (s->phase != DONE) finish(s, s->phase == IDLE ? "not-started" : "timeout");
        complete += s->error == NULL;
        long long ttft = s->frames > 0 ? (long long)(s->first_us - s->sent_us) : -1;
        printf("stream %ld %d %lld %lld %lld %ld %lld %lld %lld %s\n", i, s->status,
               (long long)s->start_us, (long long)s->sent_us, ttft, s->frames,
               (long long)s->first_us,
               (long long)s->last_us, (long long)s->max_gap_us, s->error ? s->error : "-");
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long long user = (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec;
    long long sys = (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
    printf("summary %lld %lld %lld %ld %ld %ld\n", (long long)wall, user, sys, peak, streams,
           complete);
    return 0;
}
