/*
 * peers.h: real peers for the checks of a provider over the host's
 * sockets (host.c --system), on the loopback addresses, with the host's
 * own sockets (POSIX). Ports are in host byte order; 0 means failure.
 */
#ifndef PEERS_H
#define PEERS_H

/* An echo server on 127.0.0.1 (v6 = 0) or ::1 (v6 = 1), any port: it
 * echoes every connection until the client closes. Its port, or 0 (no
 * such loopback address on this host). */
int peer_echo(int v6);

/* A sink on 127.0.0.1: it accepts one connection, waits delay_ms, then
 * reads until the end of the stream or an error. Its port, or 0. */
int peer_sink(int delay_ms);

/* Waits for the sink to finish: the bytes it read; *reset is 1 if the
 * connection ended with a reset (ECONNRESET), 0 for an orderly end. */
long long peer_sink_wait(int *reset);

/* Connects to 127.0.0.1:port, sends len bytes of data and closes. 1 when
 * all was sent. */
int peer_send_to(int port, const char *data, int len);

/* A port on 127.0.0.1 where nothing listens (bound once and let go). */
int peer_closed_port(void);

#endif
