package main

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/netprim/netprim/wireguard"
)

// wgView is a WireGuard device as "get wireguard" shows it: its Status
// (public keys only) with each peer's health.
type wgView struct {
	wireguard.Status
	Peers []wgPeerView `json:"peers,omitempty"`
}

type wgPeerView struct {
	wireguard.PeerStatus
	// Health is wireguard.PeerStatus.Health at the time of the listing.
	Health wireguard.Health `json:"health"`
}

func wgViews(ws []wireguard.Status, now time.Time) []wgView {
	out := make([]wgView, len(ws))
	for i, w := range ws {
		out[i].Status = w
		out[i].Status.Peers = nil
		for _, p := range w.Peers {
			out[i].Peers = append(out[i].Peers, wgPeerView{PeerStatus: p, Health: p.Health(now)})
		}
	}
	return out
}

// wgTable prints the devices, then their peers.
func wgTable(w *tabwriter.Writer, vs []wgView) {
	fmt.Fprintln(w, "NAME\tBACKEND\tPUBLIC-KEY\tLISTEN-PORT\tMTU\tSTATE\tPEERS")
	for _, v := range vs {
		state := "down"
		if v.Up {
			state = "up"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%s\t%d\n", v.Name, v.Backend, v.PublicKey, v.ListenPort, v.MTU, state, len(v.Peers))
	}
	var rows []string
	for _, v := range vs {
		for _, p := range v.Peers {
			ep := "-"
			if p.Endpoint.IsValid() {
				ep = p.Endpoint.String()
			}
			ips := make([]string, len(p.AllowedIPs))
			for i, a := range p.AllowedIPs {
				ips[i] = a.String()
			}
			hs := "never"
			if !p.LastHandshake.IsZero() {
				hs = time.Since(p.LastHandshake).Round(time.Second).String() + " ago"
			}
			rows = append(rows, strings.Join([]string{v.Name, p.PublicKey.String(), ep, dash(strings.Join(ips, ",")), hs,
				strconv.FormatInt(p.RxBytes, 10), strconv.FormatInt(p.TxBytes, 10), string(p.Health)}, "\t"))
		}
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "DEVICE\tPEER\tENDPOINT\tALLOWED-IPS\tHANDSHAKE\tRX\tTX\tHEALTH")
	for _, r := range rows {
		fmt.Fprintln(w, r)
	}
}
