/* SPDX-License-Identifier: MIT */
/* tcprx_peekoff_darwin.c - Darwin has no SO_PEEK_OFF: the probe says so
 * and tcprx.c keeps every socket on the userspace ring (tcprx_copy.c).
 * The other functions exist so tcprx.c links; they are never reached.
 */
#include <errno.h>
#include <stdio.h>

#include "host/tcprx_backend.h"

int tcprx_peekoff_probe(char *why, size_t cap)
{
	snprintf(why, cap, "this OS cannot peek TCP data at an offset");
	return 0;
}

int tcprx_peekoff_seek(struct hsock *s, size_t offset)
{
	return -EOPNOTSUPP;
}

void tcprx_peekoff_off(struct hsock *s)
{
}

long tcprx_peekoff_peek(struct hsock *s, const struct core_iov *iov, int iovcnt)
{
	return -EOPNOTSUPP;
}

long tcprx_peekoff_recv(struct hsock *s, const struct core_iov *iov, int iovcnt)
{
	return -EOPNOTSUPP;
}

int tcprx_peekoff_discard(struct hsock *s, size_t n)
{
	return -EOPNOTSUPP;
}
