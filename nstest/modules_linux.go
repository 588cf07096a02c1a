package nstest

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// KernelTierEnv is the environment variable that scripts/umlexec sets to
// "uml" for test binaries it runs on the User-Mode Linux kernel.
const KernelTierEnv = "NETPRIM_KERNEL_TIER"

// InKernelTier reports whether the test runs on the kernel tier (the
// User-Mode Linux kernel started by scripts/kerneltest), where modules the
// host kernel lacks (dummy, bonding, 8021q, vrf, ...) load on demand.
func InKernelTier() bool { return os.Getenv(KernelTierEnv) == "uml" }

// moduleKinds maps kernel modules to the rtnetlink link type they provide,
// so that their presence is proved by creating such a link.
var moduleKinds = map[string]string{
	"8021q":      "vlan",
	"bareudp":    "bareudp",
	"bonding":    "bond",
	"bridge":     "bridge",
	"dummy":      "dummy",
	"geneve":     "geneve",
	"ifb":        "ifb",
	"ip6_gre":    "ip6gre",
	"ip6_tunnel": "ip6tnl",
	"ip_gre":     "gre",
	"ip_vti":     "vti",
	"ipip":       "ipip",
	"ipvlan":     "ipvlan",
	"ipvtap":     "ipvtap",
	"macsec":     "macsec",
	"macvlan":    "macvlan",
	"macvtap":    "macvtap",
	"nlmon":      "nlmon",
	"sit":        "sit",
	"team":       "team",
	"veth":       "veth",
	"vrf":        "vrf",
	"vxlan":      "vxlan",
	"wireguard":  "wireguard",
}

// RequireModules skips the test unless the running kernel has every module
// in mods, built in or loadable; the skip says "kernel lacks bonding: run
// with scripts/kerneltest". Module names are the kernel's: "bonding",
// "8021q", "dummy", "vrf", "veth", "sch_netem", ...
//
// A module counts as present when /sys/module/NAME exists, when
// modules.builtin lists it, when a link of the type it provides can be
// created in a scratch namespace (the kernel loads the module on demand, as
// it does on the kernel tier), or else when "modprobe NAME" succeeds.
// Results are cached for the life of the test binary.
func RequireModules(t testing.TB, mods ...string) {
	t.Helper()
	var missing []string
	for _, m := range mods {
		ok, err := haveModule(m)
		if err != nil {
			t.Skip(err.Error())
		}
		if !ok {
			missing = append(missing, m)
		}
	}
	if len(missing) > 0 {
		failOnKernelTier(t, missing...)
		t.Skip(lacks(strings.Join(missing, ", ")))
	}
}

// kernelTierModules are the modules the kernel tier exists for: its kernel
// has them, so a test there that finds one missing fails instead of
// skipping (a skip would hide that the tier lost its modules, and with
// them every test it runs).
var kernelTierModules = map[string]bool{
	"8021q": true, "bonding": true, "bridge": true, "dummy": true,
	"macvlan": true, "veth": true, "vrf": true, "vxlan": true,
}

// failOnKernelTier fails t on the kernel tier when one of missing is a
// module that tier promises.
func failOnKernelTier(t testing.TB, missing ...string) {
	t.Helper()
	if !InKernelTier() {
		return
	}
	for _, m := range missing {
		if kernelTierModules[m] {
			t.Fatalf("nstest: the kernel tier lacks %s, which its kernel has as a module: module loading is broken (see scripts/umlexec: /lib/modules)", m)
		}
	}
}

// RequireLinkKind skips the test unless the kernel can create links of the
// given rtnetlink type ("bond", "vlan", "dummy", "vrf", ...). It probes by
// creating one in a scratch namespace, the most direct proof there is; the
// skip says "kernel lacks link type bond (module bonding): run with
// scripts/kerneltest".
func RequireLinkKind(t testing.TB, kind string) {
	t.Helper()
	ok, err := haveKind(kind)
	if err != nil {
		t.Skip(err.Error())
	}
	if !ok {
		module := kind
		for m, k := range moduleKinds {
			if k == kind {
				module = m
			}
		}
		failOnKernelTier(t, module)
		t.Skip(lacks(fmt.Sprintf("link type %s (module %s)", kind, module)))
	}
}

