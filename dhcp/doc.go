// Package dhcp gives a network daemon DHCPv4 and DHCPv6 clients whose
// leases become netprim specs: the leased address (its lifetimes ending
// when the lease does, so the kernel drops it by itself when the lease
// runs out unrenewed),
// routes, the link MTU and the resolvers, ready to be contributed by a
// reconcile.Source and withdrawn when the lease ends.
//
// # DHCPv4
//
// A Client runs for one link in one network namespace; its sockets are
// created inside the namespace (netprim.Namespace.Do), never by switching
// a pooled thread. Run implements RFC 2131's states:
//
//	INIT → SELECTING → REQUESTING → BOUND → RENEWING → REBINDING → (expiry) INIT
//	INIT-REBOOT → BOUND                     (a lease kept in Config.LeaseFile)
//
// DISCOVER and the REQUESTs of SELECTING and INIT-REBOOT are broadcast from
// 0.0.0.0 through a packet socket (with a BPF filter for UDP port 68) that
// works before the link has an address. Before each transmission the client
// looks the link up by name and moves to it if it was created again or has
// a new MAC address; a message that cannot be sent (the link is down)
// counts as lost and is retransmitted. The REQUESTs of RENEWING (from T1)
// and REBINDING (from T2) carry the leased address as ciaddr and are sent
// from it (RFC 2131 4.3.2, 4.4.5): a renewal is unicast to the server
// through a UDP socket bound to the address on the link, a rebinding is
// broadcast through the packet socket with the address as IP source (a UDP
// socket bound to the address meanwhile receives the server's unicast
// answer, which the packet socket reads). So the address must be applied: a
// client whose address is not on the link sends both from 0.0.0.0 through
// the packet socket. At expiry the lease is dropped and the client starts
// over. Retransmissions follow RFC 2131: 4 s doubling to 64 s, each
// randomized by ±1 s; while renewing or rebinding, half the time left, at
// least 60 s (Timing shortens all of these). After a restart the client
// asks for the address of its lease file (INIT-REBOOT); if no server
// answers and the lease has not run out it keeps using it for what is left
// of it (the address's lifetimes too); if a server refuses it (DHCPNAK, or
// an acknowledgement it cannot use) or it has run out, it reports it
// expired, so that what a previous run applied of it goes, and starts
// over. A lease counts from the first transmission of the REQUEST its
// DHCPACK answers (RFC 2131 4.4.1). With Config.ProbeWait it probes the
// acknowledged address with three ARP probes (RFC 5227) and sends
// DHCPDECLINE when another host has it. With
// Config.Release it sends DHCPRELEASE (from the leased address) when Run's
// context ends.
//
// Every DISCOVER, REQUEST, renewal and rebinding carries the parameter
// request list (ParameterRequestList): subnet mask, router, DNS servers,
// host name, domain name, interface MTU, broadcast address, NTP servers,
// lease time, T1, T2, domain search (119) and classless static routes
// (121). Some servers answer a renewal without the list without options
// 121, 26 and 119.
//
// # Leases and specs
//
// ParseAck turns a server's message into a Lease. A message no client can
// use (no or a bad address, no server identifier, a lease time of zero or
// missing) is refused with an OptionError naming the field; a malformed or
// hostile option (a router outside the subnet, a /0 or /32 mask, more than
// MaxStaticRoutes routes, an MTU below MinMTU (576), truncated or oversized
// options, T1 after T2) is dropped, named in Event.Dropped, and nothing of
// it is used; of a list of addresses (routers, DNS and NTP servers) only
// the bad entries, and the servers past MaxServers, are dropped, and the
// option is named all the same. A dropped subnet mask is replaced by the
// address's classful mask.
//
// Lease.Specs makes the objects: the address with the subnet's broadcast
// address and the lease's expiry as its absolute end (addr.Spec.ValidUntil,
// BoundAt plus the lease time); a default route via the first router, or,
// when option 121 is present, its routes instead (RFC 3442), each gateway
// outside the subnet with an on-link /32 route and the route marked
// on-link; routes get SpecOptions.RouteMetric (DefaultRouteMetric) and
// RouteTable; the DNS servers with the search list of option 119 (or the
// domain name); the MTU of option 26 as a link spec (576 to 1279 is
// applied, but the kernel disables IPv6 on a link with an MTU below 1280);
// the host name only when asked for. NTP servers are reported in the Lease
// only.
//
// # Events
//
// Config.OnEvent receives every change: EventBound (a lease was
// obtained), EventRenewed (extended, nothing changed but its end),
// EventChanged (extended with other parameters), EventExpired (ran out, or
// the server refused it with a NAK), EventReleased, EventDeclined and
// EventRefused. After Bound, Renewed and Changed, Event.Specs are what the
// source should contribute; after Expired and Released it should clear.
//
// The address's lifetimes are absolute: the kernel is given the whole
// seconds left until the lease's expiry (see "Lifetimes" in package addr),
// so it removes the address when the lease ends, whoever applied it last
// and whether or not the daemon still runs. A renewal moves the expiry, so
// the specs of EventRenewed differ from the ones before in
// addr.Spec.ValidUntil alone: a reconcile.Source.Set of them runs a pass,
// which rewrites the address's lifetimes in place (one write, the kernel
// never deletes and re-adds the address). Passes that find the lease
// unchanged, such as the Reconciler's periodic ones, write nothing and
// never push the kernel's countdown past the lease's end.
//
// # DHCPv6
//
// A Client6 (stateful, one IA_NA) waits for the link's link-local address
// (and moves its socket to a new one if the link's changes), solicits with
// Rapid Commit (two messages when the server allows it,
// Solicit/Advertise/Request/Reply otherwise; without it the client
// collects Advertises until the Solicit's first retransmission time has
// passed and requests from the server of the highest Preference, at once
// when one says 255, RFC 8415 18.2.1), watches each newly bound address
// through the kernel's duplicate address detection (addr.DADWatch) and
// declines it when another host has it (EventDeclined, then a Decline and
// a new Solicit, RFC 8415 18.2.10.1), identifies itself with Config6.DUID
// (a DUID-LL of the link's address by default), renews at T1 with its server
// and rebinds at T2 with any, drops the lease when its valid lifetime
// ends, and sends Release on stop when asked. A Reply to a Renew or Rebind
// ends the lease early only when it gives the address a valid lifetime of
// 0; after NoBinding the client asks for the address with a Request, and
// a Reply it cannot use (UnspecFail, malformed) is reported as
// EventRefused while the lease is kept (RFC 8415 18.2.10.1). Its specs are
// the address as a /128 (the on-link prefix and routes come from router
// advertisements) with the IA address's valid and preferred lifetimes as
// absolute ends (ValidUntil, PreferredUntil), and the DNS servers (option
// 23) and domain list (option 24). With Config6.LeaseFile it keeps the
// lease across restarts: the next Run asks any server to extend it with a
// Rebind, and without an answer takes it up for what is left of it.
//
// Messages and sockets come from github.com/insomniacslk/dhcp (dhcpv4,
// dhcpv6, nclient4's packet-socket connection, nclient6's link-local
// connection); the state machines, timers and retransmissions are this
// package's. The package never logs.
package dhcp
