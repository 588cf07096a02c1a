package resolv

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"slices"

	"github.com/netprim/netprim"
)

// Config is the three files of a node's name resolution together, with the
// keys a network configuration document uses:
//
//	resolvers:
//	  nameservers: [192.0.2.53, "2001:db8::53"]
//	  searchDomains: [example.internal]
//	hosts:
//	  - address: 192.0.2.10
//	    names: [node1.example.internal, node1]
//	hostname:
//	  hostname: node1
//	  domainname: example.internal
//
// A nil or empty section is not managed: its file is left alone.
type Config struct {
	// Resolver is written to /etc/resolv.conf.
	Resolver *ResolverSpec `json:"resolvers,omitempty" yaml:"resolvers,omitempty"`
	// Hosts are the extra lines of /etc/hosts.
	Hosts []HostEntry `json:"hosts,omitempty" yaml:"hosts,omitempty"`
	// Hostname is written to /etc/hostname, set as the kernel host name
	// (see WithUTSNamespace) and named in /etc/hosts.
	Hostname *HostnameSpec `json:"hostname,omitempty" yaml:"hostname,omitempty"`
}

// HostsSpec returns the /etc/hosts content of c, and false when c manages
// neither hosts nor the host name. The node's own entry is the first entry
// of Hosts that names the FQDN or the host name (it moves to the node
// position), else DefaultNodeAddress with the FQDN and host name, so that
// the node's name always resolves.
func (c Config) HostsSpec() (HostsSpec, bool) {
	if len(c.Hosts) == 0 && c.Hostname == nil {
		return HostsSpec{}, false
	}
	s := HostsSpec{Entries: slices.Clone(c.Hosts)}
	if c.Hostname == nil {
		return s, true
	}
	h := *c.Hostname
	h.Normalize()
	for i, e := range s.Entries {
		n := e.normalized()
		if slices.Contains(n.Names, h.FQDN()) || slices.Contains(n.Names, h.Hostname) {
			s.Node = &n
			s.Entries = slices.Delete(s.Entries, i, i+1)
			return s, true
		}
	}
	node := NodeEntry(netip.Addr{}, h)
	s.Node = &node
	return s, true
}

// Validate checks every section. Errors name the field and are joined.
func (c Config) Validate() error {
	var errs []error
	if c.Resolver != nil {
		errs = append(errs, c.Resolver.Validate())
	}
	if c.Hostname != nil {
		errs = append(errs, c.Hostname.Validate())
	}
	errs = append(errs, HostsSpec{Entries: c.Hosts}.Validate())
	return errors.Join(errs...)
}

// diffLines returns the changes that turn the file text have into want, as
// a line diff: Delete for a removed line, Add for an added one, in file
// order with removals before additions in each changed block. Object is
// "PATH: LINE". A missing file (have nil) yields one Add per line.
func diffLines(path string, have, want []byte) []netprim.Change {
	a, b := splitLines(have), splitLines(want)
	// Trim the common prefix and suffix, then an LCS table on the rest
	// (files here are a few dozen lines; the table is bounded below).
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	a, b = a[pre:len(a)-suf], b[pre:len(b)-suf]
	var out []netprim.Change
	del := func(l string) {
		out = append(out, netprim.Change{Action: netprim.Delete, Kind: "file", Object: path + ": " + l})
	}
	add := func(l string) {
		out = append(out, netprim.Change{Action: netprim.Add, Kind: "file", Object: path + ": " + l})
	}
	if len(a)*len(b) > 1<<20 {
		for _, l := range a {
			del(l)
		}
		for _, l := range b {
			add(l)
		}
		return out
	}
	// lcs[i][j] = length of the LCS of a[i:] and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var adds []string
	flush := func() {
		for _, l := range adds {
			add(l)
		}
		adds = adds[:0]
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			flush()
			i++
			j++
		case j < len(b) && (i == len(a) || lcs[i][j+1] >= lcs[i+1][j]):
			adds = append(adds, b[j])
			j++
		default:
			del(a[i])
			i++
		}
	}
	flush()
	return out
}

// splitLines splits text into lines without their newline; a last line
// without a newline is marked so that adding the newline is a change.
func splitLines(text []byte) []string {
	var out []string
	for l := range bytes.Lines(text) {
		if s, ok := bytes.CutSuffix(l, []byte("\n")); ok {
			out = append(out, string(s))
		} else {
			out = append(out, string(l)+" (no newline at end of file)")
		}
	}
	return out
}

// fileState is what is on disk at one managed path.
type fileState struct {
	display string // the path as shown: root joined with the file name
	target  string // the regular file to write (differs with write-through), as shown
	dir     string // the directory of target, relative to the root, not cleaned
	name    string // the name of target in dir
	exists  bool   // target exists
	content []byte
	mode    fs.FileMode
	uid     int
	gid     int
	link    string // the link target when the path is a symbolic link
	replace bool   // the link is replaced by a regular file
	through bool   // target is the end of a symbolic link (write-through)
}

// planFile returns the changes that make st hold want.
func planFile(st fileState, want []byte) []netprim.Change {
	var out []netprim.Change
	if st.replace {
		out = append(out, netprim.Change{Action: netprim.Recreate, Kind: "file", Object: st.display,
			Reason: "symbolic link to " + st.link + " replaced by a regular file"})
	}
	if st.replace || !st.exists || !bytes.Equal(st.content, want) {
		out = append(out, diffLines(st.display, st.content, want)...)
		return out
	}
	if st.mode != FileMode {
		out = append(out, netprim.Change{Action: netprim.Modify, Kind: "file", Object: st.display, Field: "mode",
			From: fmt.Sprintf("%04o", st.mode), To: fmt.Sprintf("%04o", FileMode)})
	}
	return out
}
