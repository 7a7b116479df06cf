/* SPDX-License-Identifier: MIT */
/* logline.h - where the tunproxy command's log lines go and how they
 * look, for the proxy (main.c) and every subcommand (tool_log).
 *
 * A line is "TIME WHO LEVEL: message", TIME an ISO-8601 UTC time with
 * milliseconds (2026-12-06T19:58:01.123Z), on stderr or the --log-file.
 * Under systemd's journal (JOURNAL_STREAM names stderr, see
 * systemd.exec(5)) the journal keeps its own time: the line starts with
 * the syslog priority instead ("<6>tunproxy info: ..."), which journald
 * turns into the entry's priority. Each line is one write(2), so lines
 * from the engine thread and the main thread never interleave.
 */
#ifndef TP_TOOLS_LOGLINE_H
#define TP_TOOLS_LOGLINE_H

#include <stddef.h>

/* Logs to FILE (appended, created 0640) instead of stderr from now on.
 * Returns 0, or -errno (nothing changed). */
int logline_open(const char *path);

/* Re-opens the --log-file (SIGHUP, after logrotate moved it): the new file
 * replaces the old one atomically (dup2). Returns 1 if re-opened, 0 if
 * there is no log file, -errno if opening failed (the old one stays). */
int logline_reopen(void);

/* Writes one line: level is an enum tp_log_level, who the program name
 * ("tunproxy", "tunproxy-tee"). */
void logline_write(int level, const char *who, const char *msg);

/* Writes a line already formatted (ending in a newline) where the log
 * goes: the connection log and JSON lines (observe.c). */
void logline_raw(const char *line, size_t len);

#endif
