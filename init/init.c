/*
 * oci2eif-init: PID 1 of an enclave built by oci2eif.
 *
 * The kernel unpacks two ramdisks into the initramfs root: ours (/init, /dev, maybe /nsm.ko)
 * and the image's (/rootfs/..., /cmd, /env, maybe /workdir and /user; formats in docs/init.md).
 * Boot then goes:
 *   1. block every signal (PID 1 must not die of one), mount /dev, open the console;
 *   2. load the NSM driver if the ramdisk carries one;
 *   3. tell the parent instance we are alive (vsock heartbeat, as AWS's init does);
 *   4. read the command, environment, working directory and user, then delete those files;
 *   5. make /rootfs the root and mount /dev, /proc, /sys, /run, /tmp and cgroups in it;
 *   6. fork the command with the image's user, directory and environment, reap every child
 *      until it exits, report how it ended and reboot, which ends the enclave.
 * Any error is printed with its context and shuts the machine down; PID 1 never just exits.
 */
#define _GNU_SOURCE
#include "mounts.h"
#include "user.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

/* After <sys/socket.h>: some versions of this header use struct sockaddr without including it. */
// clang-format off
#include <linux/vm_sockets.h>
// clang-format on

#define HEARTBEAT_CID 3 /* the parent instance */
#define HEARTBEAT_PORT 9000
#define HEARTBEAT_BYTE 0xB7

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define MAX_CONFIG_BYTES (16u << 20) /* /cmd and /env; far above any real ARG_MAX */

/* What to run, read from the files the image ramdisk carries. */
struct launch {
  struct string_list argv;
  struct string_list envp;
  char* workdir;
  char* user; /* Docker USER syntax; resolved only once inside the image's root */
};

static void open_console(void) {
  if (mount_devtmpfs("/dev") != 0) {
    /* With no /dev there is no console to report on; make just the console node so the
     * error can be seen before shutting down. */
    int saved = errno;
    mknod("/dev/console", S_IFCHR | 0600, makedev(5, 1));
    int fd = open("/dev/console", O_RDWR | O_NOCTTY);
    if (fd >= 0) {
      dup2(fd, STDERR_FILENO);
    }
    fatal("cannot mount devtmpfs on /dev: %s", strerror(saved));
  }
  int fd = open("/dev/console", O_RDWR | O_NOCTTY);
  if (fd < 0) {
    /* Nothing to print on; carry on with whatever descriptors the kernel gave us. */
    return;
  }
  for (int target = 0; target <= 2; target++) {
    if (fd != target) {
      dup2(fd, target);
    }
  }
  if (fd > 2) {
    close(fd);
  }
}

static void load_nsm_driver(void) {
  const char* path = "/nsm.ko";
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return; /* not every bootstrap ramdisk carries the driver */
    }
    fatal("cannot open %s: %s", path, strerror(errno));
  }
  /* glibc 2.36 has no finit_module() wrapper. */
  if (syscall(SYS_finit_module, fd, "", 0) != 0) {
    fatal("cannot load kernel module %s: %s", path, strerror(errno));
  }
  close(fd);
  if (unlink(path) != 0) {
    fatal("cannot remove %s: %s", path, strerror(errno));
  }
}

/*
 * Connects to the parent on vsock and exchanges one byte; nitro-cli waits for this to decide
 * the enclave booted. Where there is no vsock at all (plain QEMU, a kernel without the
 * driver) or nobody listens, the enclave's program can still run, so that is only reported.
 * A parent that answers with something else is a real fault and ends the boot.
 */
