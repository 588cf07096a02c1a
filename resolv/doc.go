// Package resolv generates the files of a node's name resolution,
// /etc/resolv.conf, /etc/hosts and /etc/hostname, and sets the kernel host
// name, the way Talos Linux does from its ResolverSpec and HostnameSpec:
// the files are generated from the specs, and manual edits do not persist.
//
// # Specs, rendering and parsing
//
// ResolverSpec, HostsSpec and HostnameSpec are the wanted contents.
// RenderResolvConf, RenderHosts and RenderHostname produce the file text;
// ParseResolvConf, ParseHosts and ParseHostname read it back, so that
// Parse(Render(s)) equals s after Normalize. Validate checks a spec against
// what glibc actually uses: it reads at most 3 nameservers (more are
// written, and the Plan warns, rather than being dropped silently), ndots
// 0-15, timeout 1-30 seconds, attempts 1-5; names follow RFC 1123 (labels
// of at most 63 letters, digits and hyphens, at most 253 characters).
// Errors name the field ("resolv: resolvers.searchDomains[0]: ...") and wrap
// netprim.ErrInvalidSpec. Config groups the three under the keys
// "resolvers", "hosts" and "hostname".
//
// # Writing files
//
// Plan and Apply take a root directory ("" means "/"); the files are
// ROOT/etc/resolv.conf, ROOT/etc/hosts and ROOT/etc/hostname. A file is
// written only when its content differs: a second Apply makes no write at
// all (netprim.WithWriteCounter counts one per file written, mode fixed or
// kernel name set). A write is atomic: a temporary file in the same
// directory is written, synced, given mode 0644 and the owner of the file
// it replaces, renamed over the file, and the directory is synced; a reader
// sees the old or the new file, never part of one, even when the writer is
// killed. A file edited by hand is rewritten by the next Apply, and the
// Plan shows the difference as a line diff: "- file /etc/hosts: OLD LINE",
// "+ file /etc/hosts: NEW LINE". Invalid specs are rejected before any file
// is touched.
//
// # Symbolic links
//
// When a managed file is a symbolic link, typically /etc/resolv.conf
// pointing to systemd-resolved's stub file, the default policy
// (SymlinkRefuse) writes nothing and returns an error wrapping ErrSymlink:
// the link says another program manages the file, and whether to take it
// over (SymlinkReplace: the link becomes a regular file) or to feed that
// program's file (SymlinkWriteThrough: the target is written, followed
// inside the root directory) is the caller's decision; guessing either
// silently would break a working resolver. Choose with WithSymlinkPolicy.
//
// Every path is resolved inside the root directory, as if the root were
// "/" under chroot(2): a symbolic link anywhere on the way, a linked
// directory such as ROOT/etc or ROOT/var/run included, is followed with
// absolute targets starting at the root and ".." stopping there
// (openat2(2) with RESOLVE_IN_ROOT, Linux 5.6 or later; on older kernels
// only root "/" works). A file outside the root is never read or written,
// whatever the policy: ROOT/var/run -> /run leads to ROOT/run, not to the
// machine's /run. Every read, temporary file, rename and directory sync
// goes through a descriptor of a directory found that way.
//
// # Watching files
//
// Watch reports, through inotify on ROOT/etc (found inside the root the
// same way), every change of the three files as an Event of Kind "file"
// whose Object is the path a Plan shows, and a Resync when events were lost
// or ROOT/etc was removed, replaced or appeared, so that a caller re-plans
// after manual edits instead of polling.
//
// # Kernel host name
//
// ApplyHostname sets the kernel host name (and the domain name, when one is
// given) only when asked where: WithUTSNamespace(path) joins the UTS
// namespace at path on a new goroutine locked to its OS thread, which
// switches back before it is unlocked (and is destroyed, still locked, if
// switching back fails), so the caller's namespace is never changed;
// WithCallerUTSNamespace sets the caller's own. Without either, only
// /etc/hostname is written and the Plan says so in a warning.
package resolv
