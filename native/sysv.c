/*
 * System V IPC: ftok, shmget, shmat, shmdt, shmctl (IPC_STAT, IPC_SET, IPC_RMID), semget, semtimedop, semctl.
 * One function per call, no policy: src/sysv/ checks every argument first and decides what to do.
 *
 * An attachment reaches JavaScript as one external ArrayBuffer over exactly the segment's bytes, like a mapping
 * in mapping.c: every view the TypeScript layer hands out is built on it, so a view kept after detach() reads as
 * length 0 instead of pointing at pages that are gone. And like a mapping, an attachment is retired rather than
 * unmapped (retire.h): a thread-pool thread (crypto.randomFill, zlib, fs.write) may still be writing through the
 * pointer it took before detach(), so detach() detaches the ArrayBuffer and maps anonymous memory over the range,
 * which ends the attachment in the kernel at once (shm_nattch drops, shm_dtime and shm_lpid are set, as for shmdt),
 * and the addresses are released only when both finalizers have run.
 */
#include "common.h"
#include "retire.h"
#include "signals.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <time.h>
#include <unistd.h>

/* One per shmat call. Freed by the last of its two finalizers (retire.h). */
typedef struct {
  memmap_range range; /* first: unregister_attachment gets the record from it */
  /* Attached with SHM_RDONLY behind the copy-on-write SIGSEGV handler (signals.c): registered there while live. */
  bool readonly;
} memmap_attachment;

/* The type tag of memmap's attachment ArrayBuffers: C unwraps a record only from an object carrying it. */
static const napi_type_tag attachment_tag = {0x6d656d6d61702d73ULL, 0x7973762d61747431ULL}; /* "memmap-sysv-att1" */

/* Read-only attachments are registered with the SIGSEGV handler in signals.c, which turns a JavaScript write into
   a private copy of the page instead of a crash (see there). A retired one is taken out once its range holds
   anonymous memory (writable: nothing faults there any more), so the handler never copies a page into it. */
static void unregister_attachment(memmap_range *range) {
  memmap_attachment *attachment = (memmap_attachment *)range;
  if (attachment->readonly) memmap_readonly_remove(range->address);
}

/* Drops one of the two holds; the last one unmaps the range (munmap: for a live attachment this detaches it just as
   shmdt does, and also drops the private copies the SIGSEGV handler made, which shmdt would leave) and frees the
   record. */
static void release_attachment(memmap_attachment *attachment) {
  if (memmap_range_release(&attachment->range)) free(attachment);
}

static void finalize_backing_store(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  release_attachment(hint);
}

static void finalize_object(napi_env env, void *data, void *hint) {
  (void)hint;
  memmap_attachment *attachment = data;
  memmap_range_forget_held(env, &attachment->range);
  release_attachment(attachment);
}

static size_t page_rounded(size_t length) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  return (length + page - 1) / page * page;
}

static bool get_string(napi_env env, napi_value value, char *out, size_t size) {
  size_t length;
  napi_status status = napi_get_value_string_utf8(env, value, out, size, &length);
  if (status != napi_ok) memmap_throw_napi_failure(env, status, "napi_get_value_string_utf8");
  return status == napi_ok;
}

/* ftok(path, projectId) -> key. projectId in 1..255 (checked in TS: ftok uses its low 8 bits, which must not be 0). */
static napi_value js_ftok(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char path[4096];
  int32_t project;
  if (!memmap_get_args(env, info, 2, argv) || !get_string(env, argv[0], path, sizeof path) ||
      !memmap_get_int32(env, argv[1], &project))
    return NULL;
  assert(project >= 1 && project <= 255);
  key_t key = ftok(path, project);
  if (key == (key_t)-1) return memmap_throw_errno(env, errno, "ftok");
  return memmap_int64(env, key);
}

/* shmget(key, size, flags) -> id. */
static napi_value js_shmget(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t key, flags;
  int64_t size;
  if (!memmap_get_args(env, info, 3, argv) || !memmap_get_int32(env, argv[0], &key) ||
      !memmap_get_int64(env, argv[1], &size) || !memmap_get_int32(env, argv[2], &flags))
    return NULL;
  assert(size >= 0);
  int id = shmget((key_t)key, (size_t)size, flags);
  if (id < 0) return memmap_throw_errno(env, errno, "shmget");
  return memmap_int64(env, id);
}

/* Wraps an attached segment in its one external ArrayBuffer. On failure no JavaScript has seen it: it is retired
   (which ends the attachment) and released like one that was detached. */
