package firewall_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/firewall"
)

func ExampleRender() {
	spec := firewall.Spec{
		DefaultAction: firewall.DefaultBlock,
		Rules: []firewall.Rule{{
			Name:     "kube-apiserver",
			Protocol: firewall.TCP,
			Ports:    []string{"6443"},
			Subnets:  []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")},
			Except:   []netip.Prefix{netip.MustParsePrefix("192.0.2.128/25")},
			Action:   firewall.Accept,
		}},
	}
	text, err := firewall.Render(spec)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(text)
	// Output:
	// table inet netprim {
	// 	set safety_icmp {
	// 		type icmp_type
	// 		elements = { destination-unreachable, time-exceeded, parameter-problem }
	// 	}
	// 	set safety_icmpv6 {
	// 		type icmpv6_type
	// 		elements = { destination-unreachable, packet-too-big, time-exceeded, parameter-problem, nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, nd-redirect }
	// 	}
	// 	chain input {
	// 		type filter hook input priority filter; policy drop;
	// 		iifname "lo" counter accept comment "safety:loopback #87f491ca4d5f"
	// 		ct state established,related counter accept comment "safety:established #c77fde03d68d"
	// 		ct state invalid counter drop comment "safety:invalid #c8db3f6dbedf"
	// 		icmpv6 type @safety_icmpv6 counter accept comment "safety:icmpv6 #8b3ca2876e78"
	// 		icmp type @safety_icmp counter accept comment "safety:icmp #c15f8ac3c6f5"
	// 		ip saddr 192.0.2.0/25 tcp dport 6443 counter accept comment "kube-apiserver/ip #4270b738fdf1"
	// 		counter comment "default #efe899c74558"
	// 	}
	// }
}

func ExampleSpec_Validate() {
	spec := firewall.Spec{Rules: []firewall.Rule{
		{Name: "etcd", Protocol: firewall.TCP, Ports: []string{"2380-2379"}, Action: firewall.Accept},
	}}
	fmt.Println(spec.Validate())
	// Output:
	// firewall: rules[0] "etcd".ports[0]: invalid spec: "2380-2379": reversed range (2380 > 2379)
}

func ExampleControlPlane() {
	cluster := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	admins := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	rules := append(firewall.ControlPlane(cluster, admins), firewall.KubeSpan().Rules(cluster...)...)
	for _, r := range rules {
		fmt.Println(r.Name, r.Protocol, r.Ports, r.Subnets)
	}
	// Output:
	// apid tcp [50000] [192.0.2.0/24 10.0.0.0/8]
	// kube-apiserver tcp [6443] [192.0.2.0/24 10.0.0.0/8]
	// trustd tcp [50001] [10.0.0.0/8]
	// etcd tcp [2379-2380] [10.0.0.0/8]
	// kubelet tcp [10250] [10.0.0.0/8]
	// kube-scheduler tcp [10259] [10.0.0.0/8]
	// kube-controller-manager tcp [10257] [10.0.0.0/8]
	// kube-proxy tcp [10256] [10.0.0.0/8]
	// kubespan udp [51820] [10.0.0.0/8]
}

// Apply a firewall in a named namespace, then read the counters.
func ExampleApply() {
	ctx := context.Background()
	ns, err := netprim.OpenNamespace("node1")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ns.Close()
	cluster := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	spec := firewall.Spec{DefaultAction: firewall.DefaultBlock, Rules: firewall.Worker(cluster, nil)}
	plan, err := firewall.Apply(ctx, ns, spec)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(plan)
	st, err := firewall.Get(ctx, ns, "")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range st.Rules {
		fmt.Println(r.Name, r.Family, r.Packets, r.Bytes)
	}
}

// Keep the firewall of a namespace in place from a loop that applies the
// same Spec on every event and every minute: with a Cache, an Apply that
// finds the namespace's nftables unchanged since the last one asks the
// kernel for one number and returns. Watch wakes the loop when anything
// changes the ruleset, for instance "nft flush table inet netprim".
func ExampleWithCache() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ns, err := netprim.OpenNamespace("node1")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ns.Close()
	cluster := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	spec := firewall.Spec{DefaultAction: firewall.DefaultBlock, Rules: firewall.Worker(cluster, nil)}

	// Subscribe before the first Apply, so that no change falls between.
	events, err := firewall.Watch(ctx, ns)
	if err != nil {
		fmt.Println(err)
		return
	}
	var cache firewall.Cache
	apply := func() {
		plan, err := firewall.Apply(ctx, ns, spec, firewall.WithCache(&cache))
		if err != nil {
			fmt.Println(err)
		} else if !plan.Empty() {
			fmt.Println(plan)
		}
	}
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	apply()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return // ctx ended, or the subscription failed: start again
			}
			// Another table changed: nothing to repair. (The event of
			// Apply's own transaction leads to an Apply that the Cache
			// answers.)
			if !ev.Resync && ev.Object != "table inet "+firewall.DefaultTable {
				continue
			}
		case <-tick.C:
		case <-ctx.Done():
			return
		}
		apply()
	}
}
