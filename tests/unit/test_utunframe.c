/* SPDX-License-Identifier: MIT */
/* test_utunframe.c - utun's 4-byte family framing (src/tools/utunframe.c),
 * which `tunproxy device` uses on macOS, on a Linux datagram socketpair
 * standing in for the utun fd (one write = one packet, as on utun):
 *   - a written IPv4 / IPv6 packet arrives as the family in network byte
 *     order (this OS's AF_INET / AF_INET6) followed by the bytes intact;
 *   - a framed packet read back comes without its header, any family;
 *   - a frame with only a header reads as EINTR (the caller reads on);
 *   - an empty packet writes nothing; errors come back as -1 with errno. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "tools/utunframe.h"

static void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
}

static void write_adds_family(void **state)
{
	(void)state;
	int sv[2];
	pair(sv);
	uint8_t v4[40] = {0x45}, v6[60] = {0x60};
	for (size_t i = 1; i < sizeof(v6); i++) {
		v6[i] = (uint8_t)i;
		if (i < sizeof(v4))
			v4[i] = (uint8_t)(0xff - i);
	}
	assert_int_equal(utunframe_write(sv[0], v4, sizeof(v4)), sizeof(v4));
	assert_int_equal(utunframe_write(sv[0], v6, sizeof(v6)), sizeof(v6));
	uint8_t raw[128];
	uint32_t fam;
	assert_int_equal(recv(sv[1], raw, sizeof(raw), 0), 4 + sizeof(v4));
	memcpy(&fam, raw, 4);
	assert_int_equal(ntohl(fam), AF_INET);
	assert_memory_equal(raw + 4, v4, sizeof(v4));
	assert_int_equal(recv(sv[1], raw, sizeof(raw), 0), 4 + sizeof(v6));
	memcpy(&fam, raw, 4);
	assert_int_equal(ntohl(fam), AF_INET6);
	assert_memory_equal(raw + 4, v6, sizeof(v6));
	/* Nothing to write: nothing written. */
	assert_int_equal(utunframe_write(sv[0], v4, 0), 0);
	assert_int_equal(recv(sv[1], raw, sizeof(raw), MSG_DONTWAIT), -1);
	close(sv[0]);
	close(sv[1]);
}

static void read_strips_header(void **state)
{
	(void)state;
	int sv[2];
	pair(sv);
	uint8_t frame[4 + 48];
	uint32_t fam = htonl(AF_INET6);
	memcpy(frame, &fam, 4);
	for (size_t i = 4; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i * 7);
	frame[4] = 0x60;
	assert_int_equal(send(sv[1], frame, sizeof(frame), 0), sizeof(frame));
	uint8_t buf[64];
	assert_int_equal(utunframe_read(sv[0], buf, sizeof(buf)), 48);
	assert_memory_equal(buf, frame + 4, 48);

	/* Only a header: EINTR, and the next packet is read normally. */
	assert_int_equal(send(sv[1], frame, 4, 0), 4);
	assert_int_equal(send(sv[1], frame, 24, 0), 24);
	errno = 0;
	assert_int_equal(utunframe_read(sv[0], buf, sizeof(buf)), -1);
	assert_int_equal(errno, EINTR);
	assert_int_equal(utunframe_read(sv[0], buf, sizeof(buf)), 20);
	assert_memory_equal(buf, frame + 4, 20);

	/* An error of the fd passes through. */
	errno = 0;
	assert_int_equal(utunframe_read(-1, buf, sizeof(buf)), -1);
	assert_int_equal(errno, EBADF);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(write_adds_family),
	    cmocka_unit_test(read_strips_header),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
