package dhcp

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/resolv"
)

// Lease6 is a DHCPv6 lease: one address of an IA_NA with its lifetimes,
// and the DNS servers (option 23) and domain list (option 24).
type Lease6 struct {
	// Link is the name of the link the lease was obtained on.
	Link string `json:"link"`
	// Address is the leased address (the first usable one of the IA_NA).
	Address netip.Addr `json:"address"`
	// ValidLifetime and PreferredLifetime are the address's lifetimes;
	// InfiniteLease for an address without end.
	ValidLifetime     time.Duration `json:"validLifetime"`
	PreferredLifetime time.Duration `json:"preferredLifetime"`
	// T1 and T2 are when the client renews (with its server) and rebinds
	// (with any server), after BoundAt: the server's, or 0.5 and 0.8 times
	// the preferred lifetime.
	T1 time.Duration `json:"t1"`
	T2 time.Duration `json:"t2"`
	// ServerID is the server's DUID.
	ServerID []byte `json:"serverID"`
	// DNS are the DNS servers of option 23.
	DNS []netip.Addr `json:"dns,omitempty"`
	// SearchDomains are the domain list of option 24.
	SearchDomains []string `json:"searchDomains,omitempty"`
	// RapidCommit says the lease came in a two-message exchange (RFC 8415
	// rapid commit).
	RapidCommit bool `json:"rapidCommit,omitempty"`
	// BoundAt is when the client received the Reply.
	BoundAt time.Time `json:"boundAt"`
}

// Expiry returns when the address's valid lifetime ends, BoundAt plus
// ValidLifetime, or the zero time for an infinite one. It is the
// ValidUntil of the leased address's spec.
func (l *Lease6) Expiry() time.Time {
	if l.ValidLifetime >= InfiniteLease {
		return time.Time{}
	}
	return l.BoundAt.Add(l.ValidLifetime)
}

// Clone returns a deep copy of l.
func (l *Lease6) Clone() *Lease6 {
	if l == nil {
		return nil
	}
	c := *l
	c.ServerID = slices.Clone(l.ServerID)
	c.DNS = slices.Clone(l.DNS)
	c.SearchDomains = slices.Clone(l.SearchDomains)
	return &c
}

