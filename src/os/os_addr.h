/* SPDX-License-Identifier: MIT */
/* os_addr.h - socket addresses as people write them: "HOST:PORT",
 * "[IPV6]:PORT" and a bare "PORT" parsed into a sockaddr, printed back as
 * "1.2.3.4:5" or "[::1]:5", compared, and tested for loopback.
 *
 * The one parser of every "HOST:PORT" option: the dev transport's listen
 * address (tp_config.listen_udp), the upstream URL's authority and the
 * tools' --listen/--to/--from (issue 14 found three copies). Plain POSIX,
 * the same file on every OS. tests/unit/test_os_addr.c covers it.
 */
#ifndef TP_OS_OS_ADDR_H
#define TP_OS_OS_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Splits spec into its host (NUL-terminated into host, hcap bytes) and
 * port, without resolving anything: "HOST:PORT" (exactly one ':', so an
 * IPv6 address needs its brackets), "[HOST]:PORT", or, when default_host
 * is not NULL, a bare "PORT" with that host. The port is decimal digits
 * only (no sign, no blank), 0 to 65535; the host is not empty. Returns 0,
 * or -1 with a one-line reason in err (ecap bytes). */
int os_addr_split(const char *spec, const char *default_host, char *host,
		  size_t hcap, uint16_t *port, char *err, size_t ecap);

/* os_addr_split, then the host resolved (a name through getaddrinfo, so
 * this may block: call it before the loop runs) into *ss and *len, the
 * first address getaddrinfo gives. Returns 0, or -1 with a reason in err:
 * "bad address '...' (want ...)" or "cannot resolve '...': ...". */
int os_addr_parse(const char *spec, const char *default_host,
		  struct sockaddr_storage *ss, socklen_t *len, char *err,
		  size_t ecap);

/* "1.2.3.4:5" or "[::1]:5" into buf ("(none)" for another family);
 * returns buf. 64 bytes hold any. */
const char *os_addr_str(const struct sockaddr_storage *ss, char *buf,
			size_t cap);

/* The same family, address and port (IPv4 or IPv6; others never equal). */
bool os_addr_equal(const struct sockaddr_storage *a,
		   const struct sockaddr_storage *b);

/* 127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104. */
bool os_addr_loopback(const struct sockaddr_storage *ss);

#endif
