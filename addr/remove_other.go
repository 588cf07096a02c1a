//go:build !linux

package addr

import (
	"context"

	"github.com/netprim/netprim"
)

// Remove is only implemented on Linux; elsewhere it returns
// netprim.ErrUnsupported.
func Remove(ctx context.Context, ns *netprim.Namespace, specs []Spec, opts ...netprim.Option) (netprim.Plan, error) {
	return netprim.Plan{}, netprim.Unsupported("rtnetlink (Linux only)", "")
}
