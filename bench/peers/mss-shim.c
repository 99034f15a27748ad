/*
 * LD_PRELOAD shim for gearmand in the large-payload cases of the benchmark: sets TCP_MAXSEG
 * (default 1448, an Ethernet link's segment size; env GEARBUN_BENCH_MSS) on every socket before
 * it listens, so accepted connections use that segment size in both directions.
 *
 * Why: gearmand fixes SO_RCVBUF/SO_SNDBUF at 32 KiB on its connections. Loopback's segments are
 * ~64 KiB, so a receive window holds one segment and a large packet crawls at one segment per
 * delayed ACK (~40 ms per 64 KiB, ~3 s per 4 MiB) whatever the peers do. With Ethernet-sized
 * segments the window holds dozens of them and the stall is gone.
 *
 * Build: cc -O2 -shared -fPIC -o mss-shim.so mss-shim.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>

int listen(int fd, int backlog) {
  static int (*real_listen)(int, int) = NULL;
  if (real_listen == NULL) real_listen = (int (*)(int, int))dlsym(RTLD_NEXT, "listen");
  const char *env = getenv("GEARBUN_BENCH_MSS");
  int mss = env != NULL ? atoi(env) : 1448;
  if (mss > 0) setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof mss); /* not TCP: ignored */
  return real_listen(fd, backlog);
}
