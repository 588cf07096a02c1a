package firewall

import (
	"context"
	"testing"

	"github.com/netprim/netprim"
)

func TestTrafficRuleKinds(t *testing.T) {
	l := newLab(t)
	ctx := context.Background()
	if _, err := Apply(ctx, l.S.Namespace, specBlock()); err != nil {
		t.Fatal(err)
	}
	l.check(t, []probeCase{
		{"tcp", "10.1.0.2", "10.1.0.1", 22, accepted},
		{"tcp", "10.1.0.99", "10.1.0.1", 22, dropped}, // except -> default block
		{"tcp", "fd01::2", "fd01::1", 22, dropped},    // rule is IPv4 only
		{"tcp", "10.1.0.2", "10.1.0.1", 80, accepted},
		{"tcp", "10.1.0.99", "10.1.0.1", 80, rejected}, // first match: web-deny-99
		{"tcp", "fd01::2", "fd01::1", 80, accepted},
		{"tcp", "fd01::99", "fd01::1", 443, accepted},
		{"tcp", "10.1.0.2", "10.1.0.1", 443, accepted},
		{"tcp", "10.1.0.2", "10.1.0.1", 30080, accepted},
		{"tcp", "fd01::2", "fd01::1", 30080, accepted},
		{"udp", "10.1.0.2", "10.1.0.1", 30080, accepted},
		{"udp", "fd01::2", "fd01::1", 30080, accepted},
		{"udp", "10.1.0.2", "10.1.0.1", 53, rejected},
		{"udp", "fd01::2", "fd01::1", 53, rejected},
		{"tcp", "10.1.0.2", "10.1.0.1", 8080, rejected},
		{"tcp", "fd01::2", "fd01::1", 8080, rejected},
		{"udp", "10.1.0.2", "10.1.0.1", 5353, dropped},
		{"tcp", "10.2.0.2", "10.2.0.1", 6443, accepted}, // via vs2
		{"tcp", "10.1.0.2", "10.1.0.1", 6443, dropped},  // via vs1: default
		{"tcp", "10.2.0.2", "10.2.0.1", 8443, dropped},  // no rule
		{"icmp", "10.2.0.2", "10.2.0.1", 0, accepted},
		{"icmp", "10.1.0.2", "10.1.0.1", 0, dropped},
		{"icmp", "fd01::2", "fd01::1", 0, accepted},
		{"icmp", "fd01::99", "fd01::1", 0, dropped}, // IPv6 except
		{"icmp", "fd02::2", "fd02::1", 0, accepted}, // protocol any
		{"udp", "fd02::2", "fd02::1", 5353, accepted},
		{"tcp", "fd02::2", "fd02::1", 8443, accepted},
	})

	// Counters show which rule matched.
	st, err := Get(ctx, l.S.Namespace, "fw")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ssh", "web-deny-99", "web", "nodeport-tcp", "nodeport-udp", "dns", "alt", "mdns",
		"apiserver-vs2", "ping", "ping6", "trusted", "default", "safety:established", "safety:icmpv6"} {
		if p, _ := st.Counters(name); p == 0 {
			t.Errorf("rule %s: counter is 0 after traffic it matches", name)
		}
	}
	if st.DefaultAction != DefaultBlock {
		t.Errorf("default action %s, want block", st.DefaultAction)
	}

	// Default accept, and the two overlapping rules in the other order:
	// now "web" matches 10.1.0.99 first.
	spec := specBlock()
	spec.DefaultAction = DefaultAccept
	spec.Rules[1], spec.Rules[2] = spec.Rules[2], spec.Rules[1]
	spec.Rules = append(spec.Rules, Rule{Name: "ssh6-drop", Protocol: TCP, Ports: []string{"22"}, Subnets: pfxs("fd01::/64"), Action: Drop})
	if _, err := Apply(ctx, l.S.Namespace, spec); err != nil {
		t.Fatal(err)
	}
	l.check(t, []probeCase{
		{"tcp", "10.1.0.99", "10.1.0.1", 80, accepted},
		{"tcp", "10.1.0.99", "10.1.0.1", 22, accepted}, // default accept
		{"tcp", "10.1.0.2", "10.1.0.1", 6443, accepted},
		{"icmp", "10.1.0.2", "10.1.0.1", 0, accepted},
		{"tcp", "fd01::2", "fd01::1", 22, dropped},
		{"udp", "10.1.0.2", "10.1.0.1", 5353, dropped},
		{"udp", "10.1.0.2", "10.1.0.1", 53, rejected},
	})
	var w int64
	if pl, err := Apply(ctx, l.S.Namespace, spec, netprim.WithWriteCounter(&w)); err != nil || w != 0 || !pl.Empty() {
		t.Errorf("second Apply: %d writes, plan %q, err %v; want none", w, pl, err)
	}
}
