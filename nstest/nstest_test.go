package nstest

import "testing"

func TestIsolation(t *testing.T) {
	a := New(t)
	a.Run(t, "ip", "link", "add", "va", "type", "veth", "peer", "name", "vb")
	var links []struct{ Ifname string }
	a.IPJSON(t, &links, "link", "show", "dev", "va")
	if len(links) != 1 || links[0].Ifname != "va" {
		t.Fatalf("link va not inside: %+v", links)
	}
	b := New(t)
	if _, err := b.Exec("ip", "link", "show", "dev", "va"); err == nil {
		t.Fatal("link va visible in another namespace")
	}
}
