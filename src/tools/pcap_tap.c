/* SPDX-License-Identifier: MIT */
/* pcap_tap.c - the --pcap writer (pcap_tap.h) over pcapng.c. */
#include "pcap_tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pcapng.h"
#include "tunproxy.h"

struct pcap_tap {
	struct pcapng *w;
	int fd;
	bool own_fd;
	bool dirty;  /* records queued since the last flush */
	bool failed; /* a write failed: stop writing, say it once */
	uint64_t packets, lost;
	char path[256];
};

static uint64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void fail(struct pcap_tap *t, int rc)
{
	if (!t->failed)
		fprintf(stderr,
			"tunproxy: --pcap %s: write failed: %s; "
			"capture stopped\n",
			t->path, strerror(-rc));
	t->failed = true;
}

/* The tap: runs on the engine's thread. */
static void tap(void *ctx, const uint8_t *pkt, size_t len, int dir)
{
	struct pcap_tap *t = ctx;
	if (t->failed) {
		if (pkt)
			t->lost++;
		return;
	}
	if (dir == TP_TAP_FLUSH) {
		int rc = t->dirty ? pcapng_flush(t->w) : 0;
		t->dirty = false;
		if (rc < 0)
			fail(t, rc);
		return;
	}
	uint32_t l = len > 65535 ? 65535 : (uint32_t)len;
	int rc = pcapng_packet(t->w, wall_ns(), pkt, l, (uint32_t)len,
			       dir == TP_TAP_FROM_APP ? PCAPNG_DIR_OUTBOUND
						      : PCAPNG_DIR_INBOUND,
			       0);
	if (rc < 0) {
		fail(t, rc);
		return;
	}
	t->packets++;
	t->dirty = true;
}

struct pcap_tap *pcap_tap_open(const char *path, const char *ifdesc)
{
	struct pcap_tap *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	snprintf(t->path, sizeof(t->path), "%s", path);
	if (strcmp(path, "-") == 0) {
		if (isatty(STDOUT_FILENO)) {
			fprintf(stderr, "tunproxy: --pcap -: standard output "
					"is a terminal; pipe it (e.g. to "
					"'wireshark -k -i -') or name a "
					"file\n");
			free(t);
			return NULL;
		}
		t->fd = STDOUT_FILENO;
	} else {
		t->fd =
		    open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (t->fd < 0) {
			fprintf(stderr, "tunproxy: --pcap %s: %s\n", path,
				strerror(errno));
			free(t);
			return NULL;
		}
		t->own_fd = true;
	}
	t->w = pcapng_open(t->fd, "tunproxy", "tun", ifdesc);
	int rc = t->w ? pcapng_flush(t->w) : -ENOMEM;
	if (rc < 0) {
		fprintf(stderr, "tunproxy: --pcap %s: %s\n", path,
			strerror(-rc));
		if (t->w)
			pcapng_close(t->w, wall_ns(), 0, 0);
		if (t->own_fd)
			close(t->fd);
		free(t);
		return NULL;
	}
	return t;
}

void pcap_tap_attach(struct pcap_tap *t, struct tp_config *cfg)
{
	cfg->tap = tap;
	cfg->tap_ctx = t;
}

void pcap_tap_close(struct pcap_tap *t)
{
	if (!t)
		return;
	int rc = pcapng_close(t->w, wall_ns(), t->packets, t->lost);
	if (rc < 0 && !t->failed)
		fprintf(stderr, "tunproxy: --pcap %s: %s\n", t->path,
			strerror(-rc));
	if (t->own_fd)
		close(t->fd);
	free(t);
}