static void heartbeat(void) {
  int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    say("no vsock heartbeat (socket: %s); continuing", strerror(errno));
    return;
  }
  struct sockaddr_vm addr = {
      .svm_family = AF_VSOCK, .svm_cid = HEARTBEAT_CID, .svm_port = HEARTBEAT_PORT};
  if (connect(fd, (struct sockaddr*)&addr, sizeof addr) != 0) {
    say("no vsock heartbeat (connect to cid %d port %d: %s); continuing", HEARTBEAT_CID,
        HEARTBEAT_PORT, strerror(errno));
    close(fd);
    return;
  }
  unsigned char byte = HEARTBEAT_BYTE;
  ssize_t n = write(fd, &byte, 1);
  if (n != 1) {
    fatal("vsock heartbeat: cannot send: %s", n < 0 ? strerror(errno) : "short write");
  }
  n = read(fd, &byte, 1);
  if (n != 1) {
    fatal("vsock heartbeat: no reply: %s", n < 0 ? strerror(errno) : "connection closed");
  }
  if (byte != HEARTBEAT_BYTE) {
    fatal("vsock heartbeat: parent replied 0x%02X, expected 0x%02X", byte, HEARTBEAT_BYTE);
  }
  close(fd);
}

/* Reads an optional one-line file; returns NULL when it does not exist or is empty. */
static char* read_one_line(const char* path) {
  struct string_list lines;
  if (read_lines(path, 1u << 16, &lines) != 0) {
    if (errno == ENOENT) {
      return NULL;
    }
    fatal("cannot read %s: %s", path, strerror(errno));
  }
  if (lines.count > 1) {
    fatal("%s must hold one line, found %zu", path, lines.count);
  }
  char* value = lines.count == 1 && lines.items[0][0] ? xstrdup(lines.items[0]) : NULL;
  free_lines(&lines);
  return value;
}

static void remove_config(const char* path) {
  if (unlink(path) != 0 && errno != ENOENT) {
    fatal("cannot remove %s: %s", path, strerror(errno));
  }
}

static void read_launch_config(struct launch* l) {
  if (read_list("/cmd", MAX_CONFIG_BYTES, &l->argv) != 0) {
    fatal("cannot read the command from /cmd: %s", strerror(errno));
  }
  if (l->argv.count == 0 || l->argv.items[0][0] == '\0') {
    fatal("/cmd is empty: its first item must name the program to run");
  }
  if (read_list("/env", MAX_CONFIG_BYTES, &l->envp) != 0) {
    fatal("cannot read the environment from /env: %s", strerror(errno));
  }
  for (size_t i = 0; i < l->envp.count; i++) {
    if (l->envp.items[i][0] == '=' || !strchr(l->envp.items[i], '=')) {
      fatal("/env item %zu is not KEY=VALUE: '%s'", i + 1, l->envp.items[i]);
    }
  }
  l->workdir = read_one_line("/workdir");
  if (!l->workdir) {
    l->workdir = xstrdup("/");
  } else if (l->workdir[0] != '/') {
    fatal("/workdir must be an absolute path, found '%s'", l->workdir);
  }
  l->user = read_one_line("/user");
  /* The files must not show up in the root of the running image. */
  remove_config("/cmd");
  remove_config("/env");
  remove_config("/workdir");
  remove_config("/user");
}

/* The value of NAME in ENVP, or NULL. */
static const char* env_value(const struct string_list* envp, const char* name) {
  size_t len = strlen(name);
  for (size_t i = 0; i < envp->count; i++) {
    if (strncmp(envp->items[i], name, len) == 0 && envp->items[i][len] == '=') {
      return envp->items[i] + len + 1;
    }
  }
  return NULL;
}

/*
 * HOME as runc sets it: when the environment has none, or an empty one, the user's home from
 * the image's passwd ("/" without an entry). An image's own non-empty HOME is kept.
 */
static void default_home(struct string_list* envp, const char* home) {
  const char* current = env_value(envp, "HOME");
  if (current && *current) {
    return;
  }
  size_t n = strlen(home) + sizeof "HOME=";
  char* entry = xmalloc(n);
  snprintf(entry, n, "HOME=%s", home);
  for (size_t i = 0; i < envp->count; i++) {
    if (strncmp(envp->items[i], "HOME=", 5) == 0) { /* the empty one */
      free(envp->items[i]);
      envp->items[i] = entry;
      return;
    }
  }
  envp->items = xrealloc(envp->items, (envp->count + 2) * sizeof *envp->items);
  envp->items[envp->count++] = entry;
  envp->items[envp->count] = NULL;
}

