// Package nstest gives each test a throwaway network namespace on a real
// kernel, so that code built on netprim, or any daemon that configures
// Linux networking, is tested against the kernel without touching the
// host's own network.
//
// # Namespaces
//
// New returns an NS: a fresh network namespace with its loopback up,
// removed when the test ends. NS embeds *netprim.Namespace, so it is passed
// straight to netprim packages, and its Do method runs code (for example the
// net.Listen of a daemon under test) inside the namespace. Veth joins two
// namespaces, or one to itself, with a veth pair that is up at both ends.
// NS.Exec, NS.Run and NS.IPJSON run a command inside, typically "ip -j -d
// ..." to check results with a tool independent of the code under test.
// Eventually waits for state the kernel settles asynchronously.
//
// # Events and dumps the kernel adds to
//
// After a link comes up or an address is added the kernel goes on working
// on its own, later and at a moment of its choosing (later still on a
// loaded machine): it declares the link running, starts IPv6 on it with a
// link-local address, runs duplicate address detection and only then adds
// the IPv6 local route of each address. A test that compares a dump or the
// events it receives exactly must not see that work as its own. Settle
// waits until the kernel is done with it; a test that need not wait adds
// IPv6 addresses with "nodad" and sets addr_gen_mode to none (no link-local
// address). Either way, a test that asserts on events or dumps filters them
// to the objects it made, so that routes, addresses and events the kernel
// makes (local, multicast and link-local ones, "proto kernel") never reach
// the comparison.
//
// # Privileges and the rootless path
//
// As root, New creates namespaces directly and binds each at
// netprim.NetnsDir/NAME, so "ip -n NAME" and netprim.OpenNamespace(NAME)
// work. Not root, tests need Main in TestMain:
//
//	func TestMain(m *testing.M) { nstest.Main(m) }
//
// Main re-runs the test binary as root of new user, network and mount
// namespaces (what "unshare -Urnm" does), with a private tmpfs on
// netprim.NetnsDir; the tests then behave as they do for root, confined to
// those namespaces. Where user namespaces are unavailable, and for packages
// without Main, New skips the test and says exactly why. scripts/rootlesstest
// in the netprim repository runs test binaries as an unprivileged user to
// exercise this path.
//
// # Tiers
//
// The netns tier is the running kernel: go test ./... as root or through
// Main. The kernel tier is the User-Mode Linux kernel (Debian packages
// user-mode-linux and kmod), for modules the running kernel may lack, such
// as dummy, bonding, 8021q or vrf; scripts/kerneltest runs go test there:
//
//	scripts/kerneltest -run Bond -v ./bond/
//
// It builds static test binaries and runs each with go test -exec
// scripts/umlexec, which boots a UML guest whose root file system is the
// host's (same paths, working directory, environment and temporary
// directories) and whose kernel loads modules on demand. A guest boots in
// about two seconds; commands forked there cost about 0.1 s each, so prefer
// netlink to running ip in kernel-tier tests. InKernelTier reports that a
// test runs there. The UML kernel is older (6.1) than a typical host and
// lacks nftables inet/ip tables: firewall tests belong to the netns tier.
//
// A test states what it needs with RequireModules, RequireLinkKind or, for
// a feature that is no module (the bridge's vlan_filtering),
// RequireFeature. On a kernel without it the test skips, saying "kernel
// lacks bonding: run with scripts/kerneltest" (KernelTierHint ends every
// such reason); on the kernel tier the module loads and the test runs, and
// a module that tier promises (bonding, 8021q, dummy, vrf, bridge, veth,
// vxlan, macvlan) or a feature given to RequireFeature that is missing
// there fails the test instead of skipping it. The same test file thus
// serves both tiers, and a project testing its own daemon uses the scripts
// the same way from its own module:
//
//	/path/to/netprim/scripts/kerneltest ./...
//
// # Which tests each tier runs
//
// The netprim repository's scripts/test runs three tiers, each test only
// where it proves something:
//
//   - host: every test, go test -race -json ./... as root.
//   - kernel: exactly the tests that skipped on the host with
//     KernelTierHint. scripts/test reads the host tier's go test -json
//     output, takes per package each top-level test whose skip reason (its
//     own or a subtest's) carries the hint, and runs them with
//     scripts/kerneltest -run '^(TestA|TestB)$' PACKAGE. The skip is the
//     registration: nothing else lists these tests.
//   - rootless: the tests scripts/tiers.list names per package, run by
//     scripts/rootlesstest as uid 65534, where Main re-runs them as root of
//     a user namespace. They are the tests that prove the unprivileged path
//     of each package: namespace creation, netlink writes and dumps, a
//     netlink or nftables subscription, TUN devices, namespaces made with
//     unshare -r, files; and all of nstest's own tests, TestRootless among
//     them. The other tests make the same system calls and run on the host.
//
// Then scripts/test checks that nothing was lost: it fails when a test
// skipped in every tier and scripts/tiers.list does not list it with the
// reason (a "never" line, such as wireguard's TestKernelBackend: no kernel
// here has the wireguard module), when a test the host sent to the kernel
// tier did not run there, or when a rootless pattern matched no test. It
// ends with each tier's wall time and pass, skip and fail counts.
// scripts/flaketest runs the namespace-tier packages five times with -race
// on a loaded machine to find flaky tests.
//
// # Rules
//
// nstest never creates, changes or removes anything in the namespace the
// test runs in. Every namespace, bind mount and file it makes is removed at
// cleanup; the package's own tests check that after a hundred tests nothing
// is left behind. The package is Linux-only: elsewhere New skips.
package nstest
