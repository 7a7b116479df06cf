/* tunconn_udp_darwin.c - the UDP dev transport is not built for Apple
 * platforms: it is a Linux development tool (recvmmsg/sendmmsg, see
 * docs/devloop.md). tp_create refuses tp_config.listen_udp with
 * -TP_EINVAL and a log line saying why.
 */
#include "io/tunconn_udp.h"

struct tunconn *tunconn_udp_create(const struct tunconn_udp_opts *o, int *err)
{
	if (o->log && o->log_level >= TP_LOG_ERROR)
		o->log(o->log_ctx, TP_LOG_ERROR,
		       "listen_udp: the UDP dev transport is Linux-only");
	*err = -TP_EINVAL;
	return NULL;
}
