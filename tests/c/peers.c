/*
 * peers.c: the real peers of peers.h, on the host's POSIX sockets. A
 * translation unit of its own: host.c speaks the Windows ABI's types,
 * this file the host's.
 */
#define _POSIX_C_SOURCE 200809L
#include "peers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A listening socket on the loopback address of the family, any port. */
static int listen_loopback(int v6, int *port)
{
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof ss);
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *a;
    }
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                     : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

static void *echo_connection(void *arg)
{
    int c = (int)(long)arg;
    char buf[4096];
    ssize_t n;
    while ((n = read(c, buf, sizeof buf)) > 0) {
        ssize_t off = 0;
        while (off < n) {
            ssize_t w = write(c, buf + off, (size_t)(n - off));
            if (w <= 0)
                goto done;
            off += w;
        }
    }
done:
    close(c);
    return NULL;
}

static void *echo_server(void *arg)
{
    int l = (int)(long)arg;
    for (;;) {
        int c = accept(l, NULL, NULL);
        if (c < 0)
            return NULL;
        pthread_t t;
        if (pthread_create(&t, NULL, echo_connection, (void *)(long)c) == 0)
            pthread_detach(t);
        else
            close(c);
    }
}

int peer_echo(int v6)
{
    int port = 0;
    int l = listen_loopback(v6, &port);
    if (l < 0)
        return 0;
    pthread_t t;
    if (pthread_create(&t, NULL, echo_server, (void *)(long)l) != 0) {
        close(l);
        return 0;
    }
    pthread_detach(t);
    return port;
}

static struct {
    int listener;
    int delay_ms;
    long long bytes;
    int reset;
    pthread_t thread;
} g_sink;

static void *sink_run(void *unused)
{
    (void)unused;
    int c = accept(g_sink.listener, NULL, NULL);
    close(g_sink.listener);
    if (c < 0)
        return NULL;
    struct timespec d = {g_sink.delay_ms / 1000, (long)(g_sink.delay_ms % 1000) * 1000000L};
    nanosleep(&d, NULL);
    char buf[65536];
    ssize_t n;
    while ((n = read(c, buf, sizeof buf)) > 0)
        g_sink.bytes += n;
    g_sink.reset = n < 0 && errno == ECONNRESET;
    close(c);
    return NULL;
}

int peer_sink(int delay_ms)
{
    int port = 0;
    g_sink.listener = listen_loopback(0, &port);
    if (g_sink.listener < 0)
        return 0;
    g_sink.delay_ms = delay_ms;
    g_sink.bytes = 0;
    g_sink.reset = 0;
    if (pthread_create(&g_sink.thread, NULL, sink_run, NULL) != 0) {
        close(g_sink.listener);
        return 0;
    }
    return port;
}

long long peer_sink_wait(int *reset)
{
    pthread_join(g_sink.thread, NULL);
    *reset = g_sink.reset;
    return g_sink.bytes;
}

int peer_send_to(int port, const char *data, int len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((unsigned short)port);
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0 && write(fd, data, (size_t)len) == len;
    close(fd);
    return ok;
}

int peer_closed_port(void)
{
    int port = 0;
    int l = listen_loopback(0, &port);
    if (l < 0)
        return 0;
    close(l);
    return port;
}
