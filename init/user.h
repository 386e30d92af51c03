/*
 * Resolution of a Docker USER string ("name", "uid", "name:group", "uid:gid", "name:gid",
 * "uid:group") against an image's passwd and group files, with the same rules as Docker (runc's
 * user lookup):
 *   - a numeric user is a uid; its passwd entry, if any, gives the primary gid and the name used
 *     for supplementary groups; with no entry the gid is 0 and there are no supplementary groups;
 *   - a user name must have a passwd entry;
 *   - with no group given, the supplementary groups are every group in the group file that lists
 *     the user's name as a member;
 *   - with a group given (numeric, or a name that must exist in the group file) that group is
 *     the gid and there are no other supplementary groups;
 *   - the supplementary groups start with the primary gid, as Docker (since 20.10.18) and
 *     podman (since 4.3) put it in the OCI spec's additionalGids, which runc and crun apply
 *     as they are; duplicates are dropped;
 *   - the home directory is the passwd entry's, or "/" without one (runc's and crun's default),
 *     for HOME when the image's environment has none.
 * Ids must be in 0..2^31-1, as in runc. No USER at all resolves as "0" does (Docker matches
 * the passwd entry of uid 0), so root gets root's groups and home too.
 */
#ifndef OCI2EIF_INIT_USER_H
#define OCI2EIF_INIT_USER_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" { /* for the doctest suite */
#endif

struct credentials {
  uid_t uid;
  gid_t gid;
  gid_t* groups; /* supplementary groups, for setgroups() */
  size_t group_count;
  char* home; /* the passwd entry's home directory, or "/" */
};

/*
 * Resolves SPEC using the files at PASSWD_PATH and GROUP_PATH (missing files count as empty).
 * Returns 0 and fills OUT, or -1 with a message for the console in ERR.
 */
int resolve_user(const char* spec, const char* passwd_path, const char* group_path,
                 struct credentials* out, char* err, size_t err_size);

#ifdef __cplusplus
}
#endif

#endif
