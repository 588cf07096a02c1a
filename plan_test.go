package netprim

import "testing"

func TestPlanString(t *testing.T) {
	p := Plan{Warnings: []string{"glibc reads only 3 nameservers"}}
	if got, want := p.String(), "no changes\n! glibc reads only 3 nameservers"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	p = Plan{}
	p.Append(Change{Action: Recreate, Kind: "link", Object: "vlan10", Disruptive: true, Reason: "vlan id cannot change in place"})
	p.Append(Change{Action: Modify, Kind: "link", Object: "veth0", Field: "alias", From: "", To: "uplink"})
	want := "± link vlan10 (vlan id cannot change in place)\n~ link veth0 alias none -> uplink"
	if got := p.String(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if p.Empty() {
		t.Error("Empty() on a plan with changes")
	}
}

func TestResolveDefaults(t *testing.T) {
	o := Resolve()
	if o.Owner != DefaultOwner() || o.Prune || o.Logger == nil {
		t.Errorf("defaults: %+v", o)
	}
	var n int64
	o = Resolve(WithPrune(), WithOwner(Owner{ID: 99}), WithWriteCounter(&n))
	if !o.Prune || o.Owner.ID != 99 || o.Owner.Name != "netprim" || o.Writes != &n {
		t.Errorf("options: %+v", o)
	}
}

func TestOptionsValue(t *testing.T) {
	type key struct{}
	add := func(v int) Option {
		return func(o *Options) {
			cur, _ := o.Value(key{}).([]int)
			o.Set(key{}, append(cur, v))
		}
	}
	o := Resolve(add(1), add(2))
	if got, _ := o.Value(key{}).([]int); len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Errorf("Value = %v", o.Value(key{}))
	}
	if Resolve().Value(key{}) != nil {
		t.Error("Value of unset key is not nil")
	}
}

func TestOwnerValidate(t *testing.T) {
	for id := 0; id < 256; id++ {
		err := Owner{ID: uint8(id)}.Validate()
		if reserved := id <= 4 || id == 9; reserved != (err != nil) {
			t.Errorf("owner id %d: Validate() = %v", id, err)
		}
	}
}
