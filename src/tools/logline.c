/* SPDX-License-Identifier: MIT */
/* logline.c - the log line format and destination of the tunproxy command
 * (see logline.h). */
#include "logline.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int log_fd = STDERR_FILENO;
static const char *log_path; /* --log-file, or NULL: stderr */
static int journal = -1;     /* -1: not decided yet */

int logline_open(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = fd;
	log_path = path;
	journal = 0; /* a file keeps times whatever the environment says */
	return 0;
}

int logline_reopen(void)
{
	if (!log_path)
		return 0;
	int fd =
	    open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	/* dup2 swaps the file under log_fd in one step: a line written by
	 * the engine thread meanwhile goes to the old or the new file. */
	int rc = dup2(fd, log_fd) < 0 ? -errno : 1;
	close(fd);
	return rc;
}

/* systemd.exec(5): JOURNAL_STREAM is "DEV:INODE" of the journal stream
 * the service's stderr was connected to; it only counts if stderr is
 * still that stream (a child may have redirected it). */
static int under_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

void logline_write(int level, const char *who, const char *msg)
{
	static const char *const names[] = {"error", "warn", "info", "debug",
					    "trace"};
	/* syslog priorities: err, warning, info, debug, debug */
	static const int prio[] = {3, 4, 6, 7, 7};
	unsigned l = level >= 0 && level < 5 ? (unsigned)level : 4;
	if (journal < 0)
		journal = under_journal();
	char line[1024];
	int n;
	if (journal) {
		n = snprintf(line, sizeof(line), "<%d>%s %s: %s\n", prio[l],
			     who, names[l], msg);
	} else {
		struct timespec ts;
		struct tm tm;
		char when[32];
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		n = snprintf(line, sizeof(line), "%s.%03ldZ %s %s: %s\n", when,
			     ts.tv_nsec / 1000000, who, names[l], msg);
	}
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	/* One write per line; a failing log has nowhere to report to. */
	ssize_t w = write(log_fd, line, (size_t)n);
	(void)w;
}

void logline_raw(const char *line, size_t len)
{
	/* One write per line, as logline_write. */
	ssize_t w = write(log_fd, line, len);
	(void)w;
}
