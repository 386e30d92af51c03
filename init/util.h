/*
 * Small helpers shared by the init program: console messages, the shutdown path, and reading
 * the small line-oriented files that the image builder leaves in the initramfs root.
 *
 * Everything here runs in PID 1, where exiting panics the kernel. So a fatal error is printed
 * and then the machine is shut down (fatal()), never left to an exit() or abort().
 */
#ifndef OCI2EIF_INIT_UTIL_H
#define OCI2EIF_INIT_UTIL_H

#include <stddef.h>

#ifdef __cplusplus /* for the doctest suite */
#define INIT_NORETURN [[noreturn]]
extern "C" {
#else
#define INIT_NORETURN _Noreturn
#endif

#define INIT_PREFIX "oci2eif-init: "

/* Prints "oci2eif-init: <message>\n" to stderr (the console once it is open). */
void say(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints the message like say(), then shuts the machine down. Only for PID 1. */
INIT_NORETURN void fatal(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

/* Flushes filesystems and reboots, which ends a Nitro enclave (and a QEMU run with
 * -no-reboot). Only for PID 1. */
INIT_NORETURN void shut_down(void);

/* malloc/realloc that shut down on failure: PID 1 has no way to recover from OOM at boot. */
void* xmalloc(size_t size);
void* xrealloc(void* ptr, size_t size);
char* xstrdup(const char* s);

/* A NULL-terminated array of NUL-terminated strings (argv or envp shaped). */
struct string_list {
  char** items;
  size_t count;
};

/*
 * Reads PATH, which must hold text lines each ending in LF, into a string list: one item per
 * line with its LF removed and otherwise verbatim. A final line with no LF is accepted as well.
 * Returns 0, or -1 with errno set (ENOENT when missing, EINVAL when the file contains a NUL byte
 * and so cannot become C strings, EFBIG when it is larger than max_bytes).
 */
int read_lines(const char* path, size_t max_bytes, struct string_list* out);

/*
 * Reads a launch list (/cmd, /env): NUL-terminated items when the file holds a NUL byte (any
 * item, line breaks included), else lines as read_lines() reads them. Returns 0, or -1 with
 * errno set (ENOENT, EFBIG).
 */
int read_list(const char* path, size_t max_bytes, struct string_list* out);

/* Frees the items and the array of a list filled by read_lines() or read_list(). */
void free_lines(struct string_list* list);

/* Reads a whole file into a NUL-terminated buffer. Returns 0, or -1 with errno set; EINVAL
 * when the file contains a NUL byte, EFBIG when it exceeds max_bytes. */
int read_text_file(const char* path, size_t max_bytes, char** data, size_t* len);

/* read_text_file() that lets NUL bytes through (LEN says where the data ends). */
int read_file_bytes(const char* path, size_t max_bytes, char** data, size_t* len);

#ifdef __cplusplus
}
#endif

#endif
