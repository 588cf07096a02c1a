package link

import (
	"fmt"
	"strings"

	"github.com/netprim/netprim"
)

// Marker returns the ownership marker Apply records on a link it creates:
// the alternative name (IFLA_ALT_IFNAME, "ip link property add dev NAME
// altname MARKER") "<owner.Name>.<name>", e.g. "netprim.veth0". The kernel
// keeps it with the link, so a restarted process still knows which links
// it owns; with netprim.WithPrune Apply deletes owned links that are not
// wanted and never a link without the marker.
//
// Kernels older than 5.5 have no alternative names; there Apply sets the
// marker as the link's alias instead, and an alias equal to the marker
// counts as ownership. Spec.Alias cannot be managed on such a link.
func Marker(owner netprim.Owner, name string) string {
	return ownerName(owner) + "." + name
}

func ownerName(o netprim.Owner) string {
	if o.Name == "" {
		return netprim.DefaultOwnerName
	}
	return o.Name
}

// validOwner checks that owner's name makes valid markers for any link
// name: no '/', ':' or white space, and short enough for a 15-byte name.
func validOwner(o netprim.Owner) error {
	name := ownerName(o)
	if err := validAltName(name); err != nil {
		return fmt.Errorf("link: owner name: %v: %w", err, netprim.ErrInvalidSpec)
	}
	if len(name)+1+15 > MaxAltNameLen {
		return fmt.Errorf("link: owner name %q: %d bytes, longer than %d: markers would exceed %d bytes: %w",
			name, len(name), MaxAltNameLen-16, MaxAltNameLen, netprim.ErrInvalidSpec)
	}
	return nil
}

// markedBy returns the owner whose marker the link name carries, in its
// alternative names or, failing that, its alias; "" when none.
func markedBy(name string, altNames []string, alias string) string {
	suffix := "." + name
	for _, a := range altNames {
		if o, ok := strings.CutSuffix(a, suffix); ok && o != "" {
			return o
		}
	}
	if o, ok := strings.CutSuffix(alias, suffix); ok && o != "" && validAltName(alias) == nil {
		return o
	}
	return ""
}

// markedByAltName reports whether the marker of owner is among altNames.
func markedByAltName(marker string, altNames []string) bool {
	for _, a := range altNames {
		if a == marker {
			return true
		}
	}
	return false
}
