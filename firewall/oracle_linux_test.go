package firewall

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/netprim/netprim/nstest"
)

// nftTable is `nft -j list table inet NAME` reduced to what the oracle
// compares: the chain, and each rule as "COMMENT: EXPRS" with set
// references replaced by the sets' elements.
type nftTable struct {
	Chains []string // "NAME hook HOOK prio N policy P"
	Rules  []string
	Sets   map[string]string
}

func nftList(t *testing.T, n *nstest.NS, table string) nftTable {
	t.Helper()
	out := n.Run(t, "nft", "-j", "list", "table", "inet", table)
	var doc struct {
		Nftables []map[string]json.RawMessage `json:"nftables"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("nft -j: %v: %s", err, out)
	}
	res := nftTable{Sets: map[string]string{}}
	type rule struct {
		Chain   string            `json:"chain"`
		Comment string            `json:"comment"`
		Expr    []json.RawMessage `json:"expr"`
	}
	var rules []rule
	for _, obj := range doc.Nftables {
		switch {
		case obj["set"] != nil:
			var s struct {
				Name string `json:"name"`
				Type string `json:"type"`
				Elem []any  `json:"elem"`
			}
			json.Unmarshal(obj["set"], &s)
			var el []string
			for _, e := range s.Elem {
				el = append(el, jsonText(e, nil))
			}
			res.Sets[s.Name] = s.Type + "{" + strings.Join(el, ",") + "}"
		case obj["chain"] != nil:
			var c struct {
				Name   string `json:"name"`
				Type   string `json:"type"`
				Hook   string `json:"hook"`
				Prio   int    `json:"prio"`
				Policy string `json:"policy"`
			}
			json.Unmarshal(obj["chain"], &c)
			res.Chains = append(res.Chains, fmt.Sprintf("%s type %s hook %s prio %d policy %s", c.Name, c.Type, c.Hook, c.Prio, c.Policy))
		case obj["rule"] != nil:
			var r rule
			json.Unmarshal(obj["rule"], &r)
			rules = append(rules, r)
		}
	}
	for _, r := range rules {
		var parts []string
		for _, e := range r.Expr {
			var v any
			json.Unmarshal(e, &v)
			parts = append(parts, jsonText(v, res.Sets))
		}
		c, _, _ := strings.Cut(r.Comment, " #")
		res.Rules = append(res.Rules, c+": "+strings.Join(parts, " "))
	}
	return res
}

// jsonText renders an nft JSON expression compactly; references to sets
// are replaced by their elements when sets is not nil.
func jsonText(v any, sets map[string]string) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		if sets != nil && strings.HasPrefix(x, "@") {
			if s, ok := sets[x[1:]]; ok {
				return s
			}
		}
		return x
	case float64:
		return fmt.Sprint(x)
	case []any:
		var el []string
		for _, e := range x {
			el = append(el, jsonText(e, sets))
		}
		return "[" + strings.Join(el, ",") + "]"
	case map[string]any:
		for k, val := range x {
			m, _ := val.(map[string]any)
			switch k {
			case "match":
				return jsonText(m["left"], sets) + " " + fmt.Sprint(m["op"]) + " " + jsonText(m["right"], sets)
			case "meta", "ct":
				return k + " " + fmt.Sprint(m["key"])
			case "payload":
				return fmt.Sprintf("%v %v", m["protocol"], m["field"])
			case "prefix":
				return fmt.Sprintf("%v/%v", m["addr"], m["len"])
			case "range":
				r := val.([]any)
				return jsonText(r[0], sets) + "-" + jsonText(r[1], sets)
			case "set":
				return "{" + strings.Trim(jsonText(val, sets), "[]") + "}"
			case "counter", "accept", "drop":
				return k
			case "reject":
				if m != nil && m["type"] != nil {
					return "reject " + fmt.Sprint(m["type"])
				}
				return "reject"
			}
			b, _ := json.Marshal(x)
			return string(b)
		}
	}
	return fmt.Sprint(v)
}

// TestOracleNftJSON compares what `nft -j list table` shows with the Spec,
// written out by hand.
func TestOracleNftJSON(t *testing.T) {
	n := nstest.New(t)
	requireNftables(t, n)
	if _, err := Apply(context.Background(), n.Namespace, specBlock()); err != nil {
		t.Fatal(err)
	}
	got := nftList(t, n, "fw")
	want := []string{
		`safety:loopback: meta iifname == lo counter accept`,
		`safety:established: ct state in [established,related] counter accept`,
		`safety:invalid: ct state in invalid counter drop`,
		`safety:icmpv6: icmpv6 type == icmpv6_type{destination-unreachable,packet-too-big,time-exceeded,parameter-problem,nd-router-solicit,nd-router-advert,nd-neighbor-solicit,nd-neighbor-advert,nd-redirect} counter accept`,
		`safety:icmp: icmp type == icmp_type{destination-unreachable,time-exceeded,parameter-problem} counter accept`,
		`ssh/ip: ip saddr == ipv4_addr{10.1.0.0-10.1.0.98,10.1.0.100-10.1.0.255} tcp dport == 22 counter accept`,
		`web-deny-99/ip: ip saddr == 10.1.0.99 tcp dport == 80 counter reject tcp reset`,
		`web/ip: ip saddr == 10.1.0.0/24 tcp dport == inet_service{80,443} counter accept`,
		`web/ip6: ip6 saddr == fd01::/64 tcp dport == inet_service{80,443} counter accept`,
		`nodeport-tcp/ip: ip saddr == 10.1.0.0/24 tcp dport == inet_service{30000-32767} counter accept`,
		`nodeport-tcp/ip6: ip6 saddr == fd01::/64 tcp dport == inet_service{30000-32767} counter accept`,
		`nodeport-udp/ip: ip saddr == 10.1.0.0/24 udp dport == inet_service{30000-32767} counter accept`,
		`nodeport-udp/ip6: ip6 saddr == fd01::/64 udp dport == inet_service{30000-32767} counter accept`,
		`dns/ip: ip saddr == 10.1.0.0/24 udp dport == 53 counter reject icmpx`,
		`dns/ip6: ip6 saddr == fd01::/64 udp dport == 53 counter reject icmpx`,
		`alt/ip: meta nfproto == ipv4 tcp dport == 8080 counter reject tcp reset`,
		`alt/ip6: meta nfproto == ipv6 tcp dport == 8080 counter reject tcp reset`,
		`mdns/ip: ip saddr == 10.1.0.0/24 udp dport == 5353 counter drop`,
		`apiserver-vs2: meta iifname == vs2 tcp dport == 6443 counter accept`,
		`ping/ip: ip saddr == 10.2.0.0/24 meta l4proto == icmp counter accept`,
		`ping6/ip6: ip6 saddr == ipv6_addr{fd01::-fd01::98,fd01::9a-fd01::ffff:ffff:ffff:ffff} meta l4proto == ipv6-icmp counter accept`,
		`trusted/ip6: ip6 saddr == fd02::2 counter accept`,
		`default: counter`,
	}
	if diff := cmp.Diff(want, got.Rules); diff != "" {
		t.Errorf("nft -j rules (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"input type filter hook input prio 0 policy drop"}, got.Chains); diff != "" {
		t.Errorf("nft -j chains (-want +got):\n%s", diff)
	}
}

// nftCounters returns the packet counter of each rule of table by comment,
// as `nft -j list table` reports it.
func nftCounters(t *testing.T, n *nstest.NS, table string) map[string]uint64 {
	t.Helper()
	out := n.Run(t, "nft", "-j", "list", "table", "inet", table)
	var doc struct {
		Nftables []struct {
			Rule *struct {
				Comment string `json:"comment"`
				Expr    []struct {
					Counter *struct {
						Packets uint64 `json:"packets"`
					} `json:"counter"`
				} `json:"expr"`
			} `json:"rule"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	res := map[string]uint64{}
	for _, o := range doc.Nftables {
		if o.Rule == nil {
			continue
		}
		for _, e := range o.Rule.Expr {
			if e.Counter != nil {
				res[o.Rule.Comment] = e.Counter.Packets
			}
		}
	}
	return res
}
