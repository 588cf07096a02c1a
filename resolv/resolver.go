package resolv

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/netprim/netprim"
)

// glibc limits, from resolv.h.
const (
	// MaxNameservers is how many nameservers glibc uses (MAXNS). More are
	// written but ignored by glibc; Plan warns.
	MaxNameservers = 3
	// MaxNdots is the largest ndots glibc honours (RES_MAXNDOTS).
	MaxNdots = 15
	// MaxTimeout is the largest timeout in seconds glibc honours
	// (RES_MAXRETRANS).
	MaxTimeout = 30
	// MaxAttempts is the largest attempts glibc honours (RES_MAXRETRY).
	MaxAttempts = 5
	// oldSearchLimit and oldSearchChars are the search list limits of glibc
	// before 2.26 and of other libcs (MAXDNSRCH, 256 characters).
	oldSearchLimit = 6
	oldSearchChars = 256
)

// ResolverSpec is the wanted content of resolv.conf(5).
type ResolverSpec struct {
	// Nameservers are queried in order (or round robin with Rotate).
	// Link-local IPv6 addresses need a zone naming the link, e.g.
	// fe80::1%eth0; other addresses must not have one. resolv.conf has no
	// port syntax: glibc always uses port 53. glibc uses the first
	// MaxNameservers; more are written (other resolvers may use them) and
	// Plan warns. Empty: glibc queries 127.0.0.1.
	Nameservers []netip.Addr `json:"nameservers,omitempty" yaml:"nameservers,omitempty"`
	// SearchDomains are appended to names being looked up, in order (the
	// "search" line). Normalize lower-cases them and removes a trailing dot.
	SearchDomains []string `json:"searchDomains,omitempty" yaml:"searchDomains,omitempty"`
	// Options are the resolver options (the "options" line).
	Options ResolverOptions `json:"options,omitzero" yaml:"options,omitempty"`
}

// ResolverOptions are the glibc resolver options. The zero value of each
// field means "not written": glibc's default applies.
type ResolverOptions struct {
	// Ndots is the number of dots a name needs to be tried as absolute
	// before the search list (0-15). Nil: glibc's default, 1.
	Ndots *int `json:"ndots,omitempty" yaml:"ndots,omitempty"`
	// Timeout is the time to wait for one nameserver, in seconds (1-30).
	// Zero: glibc's default, 5.
	Timeout int `json:"timeout,omitempty" yaml:"timeout,omitempty"`
	// Attempts is how often every nameserver is tried (1-5). Zero: glibc's
	// default, 2.
	Attempts int `json:"attempts,omitempty" yaml:"attempts,omitempty"`
	// Rotate spreads queries over the nameservers round robin.
	Rotate bool `json:"rotate,omitempty" yaml:"rotate,omitempty"`
	// EDNS0 enables the DNS extensions of RFC 2671.
	EDNS0 bool `json:"edns0,omitempty" yaml:"edns0,omitempty"`
	// TrustAD sets the AD bit in queries and passes it on from answers
	// (glibc 2.31 and later).
	TrustAD bool `json:"trustAD,omitempty" yaml:"trustAD,omitempty"`
	// SingleRequest sends the A and AAAA queries one after the other
	// instead of in parallel from one socket.
	SingleRequest bool `json:"singleRequest,omitempty" yaml:"singleRequest,omitempty"`
	// SingleRequestReopen uses a new socket for the second of the A and
	// AAAA queries.
	SingleRequestReopen bool `json:"singleRequestReopen,omitempty" yaml:"singleRequestReopen,omitempty"`
	// NoTLDQuery never looks up a name without dots as it is.
	NoTLDQuery bool `json:"noTLDQuery,omitempty" yaml:"noTLDQuery,omitempty"`
	// UseVC queries over TCP.
	UseVC bool `json:"useVC,omitempty" yaml:"useVC,omitempty"`
	// NoReload stops glibc from re-reading resolv.conf when it changes
	// (glibc 2.26 and later).
	NoReload bool `json:"noReload,omitempty" yaml:"noReload,omitempty"`
	// NoAAAA suppresses AAAA queries (glibc 2.36 and later).
	NoAAAA bool `json:"noAAAA,omitempty" yaml:"noAAAA,omitempty"`
}