static napi_value attachment_buffer(napi_env env, void *address, size_t length, bool readonly) {
  memmap_attachment *attachment = malloc(sizeof *attachment);
  if (attachment == NULL) {
    if (readonly) memmap_readonly_remove(address);
    munmap(address, length);
    return memmap_throw_errno(env, ENOMEM, "shmat");
  }
  memmap_range_init(&attachment->range, address, length, unregister_attachment);
  attachment->readonly = readonly;

  napi_value arraybuffer;
  napi_status status =
      napi_create_external_arraybuffer(env, address, length, finalize_backing_store, attachment, &arraybuffer);
  if (status != napi_ok) {
    /* The finalizer has been handed the record: Node runs it inside the failed call, another runtime later or
       never. Retire the range (the attachment ends now, whichever happens) and drop the object's hold only: the
       last of the two unmaps and frees, nothing twice. (If the finalizer never runs, the reserved range leaks.) */
    memmap_range_retire(&attachment->range);
    release_attachment(attachment);
    memmap_throw_napi_failure(env, status, "napi_create_external_arraybuffer");
    return NULL;
  }
  /* The ArrayBuffer carries its record so shmdt can find it; the wrap's finalizer is the object's hold. */
  status = napi_wrap(env, arraybuffer, attachment, finalize_object, NULL, NULL);
  if (status != napi_ok) {
    napi_detach_arraybuffer(env, arraybuffer);
    memmap_range_retire(&attachment->range);
    release_attachment(attachment); /* no wrap, so no object finalizer: the backing store's finalizer frees */
    memmap_throw_napi_failure(env, status, "napi_wrap");
    return NULL;
  }
  NAPI_CALL(env, napi_type_tag_object(env, arraybuffer, &attachment_tag)); /* on failure both finalizers still run */
  return arraybuffer;
}

static bool get_shmat_args(napi_env env, napi_callback_info info, size_t count, int32_t *id, int64_t *length,
                           int32_t *flags) {
  napi_value argv[3];
  if (!memmap_get_args(env, info, count, argv) || !memmap_get_int32(env, argv[0], id) ||
      !memmap_get_int64(env, argv[1], length) || (count > 2 && !memmap_get_int32(env, argv[2], flags)))
    return false;
  assert(*id >= 0 && *length > 0 && "TypeScript checked the size against the largest ArrayBuffer before shmat");
  return true;
}

/*
 * shmat(id, length, flags) -> ArrayBuffer of `length` bytes (the segment's size, read by TS with IPC_STAT).
 * With SHM_RDONLY and no handler the pages are read-only: a JavaScript write through the buffer is a SIGSEGV.
 * Only the unsafe entry passes that flag (see src/unsafe.ts).
 */
static napi_value js_shmat(napi_env env, napi_callback_info info) {
  int32_t id, flags;
  int64_t length;
  if (!get_shmat_args(env, info, 3, &id, &length, &flags)) return NULL;
  void *address = shmat(id, NULL, flags);
  if (address == (void *)-1) return memmap_throw_errno(env, errno, "shmat");
  return attachment_buffer(env, address, (size_t)length, false);
}

/* shmatReadOnly(id, length) -> ArrayBuffer: shmat(SHM_RDONLY) behind the copy-on-write SIGSEGV handler (signals.c). */
static napi_value js_shmat_readonly(napi_env env, napi_callback_info info) {
  int32_t id, flags = 0;
  int64_t length;
  if (!get_shmat_args(env, info, 2, &id, &length, &flags)) return NULL;
  if (!memmap_sigsegv_ensure()) return memmap_throw_errno(env, errno, "sigaction");
  void *address = shmat(id, NULL, SHM_RDONLY);
  if (address == (void *)-1) return memmap_throw_errno(env, errno, "shmat");
  if (!memmap_readonly_add(address, page_rounded((size_t)length))) {
    shmdt(address);
    return memmap_throw_errno(env, EMFILE, "shmat");
  }
  return attachment_buffer(env, address, (size_t)length, true);
}

/* The record of an attachment ArrayBuffer made by shmat; asserts the tag (TypeScript passes only those). */
static memmap_attachment *unwrap_attachment(napi_env env, napi_value arraybuffer) {
  void *record = NULL;
  bool tagged = false;
  NAPI_CALL(env, napi_check_object_type_tag(env, arraybuffer, &attachment_tag, &tagged));
  assert(tagged && "TypeScript passes only ArrayBuffers made by shmat");
  NAPI_CALL(env, napi_unwrap(env, arraybuffer, &record));
  return record;
}

