// Package specerr formats the validation errors of the link-kind packages
// (link, bond, bridge, vlan) one way.
package specerr

import (
	"fmt"

	"github.com/netprim/netprim"
)

// Invalid returns "PREFIXFIELD: MESSAGE: invalid spec" wrapping
// netprim.ErrInvalidSpec; prefix is e.g. "bond: spec[1]." or "vlan eth0.10: ".
func Invalid(prefix, field, format string, a ...any) error {
	return fmt.Errorf("%s%s: %s: %w", prefix, field, fmt.Sprintf(format, a...), netprim.ErrInvalidSpec)
}
