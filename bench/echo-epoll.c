/*
 * echo-epoll: the reference server for bench/run.sh. One thread, one epoll set,
 * level-triggered, non-blocking sockets. Each connection owns one pending buffer for
 * the bytes the kernel would not take yet; while it holds bytes the connection stops
 * reading (EPOLLOUT instead of EPOLLIN), so a slow reader is pushed back on, never
 * buffered without bound.
 *
 * UDP (--udp): one socket, each datagram sent back to its sender with the same bytes.
 * Datagrams are taken and answered in batches of up to BATCH with one recvmmsg and one
 * sendmmsg; replies the kernel would not take yet are kept, and reading stops until
 * they are sent, as in the stream echo.
 *
 * usage: echo-epoll PORT          TCP on 127.0.0.1 (0 picks a free port)
 *        echo-epoll --udp PORT    UDP on 127.0.0.1
 *        echo-epoll --unix PATH   a Unix stream socket at PATH (removed on exit)
 * prints "listening PORT" (or "listening PATH") on stdout once ready. SIGTERM/SIGINT stop it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define BUFFER_SIZE 65536
#define MAX_EVENTS 256
#define BATCH 64
#define DATAGRAM_MAX 65536  /* more than any UDP datagram carries */

struct connection {
    int fd;
    size_t pending_offset;  /* first unsent byte of pending */
    size_t pending_length;  /* bytes in pending still to send */
    char *pending;          /* allocated on first partial write only */
};

static volatile sig_atomic_t stopping;

static void on_signal(int signal_number) { (void)signal_number; stopping = 1; }

static void close_connection(int epoll_fd, struct connection *c)
{
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->pending);
    free(c);
}

static void watch(int epoll_fd, struct connection *c, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.ptr = c };
    epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Sends what it can of data; keeps the rest in c->pending. Returns -1 on a dead peer. */
static int send_or_keep(struct connection *c, const char *data, size_t length)
{
    while (length > 0) {
        ssize_t n = send(c->fd, data, length, MSG_NOSIGNAL);
        if (n > 0) { data += n; length -= (size_t)n; continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        return -1;
    }
    if (length > 0) {
        if (c->pending == NULL && (c->pending = malloc(BUFFER_SIZE)) == NULL)
            return -1;
        /* data came from one read of at most BUFFER_SIZE bytes, so it always fits */
        memmove(c->pending, data, length);
        c->pending_offset = 0;
        c->pending_length = length;
    }
    return 0;
}

static void on_readable(int epoll_fd, struct connection *c, char *buffer)
{
    /* A few reads per wake-up: fair to other connections, cheaper than one per event. */
    for (int round = 0; round < 16; round++) {
        ssize_t n = recv(c->fd, buffer, BUFFER_SIZE, 0);
        if (n == 0) { close_connection(epoll_fd, c); return; }
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            close_connection(epoll_fd, c);
            return;
        }
        if (send_or_keep(c, buffer, (size_t)n) < 0) { close_connection(epoll_fd, c); return; }
        if (c->pending_length > 0) {
            /* Stop reading until the peer takes what it is owed. */
            watch(epoll_fd, c, EPOLLOUT);
            return;
        }
        if ((size_t)n < BUFFER_SIZE) return;
    }
}

static void on_writable(int epoll_fd, struct connection *c)
{
    while (c->pending_length > 0) {
        ssize_t n = send(c->fd, c->pending + c->pending_offset, c->pending_length, MSG_NOSIGNAL);
        if (n > 0) { c->pending_offset += (size_t)n; c->pending_length -= (size_t)n; continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        close_connection(epoll_fd, c);
        return;
    }
    watch(epoll_fd, c, EPOLLIN | EPOLLRDHUP);
}

static void accept_all(int epoll_fd, int listen_fd)
{
    for (;;) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            /* EAGAIN: drained. EMFILE and friends: leave the rest in the backlog. */
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct connection *c = calloc(1, sizeof *c);
        if (c == NULL) { close(fd); continue; }
        c->fd = fd;
        struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = c };
        if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) { close(fd); free(c); }
    }
}

/* The stream echo: accepts on listen_fd and echoes every connection until stopped. */
static int serve_stream(int listen_fd)
{
    int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };  /* NULL marks the listener */
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &ev);

    static char buffer[BUFFER_SIZE];
    struct epoll_event events[MAX_EVENTS];
    while (!stopping) {
        int count = epoll_wait(epoll_fd, events, MAX_EVENTS, 1000);
        if (count < 0) {
            if (errno == EINTR) continue;
            perror("epoll_wait");
            return 1;
        }
        for (int i = 0; i < count; i++) {
            struct connection *c = events[i].data.ptr;
            if (c == NULL) { accept_all(epoll_fd, listen_fd); continue; }
            if (events[i].events & EPOLLOUT) on_writable(epoll_fd, c);
            else if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) on_readable(epoll_fd, c, buffer);
        }
    }
    return 0;
}

/* One batch of datagrams: each received into its own buffer with its sender's address,
 * and sent back from the same message headers (iov_len cut to what arrived). */
static struct mmsghdr batch[BATCH];
static struct iovec batch_iov[BATCH];
static struct sockaddr_storage batch_peer[BATCH];
static char batch_data[BATCH][DATAGRAM_MAX];