// ParseReply6 converts a server's Reply (or Advertise) for the IA_NA iaid
// into a Lease6 bound at now, refusing it (error naming the option) when it
// carries no usable address, and dropping malformed DNS or domain options
// (dropped names them).
func ParseReply6(link string, m *dhcpv6.Message, iaid [4]byte, now time.Time) (lease *Lease6, dropped []*OptionError, err error) {
	if m == nil {
		return nil, nil, &OptionError{Name: "message", Err: errors.New("no message")}
	}
	if st := m.Options.Status(); st != nil && st.StatusCode != 0 {
		return nil, nil, &OptionError{Code: 13, Name: "status code", Err: fmt.Errorf("%s: %s", st.StatusCode, st.StatusMessage)}
	}
	sid := m.Options.ServerID()
	if sid == nil {
		return nil, nil, &OptionError{Code: 2, Name: "server identifier", Err: fmt.Errorf("%w: missing", netprim.ErrInvalidSpec)}
	}
	var ia *dhcpv6.OptIANA
	for _, x := range m.Options.IANA() {
		if x.IaId == iaid {
			ia = x
			break
		}
	}
	if ia == nil {
		return nil, nil, &OptionError{Code: 3, Name: "IA_NA", Err: fmt.Errorf("%w: none for IAID %x", netprim.ErrInvalidSpec, iaid)}
	}
	if st := ia.Options.Status(); st != nil && st.StatusCode != 0 {
		return nil, nil, &OptionError{Code: 13, Name: "IA_NA status code", Err: fmt.Errorf("%s: %s", st.StatusCode, st.StatusMessage)}
	}
	l := &Lease6{Link: link, ServerID: sid.ToBytes(), BoundAt: now}
	var why []error
	for _, a := range ia.Options.Addresses() {
		ip, ok := netip.AddrFromSlice(a.IPv6Addr)
		switch {
		case !ok || !ip.Is6() || ip.Is4In6():
			why = append(why, fmt.Errorf("%v is not an IPv6 address", a.IPv6Addr))
		case ip.IsUnspecified() || ip.IsMulticast() || ip.IsLoopback() || ip.IsLinkLocalUnicast():
			why = append(why, fmt.Errorf("%s is not a global unicast address", ip))
		case a.ValidLifetime <= 0:
			why = append(why, fmt.Errorf("%s has valid lifetime 0", ip))
		case a.PreferredLifetime > a.ValidLifetime:
			why = append(why, fmt.Errorf("%s: preferred lifetime %v exceeds valid lifetime %v", ip, a.PreferredLifetime, a.ValidLifetime))
		default:
			if st := a.Options.Status(); st != nil && st.StatusCode != 0 {
				why = append(why, fmt.Errorf("%s: %s", ip, st.StatusCode))
				continue
			}
			if !l.Address.IsValid() {
				l.Address, l.ValidLifetime, l.PreferredLifetime = ip, a.ValidLifetime, a.PreferredLifetime
			}
		}
	}
	if !l.Address.IsValid() {
		why = append(why, errors.New("no usable address"))
		return nil, nil, &OptionError{Code: 5, Name: "IA address", Err: fmt.Errorf("%w: %w", netprim.ErrInvalidSpec, errors.Join(why...))}
	}
	pref := l.PreferredLifetime
	l.T1, l.T2 = ia.T1, ia.T2
	if l.T1 <= 0 || l.T1 > l.T2 || l.T2 <= 0 || l.T2 >= l.ValidLifetime {
		l.T1, l.T2 = pref/2, pref/10*8
		if pref <= 0 || pref >= InfiniteLease {
			l.T1, l.T2 = l.ValidLifetime/2, l.ValidLifetime/10*8
		}
	}
	if l.ValidLifetime >= InfiniteLease {
		l.T1, l.T2 = InfiniteLease, InfiniteLease
	}
	l.T1 = max(l.T1, time.Second)
	l.T2 = max(l.T2, l.T1)

	var dropped6 []*OptionError
	if raw := m.Options.Get(dhcpv6.OptionDNSRecursiveNameServer); len(raw) > 0 {
		var errs []error
		for _, o := range raw {
			b := o.ToBytes()
			if len(b)%16 != 0 || len(b) == 0 {
				errs = append(errs, fmt.Errorf("%w: length %d is not a multiple of 16", netprim.ErrInvalidSpec, len(b)))
				continue
			}
			for i := 0; i+16 <= len(b); i += 16 {
				ip := netip.AddrFrom16([16]byte(b[i : i+16]))
				if ip.IsUnspecified() || ip.IsMulticast() || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.Is4In6() {
					errs = append(errs, fmt.Errorf("%w: server %s is not a usable unicast address", netprim.ErrInvalidSpec, ip))
					continue
				}
				if !slices.Contains(l.DNS, ip) && len(l.DNS) < MaxServers {
					l.DNS = append(l.DNS, ip)
				}
			}
		}
		if len(errs) > 0 {
			dropped6 = append(dropped6, &OptionError{Code: 23, Name: "DNS recursive name server", Err: errors.Join(errs...)})
		}
	}
	if raw := m.Options.Get(dhcpv6.OptionDomainSearchList); len(raw) > 0 {
		ds, err := searchList(raw[0].ToBytes())
		if err != nil {
			dropped6 = append(dropped6, &OptionError{Code: 24, Name: "domain search list", Err: err})
		} else {
			l.SearchDomains = ds
		}
	}
	return l, dropped6, nil
}

// Specs returns the objects the lease implies: the address as a /128 (the
// on-link prefix comes from router advertisements) with the lease's
// lifetimes as absolute ends (addr.Spec.ValidUntil and PreferredUntil:
// BoundAt plus the IA address's valid and preferred lifetimes), and the
// resolvers. o.RouteMetric and o.RouteTable are not used: a DHCPv6 lease
// carries no routes.
func (l *Lease6) Specs(o SpecOptions) Specs {
	var s Specs
	if l == nil || !l.Address.IsValid() {
		return s
	}
	a := addr.Spec{Link: l.Link, Address: netip.PrefixFrom(l.Address, 128)}
	if l.ValidLifetime < InfiniteLease {
		// A preferred lifetime of 0 ends at BoundAt: the address is
		// deprecated at once.
		a.ValidUntil = l.Expiry()
		a.PreferredUntil = l.BoundAt.Add(l.PreferredLifetime)
	}
	s.Addresses = []addr.Spec{a}
	if !o.NoDNS && len(l.DNS) > 0 {
		s.Resolvers = &resolv.ResolverSpec{Nameservers: slices.Clone(l.DNS), SearchDomains: slices.Clone(l.SearchDomains)}
	}
	return s
}
