#define _GNU_SOURCE
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <unistd.h>

static void vsay(const char* fmt, va_list ap) {
  /* One buffer and one write() so that lines from init and its children do not interleave
   * mid-line on the console. */
  char line[1024];
  int n = snprintf(line, sizeof line, "%s", INIT_PREFIX);
  int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
  size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
  if (len > sizeof line - 2) {
    len = sizeof line - 2;
  }
  line[len++] = '\n';
  ssize_t unused = write(STDERR_FILENO, line, len);
  (void)unused;
}

void say(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsay(fmt, ap);
  va_end(ap);
}

void fatal(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsay(fmt, ap);
  va_end(ap);
  shut_down();
}

void shut_down(void) {
  say("shutting down");
#ifdef OCI2EIF_INIT_TESTING
  /* The unit tests link this file into an ordinary process that may run as root. */
  abort();
#endif
  sync();
  reboot(RB_AUTOBOOT);
  /* Only reached if reboot() is refused (not PID 1, or no CAP_SYS_BOOT). Exiting PID 1 makes
   * the kernel panic, which with panic=N on the command line still ends the machine. */
  say("reboot failed: %s", strerror(errno));
  _exit(1);
}

void* xmalloc(size_t size) {
  void* p = malloc(size ? size : 1);
  if (!p) {
    fatal("out of memory allocating %zu bytes", size);
  }
  return p;
}

void* xrealloc(void* ptr, size_t size) {
  void* p = realloc(ptr, size ? size : 1);
  if (!p) {
    fatal("out of memory allocating %zu bytes", size);
  }
  return p;
}

char* xstrdup(const char* s) {
  size_t n = strlen(s) + 1;
  return memcpy(xmalloc(n), s, n);
}

int read_file_bytes(const char* path, size_t max_bytes, char** data, size_t* len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return -1;
  }
  size_t cap = 4096, n = 0;
  char* buf = xmalloc(cap + 1);
  for (;;) {
    if (n == cap) {
      cap *= 2;
      buf = xrealloc(buf, cap + 1);
    }
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0) {
      if (errno == EINTR) {
        continue;
      }
      int saved = errno;
      free(buf);
      close(fd);
      errno = saved;
      return -1;
    }
    if (r == 0) {
      break;
    }
    n += (size_t)r;
    if (n > max_bytes) {
      free(buf);
      close(fd);
      errno = EFBIG;
      return -1;
    }
  }
  close(fd);
  buf[n] = '\0';
  *data = buf;
  *len = n;
  return 0;
}

int read_text_file(const char* path, size_t max_bytes, char** data, size_t* len) {
  if (read_file_bytes(path, max_bytes, data, len) != 0) {
    return -1;
  }
  if (memchr(*data, '\0', *len)) {
    free(*data);
    errno = EINVAL;
    return -1;
  }
  return 0;
}

/* Splits TEXT (LEN bytes) into OUT at every SEP; a last item without its SEP counts too. */
static void split_items(const char* text, size_t len, char sep, struct string_list* out) {
  size_t items = 0;
  for (size_t i = 0; i < len; i++) {
    items += text[i] == sep;
  }
  if (len > 0 && text[len - 1] != sep) {
    items++;
  }
  out->items = xmalloc((items + 1) * sizeof *out->items);
  out->count = 0;
  const char* start = text;
  const char* end = text + len;
  while (start < end) {
    const char* found = memchr(start, sep, (size_t)(end - start));
    size_t n = found ? (size_t)(found - start) : (size_t)(end - start);
    char* item = xmalloc(n + 1);
    memcpy(item, start, n);
    item[n] = '\0';
    out->items[out->count++] = item;
    start += n + (found ? 1 : 0);
  }
  out->items[out->count] = NULL;
}

int read_list(const char* path, size_t max_bytes, struct string_list* out) {
  char* data;
  size_t len;
  if (read_file_bytes(path, max_bytes, &data, &len) != 0) {
    return -1;
  }
  split_items(data, len, memchr(data, '\0', len) ? '\0' : '\n', out);
  free(data);
  return 0;
}

int read_lines(const char* path, size_t max_bytes, struct string_list* out) {
  char* text;
  size_t len;
  if (read_text_file(path, max_bytes, &text, &len) != 0) {
    return -1;
  }
  split_items(text, len, '\n', out);
  free(text);
  return 0;
}

void free_lines(struct string_list* list) {
  for (size_t i = 0; i < list->count; i++) {
    free(list->items[i]);
  }
  free(list->items);
  list->items = NULL;
  list->count = 0;
}
