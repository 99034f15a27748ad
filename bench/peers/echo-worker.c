/*
 * libgearman echo worker: the C baseline of the benchmark (bench/throughput.ts).
 *
 *   echo-worker -s 127.0.0.1:4730[,127.0.0.1:4731] [-f echo] [-n JOBS] [-i ID] [-d USEC]
 *
 * Registers FUNCTION on every listed server and answers each job with its own workload
 * (WORK_COMPLETE straight from the job's buffer: no result copy); with -d it sleeps USEC first
 * (a job that takes time, for the gray-failure rows of bench/gray.ts). With -n it exits after JOBS
 * jobs; without it, it runs until killed. On exit (count reached, SIGTERM or SIGINT) it prints one
 * JSON line: {"jobs":N,"cpu_us":U,"maxrss_kb":K}.
 *
 * Build: cc -O2 -o echo-worker echo-worker.c -lgearman
 */
#include <libgearman/gearman.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static volatile sig_atomic_t stopping = 0;
static uint64_t done = 0;
static useconds_t delay_us = 0;

static void on_signal(int sig) {
  (void)sig;
  stopping = 1;
}

static gearman_return_t echo(gearman_job_st *job, void *context) {
  (void)context;
  if (delay_us > 0) usleep(delay_us);
  /* Answer from the job's own buffer; libgearman sends nothing more once the job is finished. */
  gearman_return_t rc = gearman_job_send_complete(job, gearman_job_workload(job), gearman_job_workload_size(job));
  if (gearman_failed(rc)) return GEARMAN_ERROR;
  done++;
  return GEARMAN_SUCCESS;
}

static void report(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  uint64_t cpu_us = (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec +
                    (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
  printf("{\"jobs\":%llu,\"cpu_us\":%llu,\"maxrss_kb\":%ld}\n", (unsigned long long)done, (unsigned long long)cpu_us,
         ru.ru_maxrss);
  fflush(stdout);
}

static void usage(const char *self) {
  fprintf(stderr, "usage: %s -s HOST:PORT[,HOST:PORT...] [-f FUNCTION] [-n JOBS] [-i CLIENT_ID] [-d USEC]\n", self);
  exit(2);
}

int main(int argc, char **argv) {
  const char *servers = NULL;
  const char *function = "echo";
  const char *id = NULL;
  uint64_t limit = 0;
  int opt;
  while ((opt = getopt(argc, argv, "s:f:n:i:d:h")) != -1) {
    switch (opt) {
      case 's': servers = optarg; break;
      case 'f': function = optarg; break;
      case 'n': limit = strtoull(optarg, NULL, 10); break;
      case 'i': id = optarg; break;
      case 'd': delay_us = (useconds_t)strtoul(optarg, NULL, 10); break;
      default: usage(argv[0]);
    }
  }
  if (servers == NULL) usage(argv[0]);

  /* No SA_RESTART: a signal interrupts the poll() inside gearman_worker_work(). */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  gearman_worker_st *worker = gearman_worker_create(NULL);
  if (worker == NULL) {
    fprintf(stderr, "echo-worker: gearman_worker_create failed\n");
    return 1;
  }
  if (gearman_failed(gearman_worker_add_servers(worker, servers))) {
    fprintf(stderr, "echo-worker: bad server list %s: %s\n", servers, gearman_worker_error(worker));
    return 1;
  }
  if (id != NULL) gearman_worker_set_identifier(worker, id, strlen(id));
  /* Wake up from the poll at least once a second to notice a stop request. */
  gearman_worker_set_timeout(worker, 1000);
  gearman_function_t fn = gearman_function_create(echo);
  if (gearman_failed(gearman_worker_define_function(worker, function, strlen(function), fn, 0, NULL))) {
    fprintf(stderr, "echo-worker: define_function failed: %s\n", gearman_worker_error(worker));
    return 1;
  }

  int status = 0;
  while (!stopping && (limit == 0 || done < limit)) {
    gearman_return_t rc = gearman_worker_work(worker);
    if (rc == GEARMAN_SUCCESS || rc == GEARMAN_TIMEOUT || rc == GEARMAN_IO_WAIT || rc == GEARMAN_NO_JOBS) continue;
    if (stopping) break;
    if (rc == GEARMAN_COULD_NOT_CONNECT || rc == GEARMAN_LOST_CONNECTION || rc == GEARMAN_NO_ACTIVE_FDS ||
        rc == GEARMAN_ERRNO) {
      /* A server is not up yet or went away: libgearman reconnects on the next call. */
      usleep(50000);
      continue;
    }
    fprintf(stderr, "echo-worker: %s\n", gearman_worker_error(worker));
    status = 1;
    break;
  }
  report();
  gearman_worker_free(worker);
  return status;
}
