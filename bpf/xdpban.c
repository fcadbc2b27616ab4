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
/* Ended ranges a packet may meet and delete before it gives up (passes). */
#define MAX_RANGE_TRIES 3

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
 * The clock, from jiffies: now = jiffies * clock_tick_ns + clock_base_ns
 * reproduces CLOCK_MONOTONIC_COARSE (or trails it by one tick), the clock
 * userspace writes ban ends on. The loader measures both constants with
 * xdpban_clock below; see internal/xdp/clock.go for why not a helper.
 */
volatile const __u64 clock_tick_ns = 0;
volatile const __u64 clock_base_ns = 0;
/*
 * 0 compiles range bans out (the verifier drops the code): only make
 * bench loads it so, as the baseline the cost of range bans is measured
 * against.
 */
volatile const __u32 range_bans = 1;
/*
 * 32 minus the log2 of the ban filter's slots: the loader sizes the filter
 * and sets this to match (filter_slot in xdpban.h).
 */
volatile const __u32 filter_shift = 32 - 21;
/*
 * How long a hit-cache entry is trusted at most (xdpban.h): the bound on
 * a ban changed around xdpban. Tests raise it, so that a write of
 * xdpban's that failed to bump the generation is caught.
 */
volatile const __u64 hit_ttl_ns = 10000000;
/*
 * 1 on CPUs that may reorder two loads (not x86): the generation must be
 * read before the ban map, and there a fenced exchange orders them.
 */
volatile const __u32 order_loads = 1;
/*
 * Never read: they put the enums shared with Go into the BTF, from which
 * bpf2go generates the Go constants (BTF only holds types something uses).
 */
const volatile enum xdpban_const xdpban_const_btf = 0;
const volatile enum stat_index stat_index_btf = 0;

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

/* Range bans, see xdpban.h. An LPM trie must not be preallocated. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, XDPBAN_MAX_RANGES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct range_key);
	__type(value, struct range_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xdpban_ranges SEC(".maps");

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

static __always_inline __u64 coarse_now(void)
{
	/* bpf_jiffies64() is inlined by the verifier into one load. */
	return bpf_jiffies64() * clock_tick_ns + clock_base_ns;
}

/*
 * The ban filter (see xdpban.h): one element of one counter byte per slot,
 * which userspace maps with mmap. No BTF for the value: its size is not
 * known when this is compiled, the loader sets it (and filter_shift) from
 * the ban map's capacity, or keeps the size of the pinned filter.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 1 << 21);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xdpban_filter SEC(".maps");

/* The filter's counters; NULL cannot happen (key 0 of a one-element array). */
static __always_inline __u8 *filter_counts(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&xdpban_filter, &zero);
}

/* The hit cache (xdpban.h). Per CPU: no CPU writes another's entries. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDPBAN_HIT_SLOTS);
	__type(key, __u32);
	__type(value, struct hit_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xdpban_hits SEC(".maps");

/*
 * The ban map's generation (xdpban.h), a global in a data section of its
 * own, which userspace maps and the loader pins as xdpban_gen.
 */
struct hit_gen xdpban_gen SEC(".data.xdpban_gen") = { .gen = 1 };

/*
 * The range trie's entry count (see xdpban.h), a global in a data section
 * of its own like the filter: reading it is one load, no lookup, which
 * is all a source that is not banned pays while no range is banned. The
 * loader pins it as xdpban_nranges.
 */
struct range_count xdpban_nranges SEC(".data.xdpban_nranges");

/*
 * filter_release counts a deleted key out of its filter slot. The counter
 * shares a 32-bit word with three others that userspace may change at the
 * same moment, hence compare-and-swap. Giving up after a few lost races
 * leaves the counter high, which is safe.
 */
static __always_inline void filter_release(__u8 *counts, __u32 slot)
{
	__u32 *word = (__u32 *)&counts[slot & ~3U];
	__u32 shift = (slot & 3) * 8;

#pragma unroll
	for (int i = 0; i < 4; i++) {
		__u32 old = *(volatile __u32 *)word;
		__u32 n = (old >> shift) & 0xFF;

		if (n == 0 || n == XDPBAN_FILTER_SATURATED)
			return;
		if (__sync_val_compare_and_swap(word, old, old - (1U << shift)) == old)
			return;
	}
}

