/*
 * A libgearman worker for interop tests: every job's events come from the C library.
 *   libgearman-worker HOST PORT
 * Functions:
 *   events     WORK_DATA "d1", STATUS 1/3, WARNING "w1", DATA "d2", STATUS 2/3, then the payload reversed
 *   fail       WORK_FAIL
 *   exception  WORK_EXCEPTION "boom: " + payload
 *   rev        the payload reversed
 * Prints "ready" once the functions are registered; exits on SIGTERM.
 */
#include <libgearman/gearman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static gearman_return_t reply_reversed(gearman_job_st *job) {
  size_t n = gearman_job_workload_size(job);
  const char *in = (const char *)gearman_job_workload(job);
  char *out = malloc(n + 1);
  for (size_t i = 0; i < n; i++) out[i] = in[n - 1 - i];
  gearman_return_t rc = gearman_job_send_complete(job, out, n);
  free(out);
  return rc == GEARMAN_SUCCESS ? GEARMAN_SUCCESS : GEARMAN_ERROR;
}

static gearman_return_t fn_rev(gearman_job_st *job, void *ctx) {
  (void)ctx;
  return reply_reversed(job);
}

static gearman_return_t fn_events(gearman_job_st *job, void *ctx) {
  (void)ctx;
  gearman_job_send_data(job, "d1", 2);
  gearman_job_send_status(job, 1, 3);
  gearman_job_send_warning(job, "w1", 2);
  gearman_job_send_data(job, "d2", 2);
  gearman_job_send_status(job, 2, 3);
  return reply_reversed(job);
}

static gearman_return_t fn_fail(gearman_job_st *job, void *ctx) {
  (void)job;
  (void)ctx;
  return GEARMAN_FATAL;
}

static gearman_return_t fn_exception(gearman_job_st *job, void *ctx) {
  (void)ctx;
  size_t n = gearman_job_workload_size(job);
  char *msg = malloc(n + 7);
  memcpy(msg, "boom: ", 6);
  memcpy(msg + 6, gearman_job_workload(job), n);
  gearman_job_send_exception(job, msg, n + 6);
  free(msg);
  return GEARMAN_SUCCESS;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s HOST PORT\n", argv[0]);
    return 2;
  }
  gearman_worker_st *worker = gearman_worker_create(NULL);
  if (worker == NULL || gearman_worker_add_server(worker, argv[1], (in_port_t)atoi(argv[2])) != GEARMAN_SUCCESS) {
    fprintf(stderr, "cannot set up worker\n");
    return 1;
  }
  gearman_worker_define_function(worker, "events", 6, gearman_function_create(fn_events), 0, NULL);
  gearman_worker_define_function(worker, "fail", 4, gearman_function_create(fn_fail), 0, NULL);
  gearman_worker_define_function(worker, "exception", 9, gearman_function_create(fn_exception), 0, NULL);
  gearman_worker_define_function(worker, "rev", 3, gearman_function_create(fn_rev), 0, NULL);
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    gearman_return_t rc = gearman_worker_work(worker);
    if (rc != GEARMAN_SUCCESS && rc != GEARMAN_WORK_FAIL && rc != GEARMAN_WORK_EXCEPTION) {
      fprintf(stderr, "worker: %s\n", gearman_worker_error(worker));
      if (rc == GEARMAN_LOST_CONNECTION || rc == GEARMAN_COULD_NOT_CONNECT) continue;
    }
  }
}
