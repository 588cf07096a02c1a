//go:build !linux

package dhcp

import (
	"context"
	"fmt"

	"github.com/netprim/netprim"
)

// Run needs Linux packet sockets; elsewhere it returns
// netprim.ErrUnsupported.
func (c *Client) Run(ctx context.Context) error {
	return fmt.Errorf("dhcp: %w: the client needs Linux", netprim.ErrUnsupported)
}

// Run needs Linux; elsewhere it returns netprim.ErrUnsupported.
func (c *Client6) Run(ctx context.Context) error {
	return fmt.Errorf("dhcp: %w: the client needs Linux", netprim.ErrUnsupported)
}
