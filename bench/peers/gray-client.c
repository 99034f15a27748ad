/*
 * libgearman foreground client for the gray-failure rows (bench/gray.ts).
 *
 *   gray-client -s HOST:PORT[,HOST:PORT...] [-f gray_fg] [-r RATE] [-t SECONDS] [-T TIMEOUT_MS]
 *
 * Calls gearman_client_do() (libgearman's blocking foreground call) one after the other for
 * SECONDS, starting at most RATE calls a second, each with TIMEOUT_MS as the client's I/O timeout.
 * Prints one JSON line: {"calls":[[start_epoch_ms, duration_ms, ok], ...]}.
 *
 * Build: cc -O2 -o gray-client gray-client.c -lgearman
 */
#include <libgearman/gearman.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  const char *servers = NULL;
  const char *function = "gray_fg";
  double rate = 100;
  double seconds = 10;
  int timeout_ms = 10000;
  int opt;
  while ((opt = getopt(argc, argv, "s:f:r:t:T:h")) != -1) {
    switch (opt) {
      case 's': servers = optarg; break;
      case 'f': function = optarg; break;
      case 'r': rate = atof(optarg); break;
      case 't': seconds = atof(optarg); break;
      case 'T': timeout_ms = atoi(optarg); break;
      default:
        fprintf(stderr, "usage: %s -s HOST:PORT[,...] [-f FN] [-r RATE] [-t SECONDS] [-T TIMEOUT_MS]\n", argv[0]);
        return 2;
    }
  }
  if (servers == NULL || rate <= 0) return 2;
  gearman_client_st *client = gearman_client_create(NULL);
  if (client == NULL || gearman_failed(gearman_client_add_servers(client, servers))) {
    fprintf(stderr, "gray-client: cannot set up the client for %s\n", servers);
    return 1;
  }
  gearman_client_set_timeout(client, timeout_ms);
  size_t cap = 1024, n = 0;
  double *calls = malloc(cap * 3 * sizeof(double));
  const double step = 1000.0 / rate;
  const double end = now_ms() + seconds * 1000.0;
  double next = now_ms();
  while (now_ms() < end) {
    double wait = next - now_ms();
    if (wait > 0) usleep((useconds_t)(wait * 1000));
    double start = now_ms();
    next = start + step;
    size_t size = 0;
    gearman_return_t rc;
    void *result = gearman_client_do(client, function, NULL, "x", 1, &size, &rc);
    free(result);
    if (n == cap) {
      cap *= 2;
      calls = realloc(calls, cap * 3 * sizeof(double));
    }
    calls[n * 3] = start;
    calls[n * 3 + 1] = now_ms() - start;
    calls[n * 3 + 2] = gearman_success(rc) ? 1 : 0;
    n++;
  }
  printf("{\"calls\":[");
  for (size_t i = 0; i < n; i++) {
    printf("%s[%.1f,%.2f,%d]", i ? "," : "", calls[i * 3], calls[i * 3 + 1], (int)calls[i * 3 + 2]);
  }
  printf("]}\n");
  fflush(stdout);
  gearman_client_free(client);
  return 0;
}
