package xdp

// CheckPinDir reports whether the pin directory (or the first of its
// parents that exists) is on a bpf filesystem, as Load requires, without
// creating or locking anything: for `xdpban check`.
func CheckPinDir(dir string) error {
	if dir == "" {
		dir = DefaultPinDir
	}
	return checkBPFFS(dir)
}
