package resolv

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/netprim/netprim"
)

// maxKernelHostname is the longest host name the kernel accepts
// (__NEW_UTS_LEN).
const maxKernelHostname = 64

// HostnameSpec is the node's host name and DNS domain.
type HostnameSpec struct {
	// Hostname is the short host name: one label of letters, digits and
	// hyphens (RFC 1123), at most 63 characters. It is the kernel host name
	// and the content of /etc/hostname.
	Hostname string `json:"hostname" yaml:"hostname"`
	// Domainname is the DNS domain; the FQDN is Hostname.Domainname. Apply
	// also sets it as the kernel's domain name (setdomainname), as Talos
	// does. Empty: no domain.
	Domainname string `json:"domainname,omitempty" yaml:"domainname,omitempty"`
}

// Normalize lower-cases both names and removes a trailing dot of the
// domain.
func (h *HostnameSpec) Normalize() {
	h.Hostname = strings.ToLower(h.Hostname)
	h.Domainname = normalizeName(h.Domainname)
}

// FQDN returns Hostname.Domainname, or Hostname without a domain.
func (h HostnameSpec) FQDN() string {
	if h.Domainname == "" {
		return h.Hostname
	}
	return h.Hostname + "." + h.Domainname
}

// Validate checks the names (RFC 1123: labels of 1-63 letters, digits and
// hyphens, no underscore) and that the FQDN is at most 253 characters.
// Errors name the field, e.g. "resolv: hostname.hostname: ...", wrap
// netprim.ErrInvalidSpec and are joined.
func (h HostnameSpec) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("resolv: hostname.%s: %w: %s", field, netprim.ErrInvalidSpec, fmt.Sprintf(format, args...)))
	}
	h.Normalize()
	switch {
	case h.Hostname == "":
		bad("hostname", "empty")
	case strings.Contains(h.Hostname, "."):
		bad("hostname", "%q has a dot: give the short name in hostname and the rest in domainname", abbrev(h.Hostname))
	default:
		if err := checkLabel(h.Hostname, false); err != nil {
			bad("hostname", "%v", err)
		}
	}
	if fqdn := h.FQDN(); len(fqdn) > MaxNameLength {
		bad("domainname", "FQDN %q is %d characters long, more than %d", abbrev(fqdn), len(fqdn), MaxNameLength)
	} else if h.Domainname != "" {
		if err := checkName(h.Domainname, false); err != nil {
			bad("domainname", "%v", err)
		}
	}
	if len(h.Domainname) > maxKernelHostname {
		bad("domainname", "%d characters: the kernel's domain name holds at most %d", len(h.Domainname), maxKernelHostname)
	}
	return errors.Join(errs...)
}

// RenderHostname returns the /etc/hostname text: the short host name and a
// newline, as hostname(5) describes it.
func RenderHostname(h HostnameSpec) []byte {
	h.Normalize()
	return []byte(h.Hostname + "\n")
}

// ParseHostname reads /etc/hostname: the first line that is not empty and
// not a comment is the host name. A dotted name is split into host name
// and domain.
func ParseHostname(text []byte) (HostnameSpec, error) {
	for l := range bytes.Lines(text) {
		t := strings.TrimSpace(string(l))
		if t == "" || t[0] == '#' {
			continue
		}
		host, domain, _ := strings.Cut(t, ".")
		h := HostnameSpec{Hostname: host, Domainname: domain}
		h.Normalize()
		if err := h.Validate(); err != nil {
			return HostnameSpec{}, err
		}
		return h, nil
	}
	return HostnameSpec{}, fmt.Errorf("resolv: hostname: %w: no host name in the file", netprim.ErrInvalidSpec)
}
