/*
 * libgearman load generator for the benchmark (bench/throughput.ts).
 *
 *   submitter -s HOST:PORT[,HOST:PORT...] [-f echo] [-n JOBS] [-p BYTES] [-w IN_FLIGHT] [-b]
 *
 * Submits JOBS jobs of BYTES bytes each, keeping IN_FLIGHT submissions outstanding: foreground
 * (SUBMIT_JOB, waits for WORK_COMPLETE and checks the echoed size) or, with -b, background
 * (SUBMIT_JOB_BG, done at JOB_CREATED). New tasks are added from the completion callbacks, so the
 * window stays full; with IN_FLIGHT >= JOBS every task is added before any is sent (libgearman's
 * bulk enqueue: add_task for all, then run_tasks). The connection is opened (ECHO_REQ) before the
 * clock starts. Prints one JSON line:
 * {"mode","jobs","ok","failed","elapsed_ms","cpu_us","maxrss_kb","rss_start_kb"} (cpu_us: this
 * process's CPU while the clock ran; rss_start_kb: resident memory when the clock started); exits 1
 * on any failure.
 *
 * Build: cc -O2 -o submitter submitter.c -lgearman
 */
#include <libgearman/gearman.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

struct run {
  gearman_client_st *client;
  const char *function;
  const char *payload;
  size_t size;
  uint64_t total;
  uint64_t submitted;
  uint64_t ok;
  uint64_t failed;
  bool background;
};

static bool submit_one(struct run *r);

static void refill(struct run *r) {
  if (r->submitted < r->total) submit_one(r);
}

static gearman_return_t on_created(gearman_task_st *task) {
  struct run *r = gearman_task_context(task);
  if (r->background) {
    r->ok++;
    refill(r);
  }
  return GEARMAN_SUCCESS;
}

static gearman_return_t on_complete(gearman_task_st *task) {
  struct run *r = gearman_task_context(task);
  if (r->background) return GEARMAN_SUCCESS;
  if (gearman_task_data_size(task) == r->size) r->ok++;
  else r->failed++;
  refill(r);
  return GEARMAN_SUCCESS;
}

static gearman_return_t on_fail(gearman_task_st *task) {
  struct run *r = gearman_task_context(task);
  r->failed++;
  refill(r);
  return GEARMAN_SUCCESS;
}

static bool submit_one(struct run *r) {
  gearman_return_t rc;
  gearman_task_st *task;
  if (r->background)
    task = gearman_client_add_task_background(r->client, NULL, r, r->function, NULL, r->payload, r->size, &rc);
  else
    task = gearman_client_add_task(r->client, NULL, r, r->function, NULL, r->payload, r->size, &rc);
  if (task == NULL || gearman_failed(rc)) {
    fprintf(stderr, "submitter: add_task failed: %s\n", gearman_client_error(r->client));
    r->failed++;
    return false;
  }
  r->submitted++;
  return true;
}

static uint64_t cpu_now_us(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec +
         (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
}

/* Resident memory now, from /proc/self/statm (pages). */
static long rss_now_kb(void) {
  long size = 0, resident = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f == NULL) return 0;
  if (fscanf(f, "%ld %ld", &size, &resident) != 2) resident = 0;
  fclose(f);
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void usage(const char *self) {
  fprintf(stderr, "usage: %s -s HOST:PORT[,...] [-f FUNCTION] [-n JOBS] [-p BYTES] [-w IN_FLIGHT] [-b]\n", self);
  exit(2);
}

int main(int argc, char **argv) {
  struct run r;
  memset(&r, 0, sizeof r);
  const char *servers = NULL;
  r.function = "echo";
  r.total = 10000;
  r.size = 16;
  uint64_t window = 1000;
  int opt;
  while ((opt = getopt(argc, argv, "s:f:n:p:w:bh")) != -1) {
    switch (opt) {
      case 's': servers = optarg; break;
      case 'f': r.function = optarg; break;
      case 'n': r.total = strtoull(optarg, NULL, 10); break;
      case 'p': r.size = strtoull(optarg, NULL, 10); break;
      case 'w': window = strtoull(optarg, NULL, 10); break;
      case 'b': r.background = true; break;
      default: usage(argv[0]);
    }
  }
  if (servers == NULL || window == 0) usage(argv[0]);

  char *payload = malloc(r.size > 0 ? r.size : 1);
  if (payload == NULL) return 1;
  for (size_t i = 0; i < r.size; i++) payload[i] = (char)('a' + i % 26);
  r.payload = payload;

  r.client = gearman_client_create(NULL);
  if (r.client == NULL || gearman_failed(gearman_client_add_servers(r.client, servers))) {
    fprintf(stderr, "submitter: cannot set up client for %s\n", servers);
    return 1;
  }
  /* Finished tasks are freed at once: libgearman scans its task list for every packet. */
  gearman_client_add_options(r.client, GEARMAN_CLIENT_FREE_TASKS);
  gearman_client_set_created_fn(r.client, on_created);
  gearman_client_set_complete_fn(r.client, on_complete);
  gearman_client_set_fail_fn(r.client, on_fail);
  gearman_client_set_exception_fn(r.client, on_fail);
  if (gearman_failed(gearman_client_echo(r.client, "ping", 4))) {
    fprintf(stderr, "submitter: cannot reach %s: %s\n", servers, gearman_client_error(r.client));
    return 1;
  }

  long rss_start_kb = rss_now_kb();
  uint64_t cpu_start = cpu_now_us();
  double start = now_ms();
  while (r.submitted < r.total && r.submitted < window) {
    if (!submit_one(&r)) break;
  }
  gearman_return_t rc = gearman_client_run_tasks(r.client);
  double elapsed = now_ms() - start;
  uint64_t cpu_us = cpu_now_us() - cpu_start;
  int status = 0;
  if (gearman_failed(rc)) {
    fprintf(stderr, "submitter: run_tasks: %s\n", gearman_client_error(r.client));
    status = 1;
  }
  if (r.ok != r.total) status = 1;

  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("{\"mode\":\"%s\",\"jobs\":%llu,\"ok\":%llu,\"failed\":%llu,\"elapsed_ms\":%.3f,\"cpu_us\":%llu,\"maxrss_kb\":%ld,\"rss_start_kb\":%ld}\n",
         r.background ? "background" : "foreground", (unsigned long long)r.total, (unsigned long long)r.ok,
         (unsigned long long)r.failed, elapsed, (unsigned long long)cpu_us, ru.ru_maxrss, rss_start_kb);
  gearman_client_free(r.client);
  free(payload);
  return status;
}