/*
 * range_verdict looks the source up in the range trie, which is skipped
 * while no range is banned. An ended range is deleted (the next lookup
 * then finds a shorter range that may still hold); nested ended ranges
 * beyond MAX_RANGE_TRIES pass until the sweep removes them.
 */
static __always_inline int range_verdict(struct xdp_md *ctx, struct ban_key *key, struct stats *st)
{
	struct range_value *r;
	struct range_key rk;

	if (!range_bans || !xdpban_nranges.count)
		return XDP_PASS;
	rk.prefixlen = 128;
	__builtin_memcpy(rk.addr, key->addr, sizeof(rk.addr));
#pragma unroll
	for (int i = 0; i < MAX_RANGE_TRIES; i++) {
		__u64 end;

		r = bpf_map_lookup_elem(&xdpban_ranges, &rk);
		if (!r)
			return XDP_PASS;
		end = r->expires_ns;
		if (!end || coarse_now() < end) {
			r->packets++; /* plain increments, as for the ban map */
			r->bytes += ctx->data_end - ctx->data;
			return XDP_DROP;
		}
		count(st, STAT_EXPIRED);
		/* Bits beyond prefixlen do not matter to the trie's delete. */
		rk.prefixlen = r->prefixlen;
		if (bpf_map_delete_elem(&xdpban_ranges, &rk) == 0)
			__sync_fetch_and_sub(&xdpban_nranges.count, 1);
		rk.prefixlen = 128;
	}
	return XDP_PASS;
}

static __always_inline int same_key(const struct ban_key *a, const struct ban_key *b)
{
	const __u32 *x = (const __u32 *)a->addr, *y = (const __u32 *)b->addr;

	return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3])) == 0;
}

/*
 * hit_fill caches the ban just found for key (its entry ends end; 0 is
 * permanent), and first adds the drops the entry counted to the ban they
 * belong to: this one when it is the same ban, else the one cached before,
 * which costs a second lookup only when that entry saved some.
 */
static __always_inline void hit_fill(struct hit_entry *h, struct ban_key *key, struct ban_value *ban,
				     __u64 gen, __u64 now, __u64 end)
{
	__u64 until = now + hit_ttl_ns;

	if (h->packets) {
		struct ban_value *to = ban;

		if (!same_key(&h->key, key))
			to = bpf_map_lookup_elem(&xdpban_bans, &h->key);
		if (to && to->created_ns == h->created_ns) {
			to->packets += h->packets;
			to->bytes += h->bytes;
		}
		h->packets = 0;
		h->bytes = 0;
	}
	h->key = *key;
	h->created_ns = ban->created_ns;
	h->until_ns = end && end < until ? end : until;
	h->gen = gen;
}

/*
 * verdict decides for a source key of a packet aimed at a protected port:
 * XDP_DROP only while the source, or a range holding it, is banned and the
 * ban has not expired.
 */
static __always_inline int verdict(struct xdp_md *ctx, struct ban_key *key, struct stats *st)
{
	__u32 slot = filter_slot((__u32 *)key->addr, filter_shift);
	__u32 hslot = hit_slot((__u32 *)key->addr);
	__u8 *counts = filter_counts();
	struct ban_value *ban;
	struct hit_entry *h;
	__u64 gen, now, end;

	/* Without the filter (cannot happen) every packet takes the lookup. */
	if (counts && !counts[slot])
		return range_verdict(ctx, key, st); /* nothing banned hashes here */

	/*
	 * The clock is read only for sources that may be banned. Ends are
	 * kept by the tick (1-10 ms): a ban ends that much late, never early.
	 */
	now = coarse_now();
	gen = *(volatile __u64 *)&xdpban_gen.gen;
	h = bpf_map_lookup_elem(&xdpban_hits, &hslot);
	if (h && h->gen == gen && now < h->until_ns && same_key(&h->key, key)) {
		h->packets++;
		h->bytes += ctx->data_end - ctx->data;
		return XDP_DROP;
	}
	/* The exchange is a full fence: gen is read before the ban map. */
	if (h && order_loads)
		__sync_lock_test_and_set(&h->_pad, 0);

	ban = bpf_map_lookup_elem(&xdpban_bans, key);
	if (!ban)
		return range_verdict(ctx, key, st);
	end = ban->expires_ns;
	if (end && now >= end) {
		count(st, STAT_EXPIRED);
		if (bpf_map_delete_elem(&xdpban_bans, key) == 0 && counts)
			filter_release(counts, slot);
		return range_verdict(ctx, key, st);
	}
	if (h)
		hit_fill(h, key, ban, gen, now, end);
	/*
	 * Plain increments, not __sync_fetch_and_add: locked adds are a large
	 * share of a hit and bounce the entry's cache line between CPUs
	 * exactly when a flood arrives on several queues. The per-ban counters
	 * may then miss a few packets; the per-CPU STAT_DROPPED counter stays
	 * exact.
	 */
	ban->packets++;
	ban->bytes += ctx->data_end - ctx->data;
	return XDP_DROP;
}

