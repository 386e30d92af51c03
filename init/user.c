#define _GNU_SOURCE
#include "user.h"

#include "util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest user or group id accepted, as in runc: larger ids are an error, not wrapped. */
#define MAX_ID 2147483647u

/* Image passwd/group files are small; this only bounds what a broken image can make us read. */
#define MAX_DB_BYTES (16u << 20)

/* Parses a decimal id; returns false when S is not all digits or is out of range. */
static bool parse_id(const char* s, uint32_t* out) {
  if (*s == '\0') {
    return false;
  }
  uint64_t v = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') {
      return false;
    }
    v = v * 10 + (uint64_t)(*s - '0');
    if (v > MAX_ID) {
      return false;
    }
  }
  *out = (uint32_t)v;
  return true;
}

/* Splits LINE in place at ':' into at most MAX fields; returns the number of fields. */
static int split_fields(char* line, char** fields, int max) {
  int n = 0;
  fields[n++] = line;
  for (char* p = line; *p && n < max; p++) {
    if (*p == ':') {
      *p = '\0';
      fields[n++] = p + 1;
    }
  }
  return n;
}

/* A parsed colon-separated database: the file's lines, split into fields on demand. */
struct db {
  struct string_list lines;
  bool present;
};

static int load_db(const char* path, struct db* db, char* err, size_t err_size) {
  db->present = false;
  db->lines.items = NULL;
  db->lines.count = 0;
  if (read_lines(path, MAX_DB_BYTES, &db->lines) != 0) {
    if (errno == ENOENT) {
      return 0;
    }
    snprintf(err, err_size, "cannot read %s: %s", path, strerror(errno));
    return -1;
  }
  db->present = true;
  return 0;
}

struct passwd_entry {
  char* name;
  uint32_t uid;
  uint32_t gid;
  const char* home; /* "" when the line has no home field */
};

/* Finds the first passwd line matching by uid (when BY_ID) or by name. Malformed lines are
 * skipped, as the C library and runc do. */
static bool find_passwd(struct db* db, const char* name, uint32_t uid, bool by_id,
                        struct passwd_entry* out) {
  for (size_t i = 0; i < db->lines.count; i++) {
    char* f[7];
    int nf = split_fields(db->lines.items[i], f, 7);
    if (nf < 4) {
      continue;
    }
    uint32_t u, g;
    if (!parse_id(f[2], &u) || !parse_id(f[3], &g)) {
      continue;
    }
    if (by_id ? u == uid : strcmp(f[0], name) == 0) {
      out->name = f[0];
      out->uid = u;
      out->gid = g;
      out->home = nf >= 6 ? f[5] : "";
      return true;
    }
  }
  return false;
}

/* True when the comma-separated MEMBERS list contains NAME. */
static bool has_member(const char* members, const char* name) {
  size_t len = strlen(name);
  for (const char* p = members; *p;) {
    const char* comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    if (n == len && memcmp(p, name, n) == 0) {
      return true;
    }
    if (!comma) {
      break;
    }
    p = comma + 1;
  }
  return false;
}

static void add_group(struct credentials* c, gid_t gid) {
  for (size_t i = 1; i < c->group_count; i++) {
    if (c->groups[i] == gid) {
      return;
    }
  }
  c->groups[c->group_count++] = gid;
}

/* Removes a later copy of the primary gid (slot 0) from the memberships. */
static void drop_repeats(struct credentials* c) {
  size_t kept = 1;
  for (size_t i = 1; i < c->group_count; i++) {
    if (c->groups[i] != c->groups[0]) {
      c->groups[kept++] = c->groups[i];
    }
  }
  c->group_count = kept;
}

static void free_db(struct db* db) {
  if (db->present) {
    free_lines(&db->lines);
  }
}

int resolve_user(const char* spec, const char* passwd_path, const char* group_path,
                 struct credentials* out, char* err, size_t err_size) {
  char* user = xstrdup(spec);
  char* group = strchr(user, ':');
  if (group) {
    *group++ = '\0';
  }
  int rc = -1;
  struct db passwd = {0}, groups = {0};
  out->groups = NULL;
  out->group_count = 0;
  out->home = NULL;

  if (*user == '\0' || (group && *group == '\0')) {
    snprintf(err, err_size, "USER '%s' is malformed: expected name, uid, name:group or uid:gid",
             spec);
    goto done;
  }
  if (load_db(passwd_path, &passwd, err, err_size) != 0 ||
      load_db(group_path, &groups, err, err_size) != 0) {
    goto done;
  }

  uint32_t id;
  struct passwd_entry pw = {0};
  const char* member_name = NULL;
  if (parse_id(user, &id)) {
    /* A numeric user needs no passwd entry; without one the primary group is root's. */
    out->uid = id;
    out->gid = 0;
    if (find_passwd(&passwd, NULL, id, true, &pw)) {
      out->gid = pw.gid;
      member_name = pw.name;
    }
  } else if (find_passwd(&passwd, user, 0, false, &pw)) {
    out->uid = pw.uid;
    out->gid = pw.gid;
    member_name = pw.name;
  } else {
    snprintf(err, err_size, "USER '%s': no user named '%s' in %s%s", spec, user, passwd_path,
             passwd.present ? "" : " (the file does not exist)");
    goto done;
  }

  out->home = xstrdup(pw.home && *pw.home ? pw.home : "/");
  /* Slot 0 is for the primary gid, known once an explicit group is resolved below. */
  out->groups = xmalloc((groups.lines.count + 2) * sizeof *out->groups);
  out->group_count = 1;
  bool group_found = false;
  for (size_t i = 0; i < groups.lines.count; i++) {
    char* f[4];
    int nf = split_fields(groups.lines.items[i], f, 4);
    uint32_t gid;
    if (nf < 3 || !parse_id(f[2], &gid)) {
      continue;
    }
    if (group) {
      /* Explicit group: a numeric group is always a gid, a name must match an entry. */
      if (!group_found && !parse_id(group, &id) && strcmp(f[0], group) == 0) {
        out->gid = gid;
        group_found = true;
      }
    } else if (member_name && nf == 4 && has_member(f[3], member_name)) {
      add_group(out, gid);
    }
  }
  if (group && !group_found) {
    if (!parse_id(group, &id)) {
      snprintf(err, err_size, "USER '%s': no group named '%s' in %s%s", spec, group, group_path,
               groups.present ? "" : " (the file does not exist)");
      goto done;
    }
    out->gid = id;
  }
  out->groups[0] = out->gid;
  drop_repeats(out);
  rc = 0;

done:
  if (rc != 0) {
    free(out->groups);
    out->groups = NULL;
    out->group_count = 0;
    free(out->home);
    out->home = NULL;
  }
  free_db(&passwd);
  free_db(&groups);
  free(user);
  return rc;
}
