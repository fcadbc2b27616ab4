package xdp

// The BPF object and its Go bindings are committed, so building xdpban needs
// no clang. `make generate` reruns this with the pinned clang; CI fails when
// the committed output is stale.
//
//go:generate go tool bpf2go -cc ${BPF_CLANG} -cflags ${BPF_CFLAGS} -target bpfel -type ban_key -type ban_value -type stats -type meta -type range_key -type range_value -type hit_entry xdpban ../../bpf/xdpban.c -- -I../../headers -I../../bpf
