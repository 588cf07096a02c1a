package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/bond"
	"github.com/netprim/netprim/bridge"
	"github.com/netprim/netprim/firewall"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/route"
	"github.com/netprim/netprim/selector"
	"github.com/netprim/netprim/vlan"
	"github.com/netprim/netprim/wireguard"
)

func cmdGet(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("get", flag.ContinueOnError)
	output := fs.String("o", "table", "output format: table, wide, json or yaml")
	netns := fs.String("netns", "", "network namespace name (/var/run/netns/NAME)")
	fwTable := fs.String("table", firewall.DefaultTable, "get firewall: the nftables table (inet family) to read, as in the document's firewall.table")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("get needs exactly one of: links, bonds, vlans, bridges, addresses, routes, rules, firewall [--table NAME], wireguard")
	}
	switch *output {
	case "table", "wide", "json", "yaml":
	default:
		return usageError(fmt.Sprintf("-o %q: want table, wide, json or yaml", *output))
	}
	ns, err := openNetns(*netns)
	if err != nil {
		return err
	}
	defer ns.Close()
	var (
		v     any
		table func(w *tabwriter.Writer, wide bool)
	)
	switch pos[0] {
	case "links", "link":
		var opts []link.ListOption
		if *output == "table" {
			opts = append(opts, link.WithoutEthtool())
		}
		ls, err := link.List(ctx, ns, opts...)
		if err != nil {
			return err
		}
		var names map[string]selector.Names
		if *output == "wide" && ns == nil {
			// sysfs shows the devices of the namespace that mounted it:
			// the predictable names are only known for netctl's own.
			names, _ = selector.PredictAll(os.DirFS("/"))
		}
		v, table = ls, func(w *tabwriter.Writer, wide bool) { linkTable(w, ls, wide, names) }
	case "bonds", "bond":
		bs, err := bond.List(ctx, ns)
		if err != nil {
			return err
		}
		v, table = bs, func(w *tabwriter.Writer, wide bool) { bondTable(w, bs) }
	case "vlans", "vlan":
		vs, err := vlan.List(ctx, ns)
		if err != nil {
			return err
		}
		v, table = vs, func(w *tabwriter.Writer, wide bool) { vlanTable(w, vs) }
	case "bridges", "bridge":
		bs, err := bridge.List(ctx, ns)
		if err != nil {
			return err
		}
		v, table = bs, func(w *tabwriter.Writer, wide bool) { bridgeTable(w, bs) }
	case "addresses", "address", "addr":
		as, err := addr.List(ctx, ns)
		if err != nil {
			return err
		}
		v, table = as, func(w *tabwriter.Writer, wide bool) { addrTable(w, as, wide) }
	case "routes", "route":
		rs, err := route.List(ctx, ns)
		if err != nil {
			return err
		}
		v, table = rs, func(w *tabwriter.Writer, wide bool) { routeTable(w, rs, wide) }
	case "rules", "rule":
		rs, err := route.ListRules(ctx, ns)
		if err != nil {
			return err
		}
		v, table = rs, func(w *tabwriter.Writer, wide bool) { ruleTable(w, rs) }
	case "firewall", "fw":
		st, err := firewall.Get(ctx, ns, *fwTable)
		if err != nil {
			return err
		}
		v, table = st, func(w *tabwriter.Writer, wide bool) { firewallTable(w, st, wide) }
	case "wireguard", "wg":
		ws, err := wireguard.List(ctx, ns)
		if err != nil {
			return err
		}
		vs := wgViews(ws, time.Now())
		v, table = vs, func(w *tabwriter.Writer, wide bool) { wgTable(w, vs) }
	default:
		return usageError(fmt.Sprintf("unknown object type %q: want links, bonds, vlans, bridges, addresses, routes, rules, firewall or wireguard", pos[0]))
	}
	switch *output {
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "yaml":
		return writeYAML(stdout, v)
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	table(w, *output == "wide")
	return w.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func addrOrDash(a netip.Addr) string {
	if !a.IsValid() {
		return "-"
	}
	return a.String()
}

func linkTable(w *tabwriter.Writer, ls []link.Status, wide bool, names map[string]selector.Names) {
	if wide {
		fmt.Fprintln(w, "INDEX\tNAME\tKIND\tSTATE\tMTU\tHWADDR\tMASTER\tDRIVER\tBUS\tPCIID\tSPEED\tPREDICTABLE\tOWNER")
	} else {
		fmt.Fprintln(w, "INDEX\tNAME\tKIND\tSTATE\tMTU\tHWADDR\tMASTER\tOWNER")
	}
	for _, l := range ls {
		state := l.OperState
		if !l.Up {
			state = "down"
		}
		row := []string{strconv.Itoa(l.Index), l.Name, dash(l.Kind), state, strconv.Itoa(l.MTU), dash(l.HardwareAddr), dash(l.Master)}
		if wide {
			speed := "-"
			if l.Speed > 0 {
				speed = strconv.Itoa(l.Speed) + "Mb/s " + l.Duplex
			}
			row = append(row, dash(l.Driver), dash(l.BusInfo), dash(l.PCIID), speed, dash(strings.Join(names[l.Name].All(), ",")))
		}
		row = append(row, dash(l.OwnedBy))
		fmt.Fprintln(w, strings.Join(row, "\t"))
	}
}

func addrTable(w *tabwriter.Writer, as []addr.Status, wide bool) {
	fmt.Fprintln(w, "LINK\tADDRESS\tSCOPE\tFLAGS\tPROTO")
	for _, a := range as {
		proto := "-"
		if a.Protocol != 0 {
			proto = strconv.Itoa(int(a.Protocol))
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", a.Link, a.Address, a.Scope, dash(strings.Join(a.Flags, ",")), proto)
	}
}

func routeTable(w *tabwriter.Writer, rs []route.Status, wide bool) {
	fmt.Fprintln(w, "TABLE\tDESTINATION\tGATEWAY\tLINK\tMETRIC\tTYPE\tPROTO")
	for _, r := range rs {
		gw := addrOrDash(r.Gateway)
		dev := dash(r.Link)
		if len(r.NextHops) > 0 {
			var g, d []string
			for _, h := range r.NextHops {
				g = append(g, fmt.Sprintf("%s(w%d)", addrOrDash(h.Gateway), max(h.Weight, 1)))
				d = append(d, dash(h.Link))
			}
			gw, dev = strings.Join(g, ","), strings.Join(d, ",")
		}
		typ := string(r.Type)
		if typ == "" {
			typ = "unicast"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", route.TableName(r.Table), r.Destination, gw, dev, r.Metric, typ, r.Protocol)
	}
}

func ruleTable(w *tabwriter.Writer, rs []route.RuleStatus) {
	fmt.Fprintln(w, "PRIORITY\tFAMILY\tSELECTOR\tACTION\tPROTO")
	for _, r := range rs {
		var sel []string
		if r.Invert {
			sel = append(sel, "not")
		}
		if r.From.IsValid() {
			sel = append(sel, "from "+r.From.String())
		}
		if r.To.IsValid() {
			sel = append(sel, "to "+r.To.String())
		}
		if r.FwMark != 0 || r.FwMask != 0 {
			sel = append(sel, fmt.Sprintf("fwmark %#x/%#x", r.FwMark, r.FwMask))
		}
		if r.IIF != "" {
			sel = append(sel, "iif "+r.IIF)
		}
		if r.OIF != "" {
			sel = append(sel, "oif "+r.OIF)
		}
		if len(sel) == 0 {
			sel = append(sel, "all")
		}
		action := string(r.Action)
		if action == "" || action == string(route.ActionLookup) {
			action = "lookup " + route.TableName(r.Table)
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\n", r.Priority, r.Family, strings.Join(sel, " "), action, r.Protocol)
	}
}

// writeYAML renders v as YAML through its JSON encoding, so fields are named
// and omitted exactly as in JSON (yaml.v3 cannot tell a zero netip.Addr from
// a set one), in block style.
func writeYAML(w io.Writer, v any) error {
	js, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var n yaml.Node
	if err := yaml.Unmarshal(js, &n); err != nil {
		return err
	}
	blockStyle(&n)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return err
	}
	return enc.Close()
}

func blockStyle(n *yaml.Node) {
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		n.Style = 0
	}
	if n.Kind == yaml.ScalarNode && n.Style == yaml.DoubleQuotedStyle {
		n.Style = 0
		var probe any
		if yaml.Unmarshal([]byte(n.Value), &probe) != nil || fmt.Sprint(probe) != n.Value {
			n.Style = yaml.DoubleQuotedStyle // keep quotes where a bare value would change type
		}
	}
	for _, c := range n.Content {
		blockStyle(c)
	}
}

func bondTable(w *tabwriter.Writer, bs []bond.Status) {
	fmt.Fprintln(w, "NAME\tMODE\tSTATE\tMEMBERS\tACTIVE\tOWNER")
	for _, b := range bs {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", b.Name, b.Mode, b.OperState,
			dash(strings.Join(b.Members, ",")), dash(b.ActiveMember), dash(b.OwnedBy))
	}
}

func vlanTable(w *tabwriter.Writer, vs []vlan.Status) {
	fmt.Fprintln(w, "NAME\tPARENT\tID\tPROTOCOL\tMTU\tUP")
	for _, v := range vs {
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%d\t%v\n", v.Name, v.Parent, v.ID, v.Protocol, v.MTU, v.Up)
	}
}

func bridgeTable(w *tabwriter.Writer, bs []bridge.Status) {
	fmt.Fprintln(w, "NAME\tSTP\tVLAN-FILTERING\tPORTS")
	for _, b := range bs {
		var ports []string
		for _, p := range b.Ports {
			ports = append(ports, p.Name+"("+p.State+")")
		}
		fmt.Fprintf(w, "%s\t%s\t%v\t%s\n", b.Name, dash(b.STPState), b.VLANFiltering, dash(strings.Join(ports, " ")))
	}
}

func firewallTable(w *tabwriter.Writer, st firewall.Status, wide bool) {
	fmt.Fprintf(w, "table inet %s, default %s\n", st.Table, st.DefaultAction)
	if wide {
		fmt.Fprintln(w, "HANDLE\tRULE\tFAMILY\tPACKETS\tBYTES\tCOMMENT")
	} else {
		fmt.Fprintln(w, "RULE\tFAMILY\tPACKETS\tBYTES")
	}
	for _, r := range st.Rules {
		name := r.Name
		if name == "" {
			name = "(not netprim's)"
		}
		if wide {
			fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%d\t%s\n", r.Handle, name, dash(r.Family), r.Packets, r.Bytes, dash(r.Comment))
			continue
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\n", name, dash(r.Family), r.Packets, r.Bytes)
	}
}