/* Sends replies from..count-1; returns the index of the first one not sent (count when all were). */
static int send_replies(int fd, int from, int count)
{
    while (from < count) {
        int n = sendmmsg(fd, batch + from, (unsigned)(count - from), MSG_DONTWAIT);
        if (n > 0) { from += n; continue; }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        from++;  /* this reply cannot be sent (its sender is gone): drop it, as UDP may */
    }
    return from;
}

/* The datagram echo: recvmmsg a batch, sendmmsg it back, until stopped. */
static int serve_datagrams(int fd)
{
    int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN };
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev);

    int unsent = 0, received = 0;  /* replies unsent..received-1 wait for room in the send buffer */
    while (!stopping) {
        struct epoll_event event;
        int count = epoll_wait(epoll_fd, &event, 1, 1000);
        if (count < 0) {
            if (errno == EINTR) continue;
            perror("epoll_wait");
            return 1;
        }
        if (count == 0) continue;
        if (unsent < received) {
            unsent = send_replies(fd, unsent, received);
            if (unsent < received) continue;
            ev.events = EPOLLIN;
            epoll_ctl(epoll_fd, EPOLL_CTL_MOD, fd, &ev);
        }
        /* A few batches per wake-up; a short batch means the socket is drained. */
        for (int round = 0; round < 16; round++) {
            for (int i = 0; i < BATCH; i++) {
                batch_iov[i] = (struct iovec){ .iov_base = batch_data[i], .iov_len = DATAGRAM_MAX };
                batch[i].msg_hdr = (struct msghdr){
                    .msg_name = &batch_peer[i], .msg_namelen = sizeof batch_peer[i],
                    .msg_iov = &batch_iov[i], .msg_iovlen = 1,
                };
            }
            received = recvmmsg(fd, batch, BATCH, MSG_DONTWAIT, NULL);
            if (received < 0) {
                received = 0;
                if (errno == EINTR) continue;
                break;  /* EAGAIN: drained; anything else: try again on the next wake-up */
            }
            for (int i = 0; i < received; i++)
                batch_iov[i].iov_len = batch[i].msg_len;
            unsent = send_replies(fd, 0, received);
            if (unsent < received) {
                /* Stop reading until the kernel takes the replies owed. */
                ev.events = EPOLLOUT;
                epoll_ctl(epoll_fd, EPOLL_CTL_MOD, fd, &ev);
                break;
            }
            if (received < BATCH) break;
        }
    }
    return 0;
}

/* A TCP listener or UDP socket on 127.0.0.1:port; prints "listening PORT". */
static int open_inet(int type, int port)
{
    int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&address, sizeof address) < 0 || (type == SOCK_STREAM && listen(fd, 4096) < 0)) {
        fprintf(stderr, "echo-epoll: cannot %s on 127.0.0.1:%d: %s\n",
                type == SOCK_STREAM ? "listen" : "bind", port, strerror(errno));
        return -1;
    }
    socklen_t length = sizeof address;
    getsockname(fd, (struct sockaddr *)&address, &length);
    printf("listening %d\n", ntohs(address.sin_port));
    return fd;
}

/* A Unix stream listener at path; prints "listening PATH". */
static int open_unix(const char *path)
{
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof address.sun_path) {
        fprintf(stderr, "echo-epoll: socket path too long: %s\n", path);
        return -1;
    }
    strcpy(address.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (bind(fd, (struct sockaddr *)&address, sizeof address) < 0 || listen(fd, 4096) < 0) {
        fprintf(stderr, "echo-epoll: cannot listen on %s: %s\n", path, strerror(errno));
        return -1;
    }
    printf("listening %s\n", path);
    return fd;
}

static int usage(const char *program)
{
    fprintf(stderr, "usage: %s PORT | --udp PORT | --unix PATH\n", program);
    return 2;
}

int main(int argc, char **argv)
{
    int udp = argc == 3 && strcmp(argv[1], "--udp") == 0;
    const char *unix_path = argc == 3 && strcmp(argv[1], "--unix") == 0 ? argv[2] : NULL;
    if ((argc != 2 || argv[1][0] == '-') && !udp && unix_path == NULL) return usage(argv[0]);
    int port = 0;
    if (unix_path == NULL) {
        char *end;
        long number = strtol(argv[argc - 1], &end, 10);
        if (*argv[argc - 1] == '\0' || *end != '\0' || number < 0 || number > 65535) {
            fprintf(stderr, "echo-epoll: bad port %s\n", argv[argc - 1]);
            return 2;
        }
        port = (int)number;
    }

    /* Idle-connection runs hold thousands of sockets. */
    struct rlimit files;
    if (getrlimit(RLIMIT_NOFILE, &files) == 0) { files.rlim_cur = files.rlim_max; setrlimit(RLIMIT_NOFILE, &files); }

    struct sigaction sa = { .sa_handler = on_signal };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    int fd = unix_path != NULL ? open_unix(unix_path) : open_inet(udp ? SOCK_DGRAM : SOCK_STREAM, port);
    if (fd < 0) return 1;
    fflush(stdout);

    int status = udp ? serve_datagrams(fd) : serve_stream(fd);
    if (unix_path != NULL) unlink(unix_path);
    return status;
}
