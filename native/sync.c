/*
 * futex(2) wait and wake on a 32-bit word of a mapping, and kill(2) for liveness checks: what cross-process
 * synchronisation needs from the kernel that JavaScript's Atomics cannot give (Atomics.wait/notify only work on a
 * SharedArrayBuffer, and only between threads of one process). One function per call, no policy: the lock and
 * wait protocols live in src/shared/.
 *
 * The futexes are shared ones (no FUTEX_PRIVATE_FLAG): the kernel keys them by the page's backing object (the
 * file's inode or the System V segment) and offset, so a waiter and a waker in different processes, with the
 * word mapped at different addresses, meet.
 */
#include "common.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Results of a wait, as Atomics.wait names them. */
enum { WAIT_OK = 0, WAIT_NOT_EQUAL = 1, WAIT_TIMED_OUT = 2 };

/*
 * FUTEX_WAIT_BITSET with an absolute CLOCK_MONOTONIC deadline (NULL: none), so an EINTR retry keeps the deadline.
 * Returns a WAIT_* result, or -errno. A word that is no longer mapped gives -EFAULT: the kernel reads it with
 * copy_from_user, so a racing unmap can never fault this thread.
 */
static int futex_wait_until(int32_t *word, int32_t expected, const struct timespec *deadline) {
  for (;;) {
    long rc = syscall(SYS_futex, word, FUTEX_WAIT_BITSET, expected, deadline, NULL, FUTEX_BITSET_MATCH_ANY);
    if (rc == 0) return WAIT_OK;
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return WAIT_NOT_EQUAL;
    if (errno == ETIMEDOUT) return WAIT_TIMED_OUT;
    return -errno;
  }
}

/* The longest finite timeout TS passes (MAX_FINITE_TIMEOUT_MS in src/shared/wait.ts): its nanoseconds fit int64. */
#define MAX_FINITE_TIMEOUT_MS 1099511627776.0

static struct timespec *deadline_of(double timeout_ms, struct timespec *storage) {
  if (timeout_ms < 0) return NULL; /* TS passes -1 for "no timeout" */
  assert(timeout_ms <= MAX_FINITE_TIMEOUT_MS && "TypeScript turns longer timeouts into none");
  clock_gettime(CLOCK_MONOTONIC, storage);
  int64_t ns = (int64_t)(timeout_ms * 1e6);
  storage->tv_sec += (time_t)(ns / 1000000000);
  storage->tv_nsec += (long)(ns % 1000000000);
  if (storage->tv_nsec >= 1000000000L) {
    storage->tv_sec += 1;
    storage->tv_nsec -= 1000000000L;
  }
  return storage;
}

/* Reads (int32array, index) and returns the address of that element; TS checked index < length and alignment. */
static bool get_word(napi_env env, napi_value *argv, int32_t **word) {
  void *base;
  size_t length;
  int32_t index;
  if (!memmap_get_bytes(env, argv[0], &base, &length) || !memmap_get_int32(env, argv[1], &index)) return false;
  assert(base != NULL && "TypeScript never passes a detached view");
  assert(index >= 0 && (size_t)index * 4 + 4 <= length);
  /* In bounds: the element index * 4 .. index * 4 + 3 lies inside the view (asserted above). */
  *word = (int32_t *)base + index;
  assert(((uintptr_t)*word & 3) == 0);
  return true;
}

/* futexWait(int32array, index, expected, timeoutMs) -> 0 ok, 1 not-equal, 2 timed-out. Blocks the JS thread. */
static napi_value js_futex_wait(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t *word, expected;
  double timeout_ms;
  struct timespec storage;
  if (!memmap_get_args(env, info, 4, argv) || !get_word(env, argv, &word) || !memmap_get_int32(env, argv[2], &expected))
    return NULL;
  NAPI_CALL(env, napi_get_value_double(env, argv[3], &timeout_ms));
  int result = futex_wait_until(word, expected, deadline_of(timeout_ms, &storage));
  if (result < 0) return memmap_throw_errno(env, -result, "futex");
  return memmap_int64(env, result);
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref keep_alive; /* the view (and so its ArrayBuffer) stays alive, never finalized, while the wait runs */
  int32_t *word;
  int32_t expected;
  double timeout_ms;
  int result;
} wait_job;