/*
 * execve() of ARGV[0], searched for in SEARCH_PATH when it has no '/', the way execvp() does
 * but with the image's PATH rather than init's. Returns only on failure, with errno set to
 * the most telling error (EACCES from any candidate beats ENOENT).
 */
static void exec_in_path(char** argv, char** envp, const char* search_path) {
  if (strchr(argv[0], '/')) {
    execve(argv[0], argv, envp);
    return;
  }
  bool denied = false;
  size_t name_len = strlen(argv[0]);
  const char* dir = search_path;
  for (;;) {
    const char* end = strchrnul(dir, ':');
    size_t dir_len = (size_t)(end - dir);
    /* An empty PATH element means the current directory. */
    char* candidate = xmalloc(dir_len + name_len + 3);
    snprintf(candidate, dir_len + name_len + 3, "%.*s/%s", (int)(dir_len ? dir_len : 1),
             dir_len ? dir : ".", argv[0]);
    execve(candidate, argv, envp);
    int err = errno;
    free(candidate);
    if (err == EACCES) {
      denied = true;
    } else if (err != ENOENT && err != ENOTDIR && err != ELOOP && err != ENAMETOOLONG &&
               err != ESTALE) {
      errno = err;
      return;
    }
    if (*end == '\0') {
      break;
    }
    dir = end + 1;
  }
  errno = denied ? EACCES : ENOENT;
}

/* The forked child: become the image's user in its working directory and exec the command.
 * Failures print and exit 127 (could not start) or 126 (found but not executable). */
static _Noreturn void run_child(const struct launch* l, const struct credentials* c) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  if (setsid() < 0) {
    say("setsid: %s", strerror(errno));
    _exit(127);
  }
  /* Groups first and uid last: once the uid is dropped the others can no longer change. */
  if (setgroups(c->group_count, c->groups) != 0 || setgid(c->gid) != 0 || setuid(c->uid) != 0) {
    say("cannot switch to uid %u gid %u: %s", (unsigned)c->uid, (unsigned)c->gid, strerror(errno));
    _exit(127);
  }
  if (chdir(l->workdir) != 0) {
    say("cannot change to the working directory %s: %s", l->workdir, strerror(errno));
    _exit(127);
  }
  const char* path = env_value(&l->envp, "PATH");
  if (!path) {
    path = DEFAULT_PATH;
  }
  exec_in_path(l->argv.items, l->envp.items, path);
  int err = errno;
  if (strchr(l->argv.items[0], '/')) {
    say("cannot execute %s: %s", l->argv.items[0], strerror(err));
  } else {
    say("cannot execute %s (searched PATH=%s): %s", l->argv.items[0], path, strerror(err));
  }
  _exit(err == ENOENT ? 127 : 126);
}

/* Reaps every child, orphans included, until PID has ended; returns its wait status. */
static int reap_until(pid_t pid) {
  for (;;) {
    int status;
    pid_t got = wait(&status);
    if (got == pid) {
      return status;
    }
    if (got < 0 && errno != EINTR) {
      fatal("waiting for %s: %s", "the command", strerror(errno));
    }
  }
}

int main(void) {
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, NULL);

  open_console();
  load_nsm_driver();
  heartbeat();

  struct launch l;
  read_launch_config(&l);
  switch_root("/rootfs");
  mount_image_filesystems();

  /* No USER is root as Docker resolves it: uid 0's passwd entry, its groups and home. */
  struct credentials creds = {0};
  char err[512];
  if (resolve_user(l.user ? l.user : "0", "/etc/passwd", "/etc/group", &creds, err, sizeof err) !=
      0) {
    fatal("%s", err);
  }
  default_home(&l.envp, creds.home);

  pid_t pid = fork();
  if (pid < 0) {
    fatal("cannot fork to start %s: %s", l.argv.items[0], strerror(errno));
  }
  if (pid == 0) {
    run_child(&l, &creds);
  }
  int status = reap_until(pid);
  if (WIFEXITED(status)) {
    say("%s exited with status %d", l.argv.items[0], WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    say("%s killed by signal %d", l.argv.items[0], WTERMSIG(status));
  }
  shut_down();
}
