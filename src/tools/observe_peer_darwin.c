/* SPDX-License-Identifier: MIT */
/* observe_peer_darwin.c - the control socket's peer uid (observe.h). */
#include <unistd.h>

#include "observe.h"

int observe_peer_uid(int fd, uid_t *uid)
{
	gid_t gid;
	return getpeereid(fd, uid, &gid) < 0 ? -1 : 0;
}