// flagOptions maps the boolean options to their resolv.conf names, in the
// order Render writes them.
var flagOptions = []struct {
	name string
	get  func(*ResolverOptions) *bool
}{
	{"rotate", func(o *ResolverOptions) *bool { return &o.Rotate }},
	{"edns0", func(o *ResolverOptions) *bool { return &o.EDNS0 }},
	{"trust-ad", func(o *ResolverOptions) *bool { return &o.TrustAD }},
	{"single-request", func(o *ResolverOptions) *bool { return &o.SingleRequest }},
	{"single-request-reopen", func(o *ResolverOptions) *bool { return &o.SingleRequestReopen }},
	{"no-tld-query", func(o *ResolverOptions) *bool { return &o.NoTLDQuery }},
	{"use-vc", func(o *ResolverOptions) *bool { return &o.UseVC }},
	{"no-reload", func(o *ResolverOptions) *bool { return &o.NoReload }},
	{"no-aaaa", func(o *ResolverOptions) *bool { return &o.NoAAAA }},
}

// Normalize lower-cases the search domains and removes their trailing dot,
// so two equivalent specs compare equal. Empty lists become nil.
func (s *ResolverSpec) Normalize() {
	for i, d := range s.SearchDomains {
		s.SearchDomains[i] = normalizeName(d)
	}
	if len(s.SearchDomains) == 0 {
		s.SearchDomains = nil
	}
	if len(s.Nameservers) == 0 {
		s.Nameservers = nil
	}
}

// Validate checks the spec against the rules glibc applies, every field in
// the form Normalize gives it (s is not changed), so it accepts exactly what
// Apply accepts. Errors name the field, e.g.
// "resolv: resolvers.nameservers[1]: ...", wrap
// netprim.ErrInvalidSpec and are joined. More than MaxNameservers
// nameservers is not an error: see Warnings.
func (s ResolverSpec) Validate() error {
	var errs []error
	bad := func(field string, format string, args ...any) {
		errs = append(errs, fmt.Errorf("resolv: resolvers.%s: %w: %s", field, netprim.ErrInvalidSpec, fmt.Sprintf(format, args...)))
	}
	seen := make(map[netip.Addr]int, len(s.Nameservers))
	for i, ns := range s.Nameservers {
		field := fmt.Sprintf("nameservers[%d]", i)
		if err := checkNameserver(ns); err != nil {
			bad(field, "%v", err)
			continue
		}
		if j, ok := seen[ns]; ok {
			bad(field, "%s is also nameservers[%d]", ns, j)
			continue
		}
		seen[ns] = i
	}
	domains := make(map[string]int, len(s.SearchDomains))
	for i, d := range s.SearchDomains {
		field := fmt.Sprintf("searchDomains[%d]", i)
		n := normalizeName(d)
		if err := checkName(n, true); err != nil {
			bad(field, "%v", err)
			continue
		}
		if j, ok := domains[n]; ok {
			bad(field, "%s is also searchDomains[%d]", n, j)
			continue
		}
		domains[n] = i
	}
	o := s.Options
	if o.Ndots != nil && (*o.Ndots < 0 || *o.Ndots > MaxNdots) {
		bad("options.ndots", "%d is out of range 0-%d (glibc caps it at %d)", *o.Ndots, MaxNdots, MaxNdots)
	}
	if o.Timeout < 0 || o.Timeout > MaxTimeout {
		bad("options.timeout", "%d is out of range 1-%d seconds (0: glibc default 5; glibc caps it at %d)", o.Timeout, MaxTimeout, MaxTimeout)
	}
	if o.Attempts < 0 || o.Attempts > MaxAttempts {
		bad("options.attempts", "%d is out of range 1-%d (0: glibc default 2; glibc caps it at %d)", o.Attempts, MaxAttempts, MaxAttempts)
	}
	if o.SingleRequest && o.SingleRequestReopen {
		bad("options", "singleRequest and singleRequestReopen exclude each other")
	}
	return errors.Join(errs...)
}

