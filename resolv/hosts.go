package resolv

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/netprim/netprim"
)

// HostEntry is one line of /etc/hosts: an address, its canonical name and
// aliases.
type HostEntry struct {
	// Address is the IPv4 or IPv6 address. A zone is accepted on link-local
	// addresses only.
	Address netip.Addr `json:"address" yaml:"address"`
	// Names are the canonical name followed by aliases. Each is a host name
	// as hosts(5) allows it: labels of letters, digits and hyphens
	// separated by dots. Normalize lower-cases them (glibc compares names
	// without regard to case) and removes a trailing dot.
	Names []string `json:"names" yaml:"names"`
}

// HostsSpec is the wanted content of /etc/hosts. Rendered, it is laid out
// as Talos writes it:
//
//	127.0.0.1	localhost
//	NODE-ADDRESS	FQDN HOSTNAME        (Node, when set)
//	::1	localhost ip6-localhost ip6-loopback
//	ff02::1	ip6-allnodes
//	ff02::2	ip6-allrouters
//	ADDRESS	NAME...              (Entries, one line per address)
//
// The localhost lines are always written.
type HostsSpec struct {
	// Node is the node's own entry, written right after the IPv4 localhost
	// line. NodeEntry builds it from a HostnameSpec.
	Node *HostEntry `json:"node,omitempty" yaml:"node,omitempty"`
	// Entries are the other lines. Normalize merges entries with the same
	// address into the first one.
	Entries []HostEntry `json:"entries,omitempty" yaml:"entries,omitempty"`
}

// DefaultNodeAddress returns the address of the node's own entry when no
// other address is given, 127.0.1.1: the Debian convention, so that the
// host name resolves without depending on which interface address is up.
func DefaultNodeAddress() netip.Addr { return netip.AddrFrom4([4]byte{127, 0, 1, 1}) }

// standardHosts are the lines every rendered hosts file has.
var standardHosts = []HostEntry{
	{Address: netip.AddrFrom4([4]byte{127, 0, 0, 1}), Names: []string{"localhost"}},
	{Address: netip.IPv6Loopback(), Names: []string{"localhost", "ip6-localhost", "ip6-loopback"}},
	{Address: netip.MustParseAddr("ff02::1"), Names: []string{"ip6-allnodes"}},
	{Address: netip.MustParseAddr("ff02::2"), Names: []string{"ip6-allrouters"}},
}

func isStandard(e HostEntry) bool {
	return slices.ContainsFunc(standardHosts, func(s HostEntry) bool { return s.equal(e) })
}

func (e HostEntry) equal(f HostEntry) bool {
	return e.Address == f.Address && slices.Equal(e.Names, f.Names)
}

// NodeEntry returns the node's own hosts entry for h at address a, as Talos
// writes it: the FQDN first, then the short host name when it differs. A
// zero address means DefaultNodeAddress.
func NodeEntry(a netip.Addr, h HostnameSpec) HostEntry {
	if !a.IsValid() {
		a = DefaultNodeAddress()
	}
	h.Normalize()
	names := []string{h.FQDN()}
	if h.Hostname != names[0] {
		names = append(names, h.Hostname)
	}
	return HostEntry{Address: a, Names: names}
}

// Normalize lower-cases names, removes trailing dots and duplicate names of
// an entry, drops entries (and a Node) equal to a standard localhost line, and merges
// entries with the same address into the first one.
func (s *HostsSpec) Normalize() {
	if s.Node != nil {
		n := s.Node.normalized()
		s.Node = &n
		if isStandard(n) {
			s.Node = nil
		}
	}
	var out []HostEntry
	index := map[netip.Addr]int{}
	for _, e := range s.Entries {
		e = e.normalized()
		if isStandard(e) {
			continue
		}
		if i, ok := index[e.Address]; ok {
			for _, n := range e.Names {
				if !slices.Contains(out[i].Names, n) {
					out[i].Names = append(out[i].Names, n)
				}
			}
			continue
		}
		index[e.Address] = len(out)
		out = append(out, e)
	}
	s.Entries = out
}

