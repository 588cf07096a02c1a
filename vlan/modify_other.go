//go:build !linux

package vlan

import "github.com/vishvananda/netlink"

func modify(*netlink.Handle, netlink.Link, int, map[uint32]uint32, map[uint32]uint32) error {
	return unsupported()
}