// checkNameserver checks one nameserver address.
func checkNameserver(a netip.Addr) error {
	switch {
	case !a.IsValid():
		return fmt.Errorf("not an IP address")
	case a.Is4In6():
		return fmt.Errorf("%s is an IPv4-mapped IPv6 address: write it as %s", a, a.Unmap())
	case a.IsUnspecified():
		return fmt.Errorf("%s is the unspecified address", a)
	case a.IsMulticast():
		return fmt.Errorf("%s is a multicast address", a)
	case a.Is6() && a.IsLinkLocalUnicast() && a.Zone() == "":
		return fmt.Errorf("%s is link-local and needs a zone naming the link, e.g. %s%%eth0", a, a)
	case a.Zone() != "" && !a.IsLinkLocalUnicast():
		return fmt.Errorf("%s has a zone but is not a link-local address", a)
	case !zoneOK(a.Zone()):
		return fmt.Errorf("zone %q is not a link name", a.Zone())
	}
	return nil
}

// zoneOK accepts zones that are link names or indexes: printable ASCII
// without white space, "#", ";" or "%", at most 15 characters (IFNAMSIZ-1).
func zoneOK(z string) bool {
	if len(z) > 15 {
		return false
	}
	for i := 0; i < len(z); i++ {
		if c := z[i]; c <= ' ' || c >= 0x7f || c == '#' || c == ';' || c == '%' || c == '/' {
			return false
		}
	}
	return true
}

// Warnings returns what a person should know about a valid spec that is
// not an error: nameservers glibc ignores, search lists other resolvers
// truncate, no nameserver at all.
func (s ResolverSpec) Warnings() []string {
	var w []string
	if len(s.Nameservers) > MaxNameservers {
		ignored := make([]string, 0, len(s.Nameservers)-MaxNameservers)
		for _, a := range s.Nameservers[MaxNameservers:] {
			ignored = append(ignored, a.String())
		}
		w = append(w, fmt.Sprintf("resolv.conf: glibc uses only the first %d nameservers (MAXNS); it ignores %s",
			MaxNameservers, strings.Join(ignored, ", ")))
	}
	if len(s.Nameservers) == 0 {
		w = append(w, "resolv.conf: no nameservers: glibc queries 127.0.0.1")
	}
	if n, chars := len(s.SearchDomains), len(strings.Join(s.SearchDomains, " ")); n > oldSearchLimit || chars > oldSearchChars {
		w = append(w, fmt.Sprintf("resolv.conf: %d search domains (%d characters): glibc before 2.26 and musl use only %d domains or %d characters",
			n, chars, oldSearchLimit, oldSearchChars))
	}
	return w
}