// RequireFeature skips the test unless have is true, saying "kernel lacks
// FEATURE: run with scripts/kerneltest", for what a test needs of the kernel
// that is no module of its own, such as vlan_filtering of the bridge. The
// test probes for the feature itself. Use it only for what the kernel tier
// has: there a missing feature fails the test instead of skipping it.
func RequireFeature(t testing.TB, feature string, have bool) {
	t.Helper()
	if have {
		return
	}
	if InKernelTier() {
		t.Fatalf("nstest: the kernel tier lacks %s, which its kernel has", feature)
	}
	t.Skip(lacks(feature))
}

// lacks renders a skip reason for something the kernel lacks.
func lacks(what string) string {
	if InKernelTier() {
		return "kernel lacks " + what + " (the kernel tier lacks it too)"
	}
	return "kernel lacks " + what + ": " + KernelTierHint
}

var probes struct {
	sync.Mutex
	done map[string]bool
}

// cached runs probe once per key and remembers a definite answer.
func cached(key string, probe func() (bool, error)) (bool, error) {
	probes.Lock()
	defer probes.Unlock()
	if ok, found := probes.done[key]; found {
		return ok, nil
	}
	ok, err := probe()
	if err != nil {
		return false, err
	}
	if probes.done == nil {
		probes.done = map[string]bool{}
	}
	probes.done[key] = ok
	return ok, nil
}

func haveModule(mod string) (bool, error) {
	name := strings.ReplaceAll(mod, "-", "_")
	return cached("module:"+name, func() (bool, error) {
		if _, err := os.Stat(filepath.Join("/sys/module", name)); err == nil {
			return true, nil
		}
		if builtin(name) {
			return true, nil
		}
		if kind, ok := moduleKinds[name]; ok {
			return probeKind(kind)
		}
		if name == "tun" {
			return haveTun(), nil
		}
		return modprobe(name), nil
	})
}

func haveKind(kind string) (bool, error) {
	return cached("kind:"+kind, func() (bool, error) { return probeKind(kind) })
}

// builtin reports whether modules.builtin of the running kernel lists name.
func builtin(name string) bool {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return false
	}
	f, err := os.Open(filepath.Join("/lib/modules", unix.ByteSliceToString(u.Release[:]), "modules.builtin"))
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		base := strings.TrimSuffix(filepath.Base(s.Text()), ".ko")
		if strings.ReplaceAll(base, "-", "_") == name {
			return true
		}
	}
	return false
}

// probeKind creates a link of the given type in a scratch namespace. The
// kernel answers EOPNOTSUPP ("Unknown device type") only when it has no such
// type after trying to load its module; any other answer, including EINVAL
// for missing parameters, proves the type exists.
func probeKind(kind string) (bool, error) {
	if reason := unavailable(); reason != "" {
		return false, errors.New(reason)
	}
	ns, err := newNamespace()
	if err != nil {
		return false, fmt.Errorf("nstest: probe link type %s: %w", kind, err)
	}
	defer ns.Close()
	h, err := handle(ns)
	if err != nil {
		return false, fmt.Errorf("nstest: probe link type %s: %w", kind, err)
	}
	defer h.Close()
	err = h.LinkAdd(&netlink.GenericLink{LinkAttrs: netlink.LinkAttrs{Name: "nstestprobe0"}, LinkType: kind})
	return !errors.Is(err, unix.EOPNOTSUPP), nil
}

// haveTun reports whether /dev/net/tun opens (which loads tun on demand).
func haveTun() bool {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}

// modprobe loads a module that provides no link type. It needs a kernel
// with module support and real root.
func modprobe(name string) bool {
	if _, err := os.Stat("/proc/modules"); err != nil {
		return false // CONFIG_MODULES=n
	}
	return exec.Command("modprobe", "-q", name).Run() == nil
}
