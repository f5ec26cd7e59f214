/*
 * echo-epoll: the reference server for bench/run.sh. One thread, one epoll set,
 * level-triggered, non-blocking sockets. Each connection owns one pending buffer for
 * the bytes the kernel would not take yet; while it holds bytes the connection stops
 * reading (EPOLLOUT instead of EPOLLIN), so a slow reader is pushed back on, never
 * buffered without bound.
 *
 * usage: echo-epoll PORT      (0 picks a free port; binds 127.0.0.1 only)
 * prints "listening PORT" on stdout once ready. SIGTERM/SIGINT stop it.
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
#include <unistd.h>

#define BUFFER_SIZE 65536
#define MAX_EVENTS 256

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

int main(int argc, char **argv)
{
    if (argc != 2) { fprintf(stderr, "usage: %s PORT\n", argv[0]); return 2; }
    int port = atoi(argv[1]);
    if (port < 0 || port > 65535) { fprintf(stderr, "echo-epoll: bad port %s\n", argv[1]); return 2; }

    /* Idle-connection runs hold thousands of sockets. */
    struct rlimit files;
    if (getrlimit(RLIMIT_NOFILE, &files) == 0) { files.rlim_cur = files.rlim_max; setrlimit(RLIMIT_NOFILE, &files); }

    struct sigaction sa = { .sa_handler = on_signal };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    int listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listen_fd, (struct sockaddr *)&address, sizeof address) < 0 || listen(listen_fd, 4096) < 0) {
        fprintf(stderr, "echo-epoll: cannot listen on 127.0.0.1:%d: %s\n", port, strerror(errno));
        return 1;
    }
    socklen_t length = sizeof address;
    getsockname(listen_fd, (struct sockaddr *)&address, &length);

    int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };  /* NULL marks the listener */
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &ev);

    printf("listening %d\n", ntohs(address.sin_port));
    fflush(stdout);

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
