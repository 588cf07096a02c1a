package firewall

import "testing"

// TestCacheUnit: hit, store, bounds and the Spec hash.
func TestCacheUnit(t *testing.T) {
	var c Cache
	k := specHash(specBlock())
	if c.hit(1, k, 5) {
		t.Error("empty cache hit")
	}
	c.store(1, k, 5)
	if !c.hit(1, k, 5) || c.hit(1, k, 6) || c.hit(2, k, 5) {
		t.Error("hit wrong")
	}
	for i := range uint64(2 * cacheMax) {
		c.store(100+i, k, 1)
	}
	if len(c.entries) > cacheMax {
		t.Errorf("%d entries, want at most %d", len(c.entries), cacheMax)
	}

	// Every field changes the hash.
	base := specBlock()
	seen := map[[32]byte]string{specHash(base): "base"}
	for name, f := range map[string]func(*Spec){
		"table":   func(s *Spec) { s.Table = "fw2" },
		"policy":  func(s *Spec) { s.DefaultAction = DefaultAccept },
		"order":   func(s *Spec) { s.Rules[0], s.Rules[1] = s.Rules[1], s.Rules[0] },
		"name":    func(s *Spec) { s.Rules[0].Name = "ssh2" },
		"proto":   func(s *Spec) { s.Rules[0].Protocol = UDP },
		"port":    func(s *Spec) { s.Rules[0].Ports = []string{"23"} },
		"ports":   func(s *Spec) { s.Rules[0].Ports = append(s.Rules[0].Ports, "23") },
		"subnet":  func(s *Spec) { s.Rules[0].Subnets = pfxs("10.1.0.0/23") },
		"except":  func(s *Spec) { s.Rules[0].Except = pfxs("10.1.0.98/32") },
		"moved":   func(s *Spec) { s.Rules[0].Subnets, s.Rules[0].Except = s.Rules[0].Except, s.Rules[0].Subnets },
		"iif":     func(s *Spec) { s.Rules[0].InInterface = "eth0" },
		"action":  func(s *Spec) { s.Rules[0].Action = Drop },
		"removed": func(s *Spec) { s.Rules = s.Rules[1:] },
	} {
		s := clone(base)
		f(&s)
		h := specHash(s)
		if other, dup := seen[h]; dup {
			t.Errorf("%s: same hash as %s", name, other)
		}
		seen[h] = name
	}
}
