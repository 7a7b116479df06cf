/* SPDX-License-Identifier: MIT */
/* observe_peer_linux.c - the control socket's peer uid (observe.h). */
#define _GNU_SOURCE
#include <sys/socket.h>

#include "observe.h"

int observe_peer_uid(int fd, uid_t *uid)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return -1;
	*uid = cr.uid;
	return 0;
}