func (e HostEntry) normalized() HostEntry {
	names := make([]string, 0, len(e.Names))
	for _, n := range e.Names {
		n = normalizeName(n)
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return HostEntry{Address: e.Address, Names: names}
}

// Validate checks every entry, its names in the form Normalize gives them
// (s is not changed), so it accepts exactly what Apply accepts; the
// entries Normalize drops or merges are valid either way. Errors name the
// field, e.g. "resolv: hosts[2].names[0]: ...", wrap
// netprim.ErrInvalidSpec and are joined.
func (s HostsSpec) Validate() error {
	var errs []error
	if s.Node != nil {
		errs = append(errs, s.Node.validate("hosts.node"))
	}
	for i, e := range s.Entries {
		errs = append(errs, e.validate(fmt.Sprintf("hosts[%d]", i)))
	}
	return errors.Join(errs...)
}

func (e HostEntry) validate(field string) error {
	var errs []error
	bad := func(f string, format string, args ...any) {
		errs = append(errs, fmt.Errorf("resolv: %s%s: %w: %s", field, f, netprim.ErrInvalidSpec, fmt.Sprintf(format, args...)))
	}
	a := e.Address
	switch {
	case !a.IsValid():
		bad(".address", "not an IP address")
	case a.Is4In6():
		bad(".address", "%s is an IPv4-mapped IPv6 address: write it as %s", a, a.Unmap())
	case a.Zone() != "" && !a.IsLinkLocalUnicast():
		bad(".address", "%s has a zone but is not a link-local address", a)
	case !zoneOK(a.Zone()):
		bad(".address", "zone %q is not a link name", a.Zone())
	}
	if len(e.Names) == 0 {
		bad(".names", "an entry needs at least one name")
	}
	for i, n := range e.Names {
		if err := checkName(normalizeName(n), false); err != nil {
			bad(fmt.Sprintf(".names[%d]", i), "%v", err)
		}
	}
	return errors.Join(errs...)
}

// RenderHosts returns the /etc/hosts text for s, normalized, after a
// comment saying the file is generated. Address and names are separated by
// a tab. It does not validate: call Validate first (Apply does).
func RenderHosts(s HostsSpec) []byte {
	s.Normalize()
	var b bytes.Buffer
	b.WriteString(generatedComment)
	writeHost(&b, standardHosts[0])
	if s.Node != nil {
		writeHost(&b, *s.Node)
	}
	for _, e := range standardHosts[1:] {
		writeHost(&b, e)
	}
	for _, e := range s.Entries {
		writeHost(&b, e)
	}
	return b.Bytes()
}

func writeHost(b *bytes.Buffer, e HostEntry) {
	b.WriteString(e.Address.String())
	b.WriteByte('\t')
	b.WriteString(strings.Join(e.Names, " "))
	b.WriteByte('\n')
}

// ParseHosts reads /etc/hosts text: "#" starts a comment anywhere on a
// line, fields are separated by blanks, the first is the address. The
// standard localhost lines (as RenderHosts writes them) are left out; the
// line right after "127.0.0.1 localhost", if it is not a standard line, is
// the Node entry. It is strict: a malformed address or name is an error
// naming the line. A spec it returns passes Validate, and
// ParseHosts(RenderHosts(s)) equals s after Normalize.
func ParseHosts(text []byte) (HostsSpec, error) {
	var s HostsSpec
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	line := 0
	afterLocalhost := false
	for sc.Scan() {
		line++
		t := sc.Text()
		if i := strings.IndexByte(t, '#'); i >= 0 {
			t = t[:i]
		}
		fields := strings.Fields(t)
		if len(fields) == 0 {
			continue
		}
		a, err := netip.ParseAddr(fields[0])
		if err != nil {
			return HostsSpec{}, fmt.Errorf("resolv: hosts line %d: %w: %q is not an IP address", line, netprim.ErrInvalidSpec, fields[0])
		}
		e := HostEntry{Address: a, Names: fields[1:]}.normalized()
		if err := e.validate(fmt.Sprintf("hosts line %d", line)); err != nil {
			return HostsSpec{}, err
		}
		wasAfter := afterLocalhost
		afterLocalhost = e.equal(standardHosts[0])
		switch {
		case isStandard(e):
		case wasAfter && s.Node == nil:
			s.Node = &e
		default:
			s.Entries = append(s.Entries, e)
		}
	}
	if err := sc.Err(); err != nil {
		return HostsSpec{}, fmt.Errorf("resolv: hosts line %d: %w: %w", line+1, netprim.ErrInvalidSpec, err)
	}
	s.Normalize()
	return s, nil
}