static void wait_execute(napi_env env, void *data) {
  (void)env;
  wait_job *job = data;
  struct timespec storage;
  job->result = futex_wait_until(job->word, job->expected, deadline_of(job->timeout_ms, &storage));
}

static void wait_complete(napi_env env, napi_status status, void *data) {
  wait_job *job = data;
  napi_delete_reference(env, job->keep_alive);
  napi_delete_async_work(env, job->work);
  int result = status == napi_ok ? job->result : -ECANCELED;
  if (result >= 0) {
    napi_resolve_deferred(env, job->deferred, memmap_int64(env, result));
  } else {
    napi_reject_deferred(env, job->deferred, memmap_errno_error(env, -result, "futex"));
  }
  free(job);
}

/*
 * futexWaitAsync(int32array, index, expected, timeoutMs) -> Promise<0 | 1 | 2>: the same wait on the libuv
 * thread pool. The reference keeps the view from being collected, but an explicit close/detach still unmaps the
 * pages: the sleeping thread is then unaffected (the kernel holds the futex key, not the mapping) and wakes at
 * its timeout, which is why TS always passes a bounded one and checks the view again after each wait.
 */
static napi_value js_futex_wait_async(napi_env env, napi_callback_info info) {
  napi_value argv[4], promise, name;
  int32_t *word, expected;
  double timeout_ms;
  if (!memmap_get_args(env, info, 4, argv) || !get_word(env, argv, &word) || !memmap_get_int32(env, argv[2], &expected))
    return NULL;
  NAPI_CALL(env, napi_get_value_double(env, argv[3], &timeout_ms));
  wait_job *job = calloc(1, sizeof *job);
  if (job == NULL) return memmap_throw_errno(env, ENOMEM, "futex");
  job->word = word;
  job->expected = expected;
  job->timeout_ms = timeout_ms;
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok ||
      napi_create_reference(env, argv[0], 1, &job->keep_alive) != napi_ok ||
      napi_create_string_utf8(env, "memmap:futex", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, wait_execute, wait_complete, job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    free(job);
    memmap_throw_napi_failure(env, napi_generic_failure, "futexWaitAsync setup");
    return NULL;
  }
  return promise;
}

/* futexWake(int32array, index, count) -> the number of waiters woken (count: 1..INT_MAX). */
static napi_value js_futex_wake(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t *word, count;
  if (!memmap_get_args(env, info, 3, argv) || !get_word(env, argv, &word) || !memmap_get_int32(env, argv[2], &count))
    return NULL;
  assert(count >= 0);
  long rc = syscall(SYS_futex, word, FUTEX_WAKE, count, NULL, NULL, 0);
  if (rc < 0) return memmap_throw_errno(env, errno, "futex");
  return memmap_int64(env, rc);
}

/* kill(pid, signal): with signal 0, only the existence and permission checks (ESRCH: no such process). */
static napi_value js_kill(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t pid, signal_number;
  if (!memmap_get_args(env, info, 2, argv) || !memmap_get_int32(env, argv[0], &pid) ||
      !memmap_get_int32(env, argv[1], &signal_number))
    return NULL;
  assert(pid > 0 && "TypeScript never checks pid 0 (the process group) or a negative one");
  if (kill((pid_t)pid, signal_number) != 0) return memmap_throw_errno(env, errno, "kill");
  return memmap_undefined(env);
}

/* gettid(2): the calling thread's id (the process id on the main thread). Mutex owners are thread ids. */
static napi_value js_gettid(napi_env env, napi_callback_info info) {
  (void)info;
  return memmap_int64(env, (int64_t)syscall(SYS_gettid));
}

bool memmap_init_sync(napi_env env, napi_value exports) {
  return memmap_export(env, exports, "futexWait", js_futex_wait) &&
         memmap_export(env, exports, "futexWaitAsync", js_futex_wait_async) &&
         memmap_export(env, exports, "futexWake", js_futex_wake) && memmap_export(env, exports, "kill", js_kill) &&
         memmap_export(env, exports, "gettid", js_gettid);
}
