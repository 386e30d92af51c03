#define _GNU_SOURCE
#include "mounts.h"

#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

int mount_devtmpfs(const char* target) {
  if (mount("devtmpfs", target, "devtmpfs", MS_NOSUID, "mode=0755") != 0 && errno != EBUSY) {
    return -1;
  }
  return 0;
}

/* mkdir that accepts an existing directory. Images normally ship /proc, /sys and friends, but
 * the mount points live in a writable initramfs so creating a missing one costs nothing. */
static void ensure_dir(const char* path, mode_t mode) {
  if (mkdir(path, mode) != 0 && errno != EEXIST) {
    fatal("cannot create mount point %s: %s", path, strerror(errno));
  }
}

static void mount_or_die(const char* source, const char* target, const char* type,
                         unsigned long flags, const char* data) {
  ensure_dir(target, 0755);
  if (mount(source, target, type, flags, data) != 0) {
    fatal("cannot mount %s on %s: %s", type, target, strerror(errno));
  }
}

void switch_root(const char* dir) {
  /* MS_MOVE needs a mount point, and the image directory is only a directory of the initramfs
   * until it is bind-mounted on itself. */
  if (mount(dir, dir, NULL, MS_BIND | MS_REC, NULL) != 0) {
    fatal("cannot bind-mount %s on itself: %s", dir, strerror(errno));
  }
  if (chdir(dir) != 0) {
    fatal("cannot change directory to %s: %s", dir, strerror(errno));
  }
  if (mount(".", "/", NULL, MS_MOVE, NULL) != 0) {
    fatal("cannot move %s to /: %s", dir, strerror(errno));
  }
  if (chroot(".") != 0) {
    fatal("cannot chroot into %s: %s", dir, strerror(errno));
  }
  if (chdir("/") != 0) {
    fatal("cannot change directory to / of the image: %s", strerror(errno));
  }
}

static void link_or_die(const char* target, const char* link) {
  if (symlink(target, link) != 0 && errno != EEXIST) {
    fatal("cannot create symlink %s -> %s: %s", link, target, strerror(errno));
  }
}

/*
 * cgroup v1, one hierarchy per enabled controller listed in /proc/cgroups, under a tmpfs on
 * /sys/fs/cgroup: the layout AWS's init gives every enclave, so software that was tested in
 * nitro-cli-built enclaves sees the same thing. See docs/init.md for why not cgroup2.
 */
static void mount_cgroups(void) {
  const char* root = "/sys/fs/cgroup";
  if (mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755") != 0) {
    say("warning: cannot mount tmpfs on %s: %s; no cgroups", root, strerror(errno));
    return;
  }
  struct string_list lines;
  if (read_lines("/proc/cgroups", 1u << 20, &lines) != 0) {
    say("warning: cannot read /proc/cgroups: %s; no cgroups", strerror(errno));
    return;
  }
  /* Columns: subsys_name hierarchy num_cgroups enabled; the first line is a '#' header. */
  for (size_t i = 0; i < lines.count; i++) {
    char name[64];
    unsigned hierarchy, count, enabled;
    if (lines.items[i][0] == '#' ||
        sscanf(lines.items[i], "%63s %u %u %u", name, &hierarchy, &count, &enabled) != 4 ||
        !enabled) {
      continue;
    }
    char path[128];
    snprintf(path, sizeof path, "%s/%s", root, name);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
      say("warning: cannot create %s: %s", path, strerror(errno));
      continue;
    }
    if (mount("cgroup", path, "cgroup", MS_NOSUID | MS_NODEV | MS_NOEXEC, name) != 0) {
      say("warning: cannot mount cgroup controller %s on %s: %s", name, path, strerror(errno));
    }
  }
  free_lines(&lines);
}

void mount_image_filesystems(void) {
  const unsigned long safe = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  ensure_dir("/dev", 0755);
  if (mount_devtmpfs("/dev") != 0) {
    fatal("cannot mount devtmpfs on /dev: %s", strerror(errno));
  }
  mount_or_die("proc", "/proc", "proc", safe, NULL);
  link_or_die("/proc/self/fd", "/dev/fd");
  link_or_die("/proc/self/fd/0", "/dev/stdin");
  link_or_die("/proc/self/fd/1", "/dev/stdout");
  link_or_die("/proc/self/fd/2", "/dev/stderr");
  mount_or_die("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
  /* tmpfs's root defaults to 1777, which is what /tmp needs. */
  mount_or_die("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, NULL);
  mount_or_die("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, NULL);
  mount_or_die("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
               "newinstance,ptmxmode=0666,mode=0620");
  mount_or_die("sysfs", "/sys", "sysfs", safe, NULL);
  mount_cgroups();
}
