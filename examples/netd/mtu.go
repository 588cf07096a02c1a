//go:build linux

package main

import (
	"slices"

	"github.com/netprim/netprim/reconcile"
)

// The configuration's entry for an interface and a DHCP lease's MTU
// (option 26) are the same link object for the Reconciler, and the
// configuration's source wins it whole. Talos applies the lease's MTU
// unless the configuration sets one: netd does the same by writing the
// lease's MTU into the configuration's entry when that has none.

// staticState is the configuration's state with the MTUs of the leases
// on the links it gives none.
func staticState(st reconcile.State, leaseMTU map[string]int) reconcile.State {
	if len(leaseMTU) == 0 {
		return st
	}
	// The lease's link is an interface, a bond, a bridge or a VLAN entry.
	patch := func(name string, mtu *int) {
		if m, ok := leaseMTU[name]; ok && *mtu == 0 {
			*mtu = m
		}
	}
	st.Links = slices.Clone(st.Links)
	for i := range st.Links {
		if l := &st.Links[i]; l.DeviceSelector == nil {
			patch(l.Name, &l.MTU)
		}
	}
	st.Bonds = slices.Clone(st.Bonds)
	for i := range st.Bonds {
		patch(st.Bonds[i].Name, &st.Bonds[i].MTU)
	}
	st.Bridges = slices.Clone(st.Bridges)
	for i := range st.Bridges {
		patch(st.Bridges[i].Name, &st.Bridges[i].MTU)
	}
	st.VLANs = slices.Clone(st.VLANs)
	for i := range st.VLANs {
		patch(st.VLANs[i].Name, &st.VLANs[i].MTU)
	}
	return st
}

// setStatic sets the configuration's source from the configuration in
// force and the leases' MTUs.
func (d *daemon) setStatic() error {
	d.staticMu.Lock()
	defer d.staticMu.Unlock()
	return d.static.Set(staticState(d.cfg.State, d.leaseMTU))
}

// setConfig makes cfg the configuration in force.
func (d *daemon) setConfig(cfg *netConfig) error {
	d.staticMu.Lock()
	prev := d.cfg
	d.cfg = cfg
	d.staticMu.Unlock()
	if err := d.setStatic(); err != nil {
		d.staticMu.Lock()
		d.cfg = prev
		d.staticMu.Unlock()
		return err
	}
	return nil
}

// setLeaseMTU records the MTU of link's lease (0: none) and updates the
// configuration's source when that changes.
func (d *daemon) setLeaseMTU(link string, mtu int) {
	d.staticMu.Lock()
	if d.leaseMTU[link] == mtu {
		d.staticMu.Unlock()
		return
	}
	if mtu == 0 {
		delete(d.leaseMTU, link)
	} else {
		d.leaseMTU[link] = mtu
	}
	d.staticMu.Unlock()
	if err := d.setStatic(); err != nil {
		d.out.errorf("netd: dhcp %s: MTU %d: %v\n", link, mtu, err)
	}
}
