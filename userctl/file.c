// SPDX-License-Identifier: GPL-2.0
/* Files natkctl writes for others to read: replaced whole, never torn. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "natkctl.h"

void file_write_atomic(const char *cmd, const char *path,
		       void (*fill)(FILE *f, const void *arg), const void *arg)
{
	char tmp[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, n;
	FILE *f;

	if (slash)
		n = snprintf(tmp, sizeof(tmp), "%.*s/.%s.XXXXXX",
			     (int)(slash - path), path, slash + 1);
	else
		n = snprintf(tmp, sizeof(tmp), ".%s.XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		fail("%s: file name too long: %s", cmd, path);
	fd = mkstemp(tmp);
	if (fd < 0)
		fail("%s: cannot create a file next to %s: %s", cmd, path,
		     strerror(errno));
	f = fdopen(fd, "w");
	if (!f) {
		unlink(tmp);
		fail("%s: %s: %s", cmd, tmp, strerror(errno));
	}
	fill(f, arg);
	if (fflush(f) == EOF || ferror(f) || fchmod(fd, 0644) < 0 ||
	    fsync(fd) < 0) {
		int e = errno;

		fclose(f);
		unlink(tmp);
		fail("%s: cannot write %s: %s", cmd, tmp, strerror(e));
	}
	if (fclose(f) == EOF) {
		int e = errno;

		unlink(tmp);
		fail("%s: cannot write %s: %s", cmd, tmp, strerror(e));
	}
	if (rename(tmp, path) < 0) {
		int e = errno;

		unlink(tmp);
		fail("%s: cannot rename %s to %s: %s", cmd, tmp, path,
		     strerror(e));
	}
}
