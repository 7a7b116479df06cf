/* SPDX-License-Identifier: MIT */
/* toolos.h - the few system calls the tools make differently per OS (socket
 * flags, the open-file limit), one file per OS (toolos_linux.c,
 * toolos_darwin.c); callers never #ifdef.
 *
 * Linux creates non-blocking, close-on-exec sockets in one call
 * (SOCK_NONBLOCK, accept4, pipe2) and suppresses SIGPIPE per send
 * (MSG_NOSIGNAL); Darwin sets the flags with fcntl and SIGPIPE off per
 * socket (SO_NOSIGPIPE). The tools also ignore SIGPIPE process-wide
 * (tool_signals_init), so this is belt and braces.
 */
#ifndef TP_TOOLS_TOOLOS_H
#define TP_TOOLS_TOOLOS_H

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>

/* socket(family, type, 0), non-blocking and close-on-exec. Returns the fd
 * or -1 with errno set. */
int toolos_socket(int family, int type);

/* accept() with the same flags on the new socket. -1 with errno. */
int toolos_accept(int lfd, struct sockaddr *sa, socklen_t *len);

/* pipe() with both ends non-blocking and close-on-exec. 0 or -1. */
int toolos_pipe(int p[2]);

/* sendmsg() without blocking and without SIGPIPE. */
ssize_t toolos_sendmsg(int fd, const struct msghdr *m);

/* The highest open-file soft limit the process may set, given its hard
 * limit: the hard limit on Linux; on macOS at most kern.maxfilesperproc,
 * since setrlimit refuses RLIM_INFINITY (macOS's usual hard limit) for
 * RLIMIT_NOFILE. */
rlim_t toolos_nofile_max(rlim_t hard);

#endif
