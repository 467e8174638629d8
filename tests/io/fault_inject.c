/* Fault injection for the io tests (LD_PRELOAD): counts the calls that change files —
 * write/pwrite/writev, fsync, fdatasync and ftruncate on regular files, and rename — and at the N-th one either kills the process (SIGKILL, as a node failure
 * would) or makes it and every later one fail with ENOSPC (a full disk).
 *
 *   CONCORD_FAULT_KILL_AT=N    SIGKILL just before the N-th call (1-based)
 *   CONCORD_FAULT_FAIL_AT=N    the N-th call and all later ones fail with errno ENOSPC
 *   CONCORD_FAULT_COUNT=FILE   at exit, write the number of calls seen to FILE
 *   CONCORD_FAULT_UNDER=DIR    count only files under DIR (an absolute path, resolved)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static long calls = 0, kill_at = -1, fail_at = -1;
static int configured = 0;

static void configure(void) {
  if (configured) return;
  configured = 1;
  const char* k = getenv("CONCORD_FAULT_KILL_AT");
  const char* f = getenv("CONCORD_FAULT_FAIL_AT");
  if (k) kill_at = atol(k);
  if (f) fail_at = atol(f);
}

/* Whether `path` lies under CONCORD_FAULT_UNDER (every path when unset). */
static int watched(const char* path) {
  const char* under = getenv("CONCORD_FAULT_UNDER");
  return !under || (path && strncmp(path, under, strlen(under)) == 0);
}

/* 1: the call must fail (errno set); 0: go on. Only regular files under CONCORD_FAULT_UNDER count
 * (not stdout/stderr, nor the pipes, sockets and shared-memory files of MPI's start-up and
 * progress engine); fd -1 stands for a rename of `path`. */
static int fault(int fd, const char* path) {
  if (fd >= 0) {
    struct stat st;
    char link[64], target[4096];
    if (fd <= 2 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    const ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0) return 0;
    target[n] = '\0';
    if (!watched(target)) return 0;
  } else {
    char resolved[4096];
    if (!watched(realpath(path, resolved) ? resolved : path)) return 0;
  }
  configure();
  ++calls;
  if (kill_at > 0 && calls == kill_at) raise(SIGKILL);
  if (fail_at > 0 && calls >= fail_at) {
    errno = ENOSPC;
    return 1;
  }
  return 0;
}

static void report(void) __attribute__((destructor));
static void report(void) {
  const char* path = getenv("CONCORD_FAULT_COUNT");
  if (!path) return;
  FILE* out = fopen(path, "w");
  if (!out) return;
  fprintf(out, "%ld\n", calls);
  fclose(out);
}

/* The next definition of `name` (libc's), looked up once. */
#define REAL(name)                           \
  static __typeof__(&name) real_##name = 0; \
  if (!real_##name) real_##name = (__typeof__(&name))dlsym(RTLD_NEXT, #name)

ssize_t write(int fd, const void* buf, size_t n) {
  REAL(write);
  if (fault(fd, 0)) return -1;
  return real_write(fd, buf, n);
}
ssize_t pwrite(int fd, const void* buf, size_t n, off_t offset) {
  REAL(pwrite);
  if (fault(fd, 0)) return -1;
  return real_pwrite(fd, buf, n, offset);
}
ssize_t pwrite64(int fd, const void* buf, size_t n, off_t offset) {
  REAL(pwrite64);
  if (fault(fd, 0)) return -1;
  return real_pwrite64(fd, buf, n, offset);
}
ssize_t writev(int fd, const struct iovec* iov, int count) {
  REAL(writev);
  if (fault(fd, 0)) return -1;
  return real_writev(fd, iov, count);
}
int fsync(int fd) {
  REAL(fsync);
  if (fault(fd, 0)) return -1;
  return real_fsync(fd);
}
int fdatasync(int fd) {
  REAL(fdatasync);
  if (fault(fd, 0)) return -1;
  return real_fdatasync(fd);
}
int ftruncate(int fd, off_t length) {
  REAL(ftruncate);
  if (fault(fd, 0)) return -1;
  return real_ftruncate(fd, length);
}
int ftruncate64(int fd, off_t length) {
  REAL(ftruncate64);
  if (fault(fd, 0)) return -1;
  return real_ftruncate64(fd, length);
}
int rename(const char* from, const char* to) {
  REAL(rename);
  if (fault(-1, from)) return -1;
  return real_rename(from, to);
}