// RenderResolvConf returns the resolv.conf text for s: one "nameserver"
// line per nameserver, a "search" line and an "options" line, after a
// comment saying the file is generated. It does not validate: call Validate
// first (Apply does).
func RenderResolvConf(s ResolverSpec) []byte {
	var b bytes.Buffer
	b.WriteString(generatedComment)
	for _, ns := range s.Nameservers {
		b.WriteString("nameserver ")
		b.WriteString(ns.String())
		b.WriteByte('\n')
	}
	if len(s.SearchDomains) > 0 {
		b.WriteString("search")
		for _, d := range s.SearchDomains {
			b.WriteByte(' ')
			b.WriteString(normalizeName(d))
		}
		b.WriteByte('\n')
	}
	if opts := s.Options.words(); len(opts) > 0 {
		b.WriteString("options ")
		b.WriteString(strings.Join(opts, " "))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// generatedComment starts every file Apply writes.
const generatedComment = "# Generated by netprim: manual changes are overwritten.\n"

// words returns the options as resolv.conf writes them.
func (o ResolverOptions) words() []string {
	var w []string
	if o.Ndots != nil {
		w = append(w, "ndots:"+strconv.Itoa(*o.Ndots))
	}
	if o.Timeout != 0 {
		w = append(w, "timeout:"+strconv.Itoa(o.Timeout))
	}
	if o.Attempts != 0 {
		w = append(w, "attempts:"+strconv.Itoa(o.Attempts))
	}
	for _, f := range flagOptions {
		if *f.get(&o) {
			w = append(w, f.name)
		}
	}
	return w
}

// ParseResolvConf reads resolv.conf text the way glibc does: "nameserver",
// "search" and "domain" (the last of search and domain wins), "options";
// lines starting with "#" or ";" are comments, and so are lines starting
// with a blank (glibc matches keywords at the start of a line only); other
// keywords (sortlist, lookup, ...) are ignored. Unlike glibc it keeps every nameserver, and it
// is strict about what it understands: a malformed address, domain or
// option is an error naming the line. A spec it returns passes Validate and
// renders back to equivalent text: ParseResolvConf(RenderResolvConf(s))
// equals s after Normalize.
func ParseResolvConf(text []byte) (ResolverSpec, error) {
	var s ResolverSpec
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	line := 0
	fail := func(format string, args ...any) (ResolverSpec, error) {
		return ResolverSpec{}, fmt.Errorf("resolv: resolv.conf line %d: %w: %s", line, netprim.ErrInvalidSpec, fmt.Sprintf(format, args...))
	}
	for sc.Scan() {
		line++
		text := sc.Text()
		// glibc recognizes a keyword only at the start of a line, so a
		// line starting with a blank is ignored like a comment.
		if text == "" || text[0] == '#' || text[0] == ';' || text[0] == ' ' || text[0] == '\t' {
			continue
		}
		fields := strings.Fields(text)
		if len(fields) == 0 {
			continue
		}
		switch fields[0] {
		case "nameserver":
			if len(fields) < 2 {
				return fail("nameserver without an address")
			}
			a, err := netip.ParseAddr(fields[1])
			if err != nil {
				return fail("nameserver %q: not an IP address", fields[1])
			}
			if err := checkNameserver(a); err != nil {
				return fail("nameserver: %v", err)
			}
			if slices.Contains(s.Nameservers, a) {
				return fail("nameserver %s given twice", a)
			}
			s.Nameservers = append(s.Nameservers, a)
		case "search", "domain":
			s.SearchDomains = nil
			seen := map[string]bool{}
			for _, d := range fields[1:] {
				if d == "." {
					continue // systemd-resolved writes "search ." for "no search list"
				}
				d = normalizeName(d)
				if err := checkName(d, true); err != nil {
					return fail("%s: %v", fields[0], err)
				}
				if seen[d] {
					return fail("%s: %s given twice", fields[0], d)
				}
				seen[d] = true
				s.SearchDomains = append(s.SearchDomains, d)
				if fields[0] == "domain" {
					break // glibc uses the first word only
				}
			}
		case "options":
			for _, w := range fields[1:] {
				if err := s.Options.set(w); err != nil {
					return fail("options: %v", err)
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return ResolverSpec{}, fmt.Errorf("resolv: resolv.conf line %d: %w: %w", line+1, netprim.ErrInvalidSpec, err)
	}
	s.Normalize()
	if err := s.Validate(); err != nil {
		return ResolverSpec{}, err
	}
	return s, nil
}

// set applies one word of an "options" line.
func (o *ResolverOptions) set(w string) error {
	name, val, hasVal := strings.Cut(w, ":")
	num := func(lo, hi int) (int, error) {
		if !hasVal {
			return 0, fmt.Errorf("%s needs a value (%s:N)", name, name)
		}
		n, err := strconv.Atoi(val)
		if err != nil || n < lo || n > hi {
			return 0, fmt.Errorf("%q: want %s:N with N in %d-%d", w, name, lo, hi)
		}
		return n, nil
	}
	var err error
	switch name {
	case "ndots":
		var n int
		if n, err = num(0, MaxNdots); err == nil {
			o.Ndots = &n
		}
		return err
	case "timeout":
		o.Timeout, err = num(1, MaxTimeout)
		return err
	case "attempts":
		o.Attempts, err = num(1, MaxAttempts)
		return err
	case "no_tld_query":
		name = "no-tld-query"
	}
	if hasVal {
		return fmt.Errorf("%q: option %s takes no value", w, name)
	}
	for _, f := range flagOptions {
		if f.name == name {
			*f.get(o) = true
			return nil
		}
	}
	return fmt.Errorf("unknown option %q", w)
}
