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
// A test states what it needs with RequireModules or RequireLinkKind. On a
// kernel without it the test skips, saying "kernel lacks bonding: run with
// scripts/kerneltest"; on the kernel tier the module loads and the test
// runs. The same test file thus serves both tiers, and a project testing
// its own daemon uses the scripts the same way from its own module:
//
//	/path/to/netprim/scripts/kerneltest ./...
//
// # Rules
//
// nstest never creates, changes or removes anything in the namespace the
// test runs in. Every namespace, bind mount and file it makes is removed at
// cleanup; the package's own tests check that after a hundred tests nothing
// is left behind. The package is Linux-only: elsewhere New skips.
package nstest
