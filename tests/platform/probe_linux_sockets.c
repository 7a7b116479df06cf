/* SPDX-License-Identifier: MIT */
/* probe_linux_sockets.c - proves the Linux socket behaviours the driver
 * relies on (STYLE.md 15). If a kernel changes one of them, this fails
 * before anything subtler does.
 *
 * 1. SO_PEEK_OFF on TCP: MSG_PEEK reads from the peek offset and advances
 *    it; setting it re-positions it; discarding with MSG_TRUNC frees bytes
 *    without copying and moves the peek offset back by as much. The TCP
 *    data path keeps unacknowledged host data in the kernel this way.
 * 2. IP_RECVERR on a connected UDP socket: an ICMP port unreachable
 *    (from loopback) is queued with origin ICMP, type 3, code 3, and the
 *    IPv6 equivalent with origin ICMP6, type 1, code 4.
 * 3. A ping socket (if ping_group_range allows our group) rewrites the
 *    echo identifier to its own; tunproxy restores the app's on replies.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef SO_PEEK_OFF
#define SO_PEEK_OFF 42
#endif

static int failures;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			failures++;                                            \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);   \
			fprintf(stderr, __VA_ARGS__);                          \
			fprintf(stderr, "\n");                                 \
		}                                                              \
	} while (0)

static void probe_peek_off(void)
{
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bind(ls, (struct sockaddr *)&a, sizeof(a));
	socklen_t l = sizeof(a);
	getsockname(ls, (struct sockaddr *)&a, &l);
	listen(ls, 1);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(connect(c, (struct sockaddr *)&a, sizeof(a)) == 0, "connect");
	int s = accept(ls, NULL, NULL);
	char data[100];
	for (int i = 0; i < 100; i++)
		data[i] = (char)i;
	CHECK(send(c, data, 100, 0) == 100, "send");
	usleep(10000);
	int zero = 0;
	CHECK(setsockopt(s, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)) == 0,
	      "SO_PEEK_OFF unsupported: %s", strerror(errno));
	char buf[100];
	CHECK(recv(s, buf, 10, MSG_PEEK) == 10 && buf[0] == 0, "peek 0..9");
	CHECK(recv(s, buf, 10, MSG_PEEK) == 10 && buf[0] == 10,
	      "second peek continues at 10 (got %d)", buf[0]);
	int off = 50;
	setsockopt(s, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off));
	CHECK(recv(s, buf, 5, MSG_PEEK) == 5 && buf[0] == 50,
	      "peek after seek to 50 (got %d)", buf[0]);
	/* Discard 30 acknowledged bytes without copying them. */
	CHECK(recv(s, NULL, 30, MSG_TRUNC) == 30, "MSG_TRUNC discard");
	socklen_t ol = sizeof(off);
	getsockopt(s, SOL_SOCKET, SO_PEEK_OFF, &off, &ol);
	CHECK(off == 25, "peek offset moved back by the discard (got %d)", off);
	CHECK(recv(s, buf, 1, MSG_PEEK) == 1 && buf[0] == 55,
	      "peek continues at stream byte 55 (got %d)", buf[0]);
	close(c);
	close(s);
	close(ls);
}

static void probe_recverr(int family)
{
	int s = socket(family, SOCK_DGRAM, 0);
	int on = 1;
	if (family == AF_INET)
		setsockopt(s, IPPROTO_IP, IP_RECVERR, &on, sizeof(on));
	else
		setsockopt(s, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof(on));
	struct sockaddr_storage ss = {0};
	socklen_t sl;
	/* A port nobody listens on: bind one, note it, close it. */
	int tmp = socket(family, SOCK_DGRAM, 0);
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		sl = sizeof(*sin6);
	}
	if (bind(tmp, (struct sockaddr *)&ss, sl) < 0) {
		fprintf(stderr, "skip IPv%d: no loopback address\n",
			family == AF_INET ? 4 : 6);
		close(tmp);
		close(s);
		return;
	}
	getsockname(tmp, (struct sockaddr *)&ss, &sl);
	close(tmp);
	CHECK(connect(s, (struct sockaddr *)&ss, sl) == 0, "connect");
	send(s, "x", 1, 0);
	usleep(20000);
	char cbuf[512], d[16];
	struct iovec iov = {d, sizeof(d)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};
	CHECK(recvmsg(s, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) >= 0,
	      "no queued error: %s", strerror(errno));
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	CHECK(c != NULL, "no control message");
	if (c) {
		struct sock_extended_err ee;
		memcpy(&ee, CMSG_DATA(c), sizeof(ee));
		CHECK(ee.ee_errno == ECONNREFUSED, "errno %u", ee.ee_errno);
		if (family == AF_INET)
			CHECK(ee.ee_origin == SO_EE_ORIGIN_ICMP &&
				  ee.ee_type == 3 && ee.ee_code == 3,
			      "v4 origin %u type %u code %u", ee.ee_origin,
			      ee.ee_type, ee.ee_code);
		else
			CHECK(ee.ee_origin == SO_EE_ORIGIN_ICMP6 &&
				  ee.ee_type == 1 && ee.ee_code == 4,
			      "v6 origin %u type %u code %u", ee.ee_origin,
			      ee.ee_type, ee.ee_code);
	}
	close(s);
}

static void probe_ping_socket(void)
{
	int s = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	if (s < 0) {
		fprintf(stderr,
			"note: ping sockets not permitted here (%s); "
			"the driver falls back to a raw socket\n",
			strerror(errno));
		return;
	}
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	unsigned char req[16] = {8, 0, 0, 0, 0x12, 0x34, 0, 1};
	CHECK(sendto(s, req, sizeof(req), 0, (struct sockaddr *)&a,
		     sizeof(a)) == sizeof(req),
	      "ping send: %s", strerror(errno));
	struct timeval tv = {2, 0};
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	unsigned char rep[64];
	ssize_t n = recv(s, rep, sizeof(rep), 0);
	CHECK(n == (ssize_t)sizeof(req) && rep[0] == 0,
	      "echo reply without IP header (n=%zd)", n);
	struct sockaddr_in me;
	socklen_t ml = sizeof(me);
	getsockname(s, (struct sockaddr *)&me, &ml);
	if (n >= 8)
		CHECK(rep[4] == (ntohs(me.sin_port) >> 8) &&
			  rep[5] == (ntohs(me.sin_port) & 0xff),
		      "reply carries the socket's identifier");
	close(s);
}

int main(void)
{
	probe_peek_off();
	probe_recverr(AF_INET);
	probe_recverr(AF_INET6);
	probe_ping_socket();
	if (failures) {
		fprintf(stderr, "%d platform assumption(s) failed\n", failures);
		return 1;
	}
	printf("platform assumptions hold\n");
	return 0;
}
