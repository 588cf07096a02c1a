// Package vip shares one virtual IP among nodes: an election decides which
// node owns it, the owner takes the address up on its link and announces it
// (gratuitous ARP, unsolicited neighbour advertisement, or a cloud
// provider's API), and the address moves when the owner goes away.
package vip