/* shmAlias(arraybuffer) -> the attachment's guarded face (retire.h), which shmdt detaches. */
static napi_value js_shm_alias(napi_env env, napi_callback_info info) {
  napi_value argv[1], alias;
  if (!memmap_get_args(env, info, 1, argv)) return NULL;
  memmap_attachment *attachment = unwrap_attachment(env, argv[0]);
  if (attachment == NULL || !memmap_range_alias(env, &attachment->range, &alias)) return NULL;
  return alias;
}

/* shmdt(arraybuffer, alias, keep): retires the attachment (retire.h): detaches its guarded face `alias` (every view
   built on it throws). With `keep`, replaces the range by a private copy of the segment's bytes in one mremap, which
   detaches the segment in the kernel as shmdt would, while a thread-pool thread still reading through the public
   face reads the bytes it would have read and one still writing writes into memory no other process sees. Without
   `keep` (TypeScript's budget is spent), or if no copy can be made, the public face is detached too and anonymous
   memory replaces the range (as safe; only zlib with passes left then ends the process). Once per attachment.
   (The name stays shmdt: what the caller asks for, and what the kernel records.) */
static napi_value js_shmdt(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  bool keep = false;
  if (!memmap_get_args(env, info, 3, argv) || !memmap_get_bool(env, argv[2], &keep)) return NULL;
  memmap_attachment *attachment = unwrap_attachment(env, argv[0]);
  if (attachment == NULL) return NULL;
  assert(!__atomic_load_n(&attachment->range.retired, __ATOMIC_ACQUIRE) && "TypeScript detaches an attachment once");
  if (!memmap_range_detach_alias(env, &attachment->range, argv[1])) return NULL;
  if (keep && memmap_range_retire_copy(&attachment->range) == 0) {
    memmap_range_mark_kept(env, &attachment->range, attachment->range.length);
    return memmap_undefined(env);
  }
  NAPI_CALL(env, napi_detach_arraybuffer(env, argv[0]));
  /* On failure the segment stays attached (and registered) until the last hold unmaps it: still safe to touch. */
  int error_number = memmap_range_retire(&attachment->range);
  if (error_number != 0) return memmap_throw_errno(env, error_number, "mmap");
  return memmap_undefined(env);
}

static bool set_number(napi_env env, napi_value object, const char *name, double value) {
  napi_value number;
  return napi_create_double(env, value, &number) == napi_ok &&
         napi_set_named_property(env, object, name, number) == napi_ok;
}

/* shmctl(id, IPC_STAT) -> { key, size, mode, uid, gid, cuid, cgid, cpid, lpid, nattch, atime, dtime, ctime } */
static napi_value js_shmctl_stat(napi_env env, napi_callback_info info) {
  napi_value argv[1], result;
  int32_t id;
  struct shmid_ds ds;
  if (!memmap_get_args(env, info, 1, argv) || !memmap_get_int32(env, argv[0], &id)) return NULL;
  if (shmctl(id, IPC_STAT, &ds) != 0) return memmap_throw_errno(env, errno, "shmctl");
  NAPI_CALL(env, napi_create_object(env, &result));
  bool ok =
      set_number(env, result, "key", ds.shm_perm.__key) && set_number(env, result, "size", (double)ds.shm_segsz) &&
      set_number(env, result, "mode", ds.shm_perm.mode) && set_number(env, result, "uid", ds.shm_perm.uid) &&
      set_number(env, result, "gid", ds.shm_perm.gid) && set_number(env, result, "cuid", ds.shm_perm.cuid) &&
      set_number(env, result, "cgid", ds.shm_perm.cgid) && set_number(env, result, "cpid", ds.shm_cpid) &&
      set_number(env, result, "lpid", ds.shm_lpid) && set_number(env, result, "nattch", (double)ds.shm_nattch) &&
      set_number(env, result, "atime", (double)ds.shm_atime) &&
      set_number(env, result, "dtime", (double)ds.shm_dtime) && set_number(env, result, "ctime", (double)ds.shm_ctime);
  if (!ok) {
    memmap_throw_napi_failure(env, napi_generic_failure, "shmctl result");
    return NULL;
  }
  return result;
}

