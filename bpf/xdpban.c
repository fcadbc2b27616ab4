// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdpban: drop packets from banned sources to protected TCP ports at the
 * earliest point the kernel offers. The ban map is written by userspace;
 * expiry is enforced here, so bans end on time even when no daemon runs.
 */
//go:build ignore

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xdpban.h"
#include "parse.h"

#define MAX_VLAN_TAGS 2
#define MAX_IPV6_EXT_HDRS 8

char __license[] SEC("license") = "Dual BSD/GPL";

/*
 * Set by the loader before the program is loaded (they live in .rodata, so
 * the verifier sees their final values and prunes dead branches).
 */
volatile const __u32 all_ports = 0;
/* Bit p set: TCP destination port p is protected. */
volatile const __u8 port_bitmap[8192] = {};
/* IPv6 source mask in network order, from the configured ban prefix. */
volatile const __u32 ipv6_mask[4] = { ~0U, ~0U, ~0U, ~0U };

/*
 * The ban list. Never an LRU map: eviction would silently unban someone.
 * max_entries is replaced by the loader (--max-bans). Not preallocated, so
 * an idle million-entry capacity costs no kernel memory.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1000000);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ban_key);
	__type(value, struct ban_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xdpban_bans SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDPBAN_STATS_SLOTS);
	__type(key, __u32);
	__type(value, struct stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xdpban_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct meta);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xdpban_meta SEC(".maps");

/* What the parser learned about a packet. */
struct pkt {
	struct ban_key key;
	__u8 l4proto;
	__u8 later_fragment; /* no L4 header: a non-first fragment */
};

static __always_inline int port_protected(__u16 port)
{
	return port_bitmap[port >> 3] & (1 << (port & 7));
}

/* Skips up to two 802.1Q / 802.1ad tags; returns the inner EtherType. */
static __always_inline int parse_eth(struct cursor *c, __be16 *proto)
{
	struct ethhdr *eth = cursor_take(c, sizeof(*eth));
	struct vlanhdr *vlan;
	__be16 p;

	if (!eth)
		return -1;
	p = eth->h_proto;

#pragma unroll
	for (int i = 0; i < MAX_VLAN_TAGS; i++) {
		if (p != bpf_htons(ETH_P_8021Q) && p != bpf_htons(ETH_P_8021AD))
			break;
		vlan = cursor_take(c, sizeof(*vlan));
		if (!vlan)
			return -1;
		p = vlan->encap_proto;
	}
	*proto = p;
	return 0;
}

static __always_inline int parse_ipv4(struct cursor *c, struct pkt *pkt)
{
	struct iphdr *ip = cursor_take(c, sizeof(*ip));
	__u32 *key = (__u32 *)pkt->key.addr;
	__u32 opts;

	if (!ip)
		return -1;
	opts = (ip->ihl_version & 0x0F) * 4;
	if (opts < sizeof(*ip))
		return -1;
	opts -= sizeof(*ip);
	/* Options are at most 40 bytes; an empty take is fine. */
	if (opts && !cursor_take(c, opts))
		return -1;

	key[0] = 0;
	key[1] = 0;
	key[2] = bpf_htonl(0x0000FFFF);
	key[3] = ip->saddr;
	pkt->l4proto = ip->protocol;
	pkt->later_fragment = (ip->frag_off & bpf_htons(IP_OFFSET_MASK)) != 0;
	return 0;
}

static __always_inline int parse_ipv6(struct cursor *c, struct pkt *pkt)
{
	struct ipv6hdr *ip6 = cursor_take(c, sizeof(*ip6));
	__u32 *key = (__u32 *)pkt->key.addr;
	struct ipv6_opt_hdr *opt;
	struct ipv6_frag_hdr *frag;
	__u8 next;

	if (!ip6)
		return -1;
	key[0] = ip6->saddr[0] & ipv6_mask[0];
	key[1] = ip6->saddr[1] & ipv6_mask[1];
	key[2] = ip6->saddr[2] & ipv6_mask[2];
	key[3] = ip6->saddr[3] & ipv6_mask[3];
	next = ip6->nexthdr;

	/* The verifier needs a fixed bound: at most MAX_IPV6_EXT_HDRS headers. */
#pragma unroll
	for (int i = 0; i < MAX_IPV6_EXT_HDRS; i++) {
		switch (next) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			opt = cursor_take(c, sizeof(*opt));
			if (!opt)
				return -1;
			next = opt->nexthdr;
			/* (hdrlen+1)*8 bytes in all, two already taken */
			if (!cursor_take(c, (opt->hdrlen + 1) * 8 - sizeof(*opt)))
				return -1;
			break;
		case IPPROTO_AH:
			opt = cursor_take(c, sizeof(*opt));
			if (!opt)
				return -1;
			next = opt->nexthdr;
			/* AH counts 4-byte words, minus 2 (RFC 4302) */
			if (!cursor_take(c, (opt->hdrlen + 2) * 4 - sizeof(*opt)))
				return -1;
			break;
		case IPPROTO_FRAGMENT:
			frag = cursor_take(c, sizeof(*frag));
			if (!frag)
				return -1;
			next = frag->nexthdr;
			if (frag->frag_off & bpf_htons(IP6_OFFSET_MASK))
				pkt->later_fragment = 1;
			break;
		default:
			pkt->l4proto = next;
			return 0;
		}
	}
	/* More extension headers than we follow: leave it to the stack. */
	return -1;
}

