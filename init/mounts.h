/*
 * The filesystem steps of boot: the initramfs's /dev, the switch into the image's root, and the
 * kernel filesystems an image expects to find mounted (the same set as AWS's enclave init).
 */
#ifndef OCI2EIF_INIT_MOUNTS_H
#define OCI2EIF_INIT_MOUNTS_H

/* Mounts devtmpfs on /dev; an already mounted /dev (EBUSY) is fine. Returns 0, or -1 with
 * errno set. */
int mount_devtmpfs(const char* target);

/* Makes DIR (a directory of the initramfs) the root: bind-mounts it on itself, moves it over /,
 * chroots into it and changes to its /. Shuts down on failure. */
void switch_root(const char* dir);

/* Inside the new root: /dev, /proc, the /dev/fd and /dev/std* links, /run, /tmp, /dev/shm,
 * /dev/pts, /sys and the cgroup hierarchies. Missing mount points are created. A failure is
 * fatal, except for cgroups, which only warn. */
void mount_image_filesystems(void);

#endif