/* shmctl(id, IPC_SET) with uid, gid and mode (low 9 bits): TS reads the current values first and passes all three. */
static napi_value js_shmctl_set(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t id, mode;
  int64_t uid, gid; /* uid_t and gid_t are unsigned 32-bit: ids above INT32_MAX exist (4294967294 on some systems) */
  struct shmid_ds ds = {0};
  if (!memmap_get_args(env, info, 4, argv) || !memmap_get_int32(env, argv[0], &id) ||
      !memmap_get_int64(env, argv[1], &uid) || !memmap_get_int64(env, argv[2], &gid) ||
      !memmap_get_int32(env, argv[3], &mode))
    return NULL;
  assert(uid >= 0 && uid < UINT32_MAX && gid >= 0 && gid < UINT32_MAX && mode >= 0 && mode <= 0777);
  ds.shm_perm.uid = (uid_t)uid;
  ds.shm_perm.gid = (gid_t)gid;
  ds.shm_perm.mode = (unsigned short)mode;
  if (shmctl(id, IPC_SET, &ds) != 0) return memmap_throw_errno(env, errno, "shmctl");
  return memmap_undefined(env);
}

/* shmctl(id, IPC_RMID): the segment goes when the last attachment detaches. */
static napi_value js_shmctl_rmid(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t id;
  if (!memmap_get_args(env, info, 1, argv) || !memmap_get_int32(env, argv[0], &id)) return NULL;
  if (shmctl(id, IPC_RMID, NULL) != 0) return memmap_throw_errno(env, errno, "shmctl");
  return memmap_undefined(env);
}

/* semget(key, count, flags) -> id. */
static napi_value js_semget(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t key, count, flags;
  if (!memmap_get_args(env, info, 3, argv) || !memmap_get_int32(env, argv[0], &key) ||
      !memmap_get_int32(env, argv[1], &count) || !memmap_get_int32(env, argv[2], &flags))
    return NULL;
  assert(count >= 0);
  int id = semget((key_t)key, count, flags);
  if (id < 0) return memmap_throw_errno(env, errno, "semget");
  return memmap_int64(env, id);
}

/* Relative timeout in milliseconds (< 0: none) as a timespec. */
static struct timespec *timeout_of(int64_t ms, struct timespec *storage) {
  if (ms < 0) return NULL;
  storage->tv_sec = (time_t)(ms / 1000);
  storage->tv_nsec = (long)(ms % 1000) * 1000000L;
  return storage;
}

/* semtimedop(id, [{ num, op, flags }], timeout). Returns 0, or the errno (EAGAIN: timed out or IPC_NOWAIT). */
static int semop_one(int id, int num, int op, int flags, int64_t timeout_ms) {
  struct sembuf operation = {.sem_num = (unsigned short)num, .sem_op = (short)op, .sem_flg = (short)flags};
  struct timespec storage;
  int rc = semtimedop(id, &operation, 1, timeout_of(timeout_ms, &storage));
  return rc == 0 ? 0 : errno;
}

/* semop(id, num, op, flags, timeoutMs) -> true, or false when it timed out (or would block with IPC_NOWAIT). */
static napi_value js_semop(napi_env env, napi_callback_info info) {
  napi_value argv[5], result;
  int32_t id, num, op, flags;
  int64_t timeout_ms;
  if (!memmap_get_args(env, info, 5, argv) || !memmap_get_int32(env, argv[0], &id) ||
      !memmap_get_int32(env, argv[1], &num) || !memmap_get_int32(env, argv[2], &op) ||
      !memmap_get_int32(env, argv[3], &flags) || !memmap_get_int64(env, argv[4], &timeout_ms))
    return NULL;
  assert(num >= 0 && op >= -32768 && op <= 32767);
  int error_number = semop_one(id, num, op, flags, timeout_ms);
  if (error_number != 0 && error_number != EAGAIN) return memmap_throw_errno(env, error_number, "semop");
  NAPI_CALL(env, napi_get_boolean(env, error_number == 0, &result));
  return result;
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  int id, num, op, flags;
  int64_t timeout_ms;
  int error_number;
} semop_job;

static void semop_execute(napi_env env, void *data) {
  (void)env;
  semop_job *job = data;
  job->error_number = semop_one(job->id, job->num, job->op, job->flags, job->timeout_ms);
}

static void semop_complete(napi_env env, napi_status status, void *data) {
  semop_job *job = data;
  napi_delete_async_work(env, job->work);
  int error_number = status == napi_ok ? job->error_number : ECANCELED;
  if (error_number == 0 || error_number == EAGAIN) {
    napi_value result;
    if (napi_get_boolean(env, error_number == 0, &result) == napi_ok) napi_resolve_deferred(env, job->deferred, result);
  } else {
    napi_reject_deferred(env, job->deferred, memmap_errno_error(env, error_number, "semop"));
  }
  free(job);
}

/*
 * semopAsync(id, num, op, flags, timeoutMs) -> Promise<boolean>: the same semtimedop on the libuv thread pool.
 * SEM_UNDO works from a pool thread: Node's threads share one undo list (CLONE_SYSVSEM), so the kernel undoes
 * the operation when the process exits, whichever thread made it.
 */