/*
 * decide_slow is the general parser: VLAN tags, IPv4 options, IPv6 and its
 * extension headers, short and malformed packets.
 */
static __always_inline int decide_slow(struct xdp_md *ctx, struct stats *st)
{
	struct cursor c = {
		.pos = (void *)(long)ctx->data,
		.end = (void *)(long)ctx->data_end,
	};
	struct pkt pkt = {};
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
	 * The port check comes before the ban check so that traffic to other
	 * ports costs nothing more.
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
	return verdict(ctx, &pkt.key, st);

malformed:
	count(st, STAT_PARSE_FAIL);
	return XDP_PASS;
}

/*
 * decide returns XDP_DROP only for a packet from a banned, unexpired source
 * that is aimed at a protected port; everything else passes. The common
 * frame, untagged IPv4 without options carrying a whole TCP header, takes
 * a straight path with one bounds check; decide_slow sees everything else
 * and gives the same answer for this frame too (the verdict tests run both).
 */
static __always_inline int decide(struct xdp_md *ctx, struct stats *st)
{
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct tcphdr *tcp = (void *)(ip + 1);
	struct ban_key key;
	__u32 *k = (__u32 *)key.addr;

	if ((void *)(tcp + 1) > (void *)(long)ctx->data_end ||
	    eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl_version != 0x45)
		return decide_slow(ctx, st);
	if (!all_ports && (ip->protocol != IPPROTO_TCP ||
			   (ip->frag_off & bpf_htons(IP_OFFSET_MASK)) ||
			   !port_protected(bpf_ntohs(tcp->dest))))
		return XDP_PASS;
	k[0] = 0;
	k[1] = 0;
	k[2] = bpf_htonl(0x0000FFFF);
	k[3] = ip->saddr;
	return verdict(ctx, &key, st);
}

SEC("xdp")
int xdpban(struct xdp_md *ctx)
{
	/* An array lookup, which the verifier inlines: counting per
	 * interface costs no more than one global counter. */
	__u32 slot = ctx->ingress_ifindex < XDPBAN_STATS_SLOTS ? ctx->ingress_ifindex : 0;
	struct stats *st = bpf_map_lookup_elem(&xdpban_stats, &slot);
	int verdict;

	verdict = decide(ctx, st);
	count(st, verdict == XDP_DROP ? STAT_DROPPED : STAT_PASSED);
	return verdict;
}

/*
 * xdpban_clock is never attached: the loader runs it (BPF_PROG_TEST_RUN) to
 * read jiffies and CLOCK_MONOTONIC_COARSE together, to derive the clock
 * constants above. It writes three values over the test frame: the coarse
 * clock, jiffies, and the coarse clock again (equal when no tick fell
 * between the reads).
 */
SEC("xdp")
int xdpban_clock(struct xdp_md *ctx)
{
	__u64 *out = (void *)(long)ctx->data;

	if ((void *)(out + 3) > (void *)(long)ctx->data_end)
		return XDP_ABORTED;
	out[0] = bpf_ktime_get_coarse_ns();
	out[1] = bpf_jiffies64();
	out[2] = bpf_ktime_get_coarse_ns();
	return XDP_PASS;
}