static __always_inline void count(struct stats *st, enum stat_index i)
{
	if (st)
		st->count[i]++;
}

/*
 * decide returns XDP_DROP only for a packet from a banned, unexpired source
 * that is aimed at a protected port; everything else passes.
 */
static __always_inline int decide(struct xdp_md *ctx, struct stats *st)
{
	struct cursor c = {
		.pos = (void *)(long)ctx->data,
		.end = (void *)(long)ctx->data_end,
	};
	struct pkt pkt = {};
	struct ban_value *ban;
	struct tcphdr *tcp;
	__be16 proto;
	int err;

	if (parse_eth(&c, &proto) < 0)
		goto malformed;
	if (proto == bpf_htons(ETH_P_IP))
		err = parse_ipv4(&c, &pkt);
	else if (proto == bpf_htons(ETH_P_IPV6))
		err = parse_ipv6(&c, &pkt);
	else
		return XDP_PASS; /* ARP, LLDP, more than two VLAN tags, ... */
	if (err < 0)
		goto malformed;

	/*
	 * The port check comes before the map lookup so that traffic to other
	 * ports costs no hash lookup at all.
	 */
	if (!all_ports) {
		if (pkt.l4proto != IPPROTO_TCP || pkt.later_fragment)
			return XDP_PASS;
		tcp = cursor_take(&c, sizeof(*tcp));
		if (!tcp)
			goto malformed;
		if (!port_protected(bpf_ntohs(tcp->dest)))
			return XDP_PASS;
	}

	ban = bpf_map_lookup_elem(&xdpban_bans, &pkt.key);
	if (!ban)
		return XDP_PASS;

	/*
	 * The clock is read only on a hit, i.e. only for banned sources, and
	 * it is the coarse one: bpf_ktime_get_boot_ns() measured 25 ns per
	 * call on KVM guests, more than the rest of the path (see
	 * internal/xdp/clock.go). Userspace writes ends on CLOCK_MONOTONIC.
	 */
	if (ban->expires_ns && bpf_ktime_get_coarse_ns() >= ban->expires_ns) {
		count(st, STAT_EXPIRED);
		bpf_map_delete_elem(&xdpban_bans, &pkt.key);
		return XDP_PASS;
	}
	/*
	 * Plain increments, not __sync_fetch_and_add: the two locked adds cost
	 * 8 ns of a 25 ns hit (measured with make bench) and bounce the entry's
	 * cache line between CPUs exactly when a flood arrives on several
	 * queues. The per-ban counters may then miss a few packets; the
	 * per-CPU STAT_DROPPED counter stays exact.
	 */
	ban->packets++;
	ban->bytes += ctx->data_end - ctx->data;
	return XDP_DROP;

malformed:
	count(st, STAT_PARSE_FAIL);
	return XDP_PASS;
}

SEC("xdp")
int xdpban(struct xdp_md *ctx)
{
	/* An array lookup, which the verifier inlines: counting per
	 * interface costs no more than one global counter. */
	__u32 slot = ctx->ingress_ifindex < XDPBAN_STATS_SLOTS ? ctx->ingress_ifindex : 0;
	struct stats *st = bpf_map_lookup_elem(&xdpban_stats, &slot);
	int verdict;

	count(st, STAT_SEEN);
	verdict = decide(ctx, st);
	count(st, verdict == XDP_DROP ? STAT_DROPPED : STAT_PASSED);
	return verdict;
}
