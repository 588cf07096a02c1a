package link

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"path/filepath"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/linkkind"
	"github.com/netprim/netprim/internal/nl"
)

// kernel is the rtnetlink backend, bound to one namespace.
type kernel struct {
	h  *netlink.Handle
	ns *netprim.Namespace
	// c is a raw rtnetlink socket in ns for the requests vishvananda's
	// Handle cannot build; opened on first use, closed by close.
	c *nl.Conn
}

// close releases the raw socket, if one was opened.
func (k *kernel) close() {
	if k.c != nil {
		k.c.Close()
		k.c = nil
	}
}

// conn returns the raw socket, opening it on first use.
func (k *kernel) conn() (*nl.Conn, error) {
	if k.c == nil {
		c, err := nl.DialRoute(k.ns)
		if err != nil {
			return nil, err
		}
		k.c = c
	}
	return k.c, nil
}

// exec sends the one request in b and returns the kernel's answer.
func (k *kernel) exec(b *nl.Batch) error {
	c, err := k.conn()
	if err != nil {
		return err
	}
	errs, err := c.Exec(context.Background(), b)
	if err != nil {
		return err
	}
	return errs[0]
}

// ifinfomsg appends an ifinfomsg for the link index to b.
func ifinfomsg(b *nl.Batch, index int) {
	var m [unix.SizeofIfInfomsg]byte
	binary.NativeEndian.PutUint32(m[4:], uint32(int32(index)))
	b.Fixed(m[:])
}

func (k *kernel) changeInfoData(index int, kind string, data []nlattr) error {
	var b nl.Batch
	b.Begin(unix.RTM_NEWLINK, 0)
	ifinfomsg(&b, index)
	b.NestBegin(unix.IFLA_LINKINFO)
	b.AttrString(unix.IFLA_INFO_KIND, kind)
	b.NestBegin(unix.IFLA_INFO_DATA)
	for _, a := range data {
		b.Attr(a.typ, a.data)
	}
	b.NestEnd()
	b.NestEnd()
	b.End()
	return k.exec(&b)
}

func ref(index int) netlink.Link {
	return &netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: index}}
}

func (k *kernel) add(l netlink.Link) (int, error) {
	if err := k.h.LinkAdd(l); err != nil {
		return 0, err
	}
	got, err := k.h.LinkByName(l.Attrs().Name)
	if err != nil {
		return 0, fmt.Errorf("added, but looking it up failed: %w", err)
	}
	return got.Attrs().Index, nil
}

func (k *kernel) index(name string) (int, error) {
	l, err := k.h.LinkByName(name)
	if err != nil {
		return 0, err
	}
	return l.Attrs().Index, nil
}

func (k *kernel) addAltName(index int, name string) error {
	return k.h.LinkAddAltName(ref(index), name)
}
func (k *kernel) del(index int) error                    { return k.h.LinkDel(ref(index)) }
func (k *kernel) setMTU(index, mtu int) error            { return k.h.LinkSetMTU(ref(index), mtu) }
func (k *kernel) setTxQueueLen(index, n int) error       { return k.h.LinkSetTxQLen(ref(index), n) }
func (k *kernel) setAlias(index int, alias string) error { return k.h.LinkSetAlias(ref(index), alias) }
func (k *kernel) setMaster(index, master int) error {
	return k.h.LinkSetMasterByIndex(ref(index), master)
}

func (k *kernel) setHardwareAddr(index int, hw net.HardwareAddr) error {
	return k.h.LinkSetHardwareAddr(ref(index), hw)
}

func (k *kernel) setUp(index int, up bool) error {
	if up {
		return k.h.LinkSetUp(ref(index))
	}
	return k.h.LinkSetDown(ref(index))
}

func (k *kernel) kindChange(index int, raw netlink.Link, c linkkind.Change) error {
	if raw == nil {
		raw = ref(index)
	}
	return c.Apply(k.h, raw)
}

// snapshot dumps the links and resolves the peers of veths that want
// expects in another namespace.
func (k *kernel) snapshot(want []Spec) (*state, error) {
	links, err := nl.LinkList(k.h)
	if err != nil {
		return nil, err
	}
	names := make(map[int]string, len(links))
	for _, l := range links {
		names[l.Attrs().Index] = l.Attrs().Name
	}
	peerNetns := make(map[string]string)
	for _, s := range want {
		if s.Veth != nil && s.Veth.PeerNetns != "" {
			peerNetns[s.Name] = s.Veth.PeerNetns
		}
	}
	obs := make([]*observed, 0, len(links))
	for _, l := range links {
		o := &observed{Status: toStatus(l, names), raw: l}
		if o.Kind == "veth" {
			o.peer = o.Peer
			if o.ParentNetnsID >= 0 {
				o.peer, o.peerErr = k.remotePeer(o.ParentNetnsID, o.ParentIndex, peerNetns[o.Name])
			}
		}
		obs = append(obs, o)
	}
	return newState(obs), nil
}

// remotePeer describes a veth peer that lives in the namespace this one
// numbers nsid: "NAME netns SPEC" when that is the namespace netns names,
// else where it is.
// An error means the expected namespace could not be looked into.
func (k *kernel) remotePeer(nsid, index int, netns string) (string, error) {
	elsewhere := fmt.Sprintf("index %d in netnsid %d", index, nsid)
	if netns == "" {
		return elsewhere, nil
	}
	ns, err := openNetns(netns)
	if err != nil {
		return elsewhere, fmt.Errorf("veth.peerNetns: %w", err)
	}
	defer ns.Close()
	id, err := k.h.GetNetNsIdByFd(ns.FD())
	if err != nil {
		return elsewhere, netprim.KernelError("get", "netnsid of "+netns, err)
	}
	if id != nsid {
		return elsewhere, nil
	}
	h, err := nl.Handle(ns)
	if err != nil {
		return elsewhere, err
	}
	defer h.Close()
	l, err := h.LinkByIndex(index)
	if err != nil {
		return elsewhere, nil
	}
	return peerDesc(l.Attrs().Name, netns), nil
}

// openNetns opens a namespace given as in Veth.PeerNetns.
func openNetns(spec string) (*netprim.Namespace, error) {
	if filepath.IsAbs(spec) {
		return netprim.OpenNamespacePath(spec)
	}
	return netprim.OpenNamespace(spec)
}