static napi_value js_semop_async(napi_env env, napi_callback_info info) {
  napi_value argv[5], promise, name;
  int32_t id, num, op, flags;
  int64_t timeout_ms;
  if (!memmap_get_args(env, info, 5, argv) || !memmap_get_int32(env, argv[0], &id) ||
      !memmap_get_int32(env, argv[1], &num) || !memmap_get_int32(env, argv[2], &op) ||
      !memmap_get_int32(env, argv[3], &flags) || !memmap_get_int64(env, argv[4], &timeout_ms))
    return NULL;
  assert(num >= 0 && op >= -32768 && op <= 32767);
  semop_job *job = calloc(1, sizeof *job);
  if (job == NULL) return memmap_throw_errno(env, ENOMEM, "semop");
  job->id = id;
  job->num = num;
  job->op = op;
  job->flags = flags;
  job->timeout_ms = timeout_ms;
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "memmap:semop", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, semop_execute, semop_complete, job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    free(job);
    memmap_throw_napi_failure(env, napi_generic_failure, "semopAsync setup");
    return NULL;
  }
  return promise;
}

/* semctl(id, num, GETVAL) -> value. */
static napi_value js_semctl_getval(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t id, num;
  if (!memmap_get_args(env, info, 2, argv) || !memmap_get_int32(env, argv[0], &id) ||
      !memmap_get_int32(env, argv[1], &num))
    return NULL;
  int value = semctl(id, num, GETVAL);
  if (value < 0) return memmap_throw_errno(env, errno, "semctl");
  return memmap_int64(env, value);
}

/* semctl(id, num, SETVAL, value). */
static napi_value js_semctl_setval(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t id, num, value;
  if (!memmap_get_args(env, info, 3, argv) || !memmap_get_int32(env, argv[0], &id) ||
      !memmap_get_int32(env, argv[1], &num) || !memmap_get_int32(env, argv[2], &value))
    return NULL;
  assert(value >= 0);
  if (semctl(id, num, SETVAL, value) != 0) return memmap_throw_errno(env, errno, "semctl");
  return memmap_undefined(env);
}

/* semctl(id, 0, IPC_RMID): blocked semop calls on the set fail with EIDRM. */
static napi_value js_semctl_rmid(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t id;
  if (!memmap_get_args(env, info, 1, argv) || !memmap_get_int32(env, argv[0], &id)) return NULL;
  if (semctl(id, 0, IPC_RMID) != 0) return memmap_throw_errno(env, errno, "semctl");
  return memmap_undefined(env);
}

bool memmap_init_sysv(napi_env env, napi_value exports) {
  napi_value constants;
  if (napi_get_named_property(env, exports, "constants", &constants) != napi_ok) return false;
  int values[] = {IPC_PRIVATE, IPC_CREAT, IPC_EXCL, IPC_NOWAIT, SHM_RDONLY, SHM_DEST, SEM_UNDO};
  const char *names[] = {"IPC_PRIVATE", "IPC_CREAT", "IPC_EXCL", "IPC_NOWAIT", "SHM_RDONLY", "SHM_DEST", "SEM_UNDO"};
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
    napi_value value;
    if (napi_create_int32(env, values[i], &value) != napi_ok ||
        napi_set_named_property(env, constants, names[i], value) != napi_ok)
      return false;
  }
  return memmap_export(env, exports, "ftok", js_ftok) && memmap_export(env, exports, "shmget", js_shmget) &&
         memmap_export(env, exports, "shmat", js_shmat) && memmap_export(env, exports, "shmdt", js_shmdt) &&
         memmap_export(env, exports, "shmAlias", js_shm_alias) &&
         memmap_export(env, exports, "shmatReadOnly", js_shmat_readonly) &&
         memmap_export(env, exports, "shmctlStat", js_shmctl_stat) &&
         memmap_export(env, exports, "shmctlSet", js_shmctl_set) &&
         memmap_export(env, exports, "shmctlRemove", js_shmctl_rmid) &&
         memmap_export(env, exports, "semget", js_semget) && memmap_export(env, exports, "semop", js_semop) &&
         memmap_export(env, exports, "semopAsync", js_semop_async) &&
         memmap_export(env, exports, "semctlGetValue", js_semctl_getval) &&
         memmap_export(env, exports, "semctlSetValue", js_semctl_setval) &&
         memmap_export(env, exports, "semctlRemove", js_semctl_rmid);
}
