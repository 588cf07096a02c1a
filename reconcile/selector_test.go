package reconcile

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/selector"
	"github.com/netprim/netprim/vlan"
)

const selectorDoc = `links:
  - deviceSelector:
      driver: virtio_net
      hardwareAddr: "52:54:00:*"
    mtu: 9000
    up: true
  - deviceSelector:
      busPath: "0*"
      physical: true
    alias: uplink
  - name: lo
    up: true
vlans:
  - parentSelector: {pciID: "1af4:1000"}
    id: 100
`

func TestDecodeDeviceSelector(t *testing.T) {
	d, err := Decode(strings.NewReader(selectorDoc))
	if err != nil {
		t.Fatal(err)
	}
	yes, uplink := true, "uplink"
	want := State{
		Links: []Link{
			{Spec: link.Spec{MTU: 9000, Up: &yes}, DeviceSelector: &selector.Selector{Driver: "virtio_net", HardwareAddr: "52:54:00:*"}},
			{Spec: link.Spec{Alias: &uplink}, DeviceSelector: &selector.Selector{BusPath: "0*", Physical: &yes}},
			{Spec: link.Spec{Name: "lo", Up: &yes}},
		},
		VLANs: []vlan.Spec{{ParentSelector: &selector.Selector{PCIID: "1af4:1000"}, ID: 100}},
	}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Fatalf("Decode (-want +got):\n%s", diff)
	}
	if err := d.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	// The document encodes to YAML that decodes to the same document.
	out, err := yaml.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	d2, err := Decode(strings.NewReader(string(out)))
	if err != nil || !reflect.DeepEqual(d, d2) {
		t.Fatalf("round trip through\n%s\n%+v, %v", out, d2, err)
	}
}

func TestDeviceSelectorErrors(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{"links:\n  - name: eth0\n    deviceSelector: {driver: e1000e}\n",
			"links[0]: name eth0 and deviceSelector both given"},
		{"links:\n  - {name: lo}\n  - mtu: 1400\n", "links[1]: give name or deviceSelector"},
		{"links:\n  - deviceSelector: {busPath: \"00:[\"}\n", `links[0].deviceSelector: selector: busPath: bad pattern "00:["`},
		{"links:\n  - deviceSelector: {}\n    mtu: 1400\n", "links[0].deviceSelector: selector: no field set"},
		{"links:\n  - deviceSelector: {pciID: 1af4}\n", "links[0].deviceSelector: selector: pciID"},
		{"links:\n  - deviceSelector: {driver: veth}\n    kind: dummy\n", "links[0].kind: dummy: a device chosen by deviceSelector must exist already"},
		{"links:\n  - deviceSelector: {driver: veth}\n    veth: {peer: x}\n", "links[0].kind: veth"},
		{"links:\n  - {name: lo}\n  - deviceSelector: {driver: veth}\n    mtu: 70000\n", "link: spec[1].mtu: 70000 out of range"},
		{"links:\n  - deviceSelector: {driver: veth}\n    master: selected0\n", ""}, // the stand-in name never clashes
		{"links:\n  - deviceSelector: {driver: veth, speed: 1}\n", "links[0] (line 2)"},
		{"links:\n  - deviceSelector: {driver: veth, speed: 1}\n", `field speed not found`},
		{"links:\n  - devSelector: {driver: veth}\n", "links[0] (line 2)"},
		{"vlans:\n  - {parent: eth0, parentSelector: {driver: e1000e}, id: 3}\n", "vlan: spec[0].parentSelector: set together with parent eth0"},
		{"vlans:\n  - {parentSelector: {driver: \"[\"}, id: 3}\n", "vlan: spec[0].parentSelector: selector: driver"},
	} {
		d, err := Decode(strings.NewReader(tc.doc))
		if err == nil {
			err = d.Validate()
		}
		if tc.want == "" {
			if err != nil {
				t.Errorf("%q: %v", tc.doc, err)
			}
			continue
		}
		if err == nil || !errors.Is(err, netprim.ErrInvalidSpec) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want ErrInvalidSpec mentioning %q", tc.doc, err, tc.want)
		}
	}
}

// TestLinkSpecs resolves selectors against a listing, as every pass does
// with the namespace's links.
func TestLinkSpecs(t *testing.T) {
	links := []link.Status{
		{Index: 1, Name: "lo", Flags: []string{"LOOPBACK"}, ParentNetnsID: -1},
		{Index: 2, Name: "enp0s3", Driver: "virtio_net", BusInfo: "0000:00:03.0", PCIID: "1AF4:1000", HardwareAddr: "52:54:00:12:34:56", ParentNetnsID: -1},
		{Index: 3, Name: "va", Kind: "veth", Driver: "veth", HardwareAddr: "0a:00:00:00:00:01", ParentIndex: 4, ParentNetnsID: -1},
		{Index: 4, Name: "vb", Kind: "veth", Driver: "veth", HardwareAddr: "0a:00:00:00:00:02", ParentIndex: 3, ParentNetnsID: -1},
		// A VLAN on enp0s3 shows its address but is not a second match.
		{Index: 5, Name: "enp0s3.7", Kind: "vlan", HardwareAddr: "52:54:00:12:34:56", ParentIndex: 2, ParentNetnsID: -1},
	}
	decode := func(doc string) State {
		t.Helper()
		d, err := Decode(strings.NewReader(doc))
		if err == nil {
			err = d.Validate()
		}
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	d := decode(`links:
  - {name: lo, up: true}
  - deviceSelector: {busPath: "0*"}
    mtu: 9000
  - deviceSelector: {driver: veth, hardwareAddr: "*:02"}
    up: true
`)
	resolved, errs := resolveSelectors(d.Links, links)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	specs := make([]link.Spec, len(resolved))
	for i, l := range resolved {
		specs[i] = l.Spec
	}
	var names []string
	for _, s := range specs {
		names = append(names, s.Name)
	}
	if diff := cmp.Diff([]string{"lo", "enp0s3", "vb"}, names); diff != "" {
		t.Fatalf("resolved names (-want +got):\n%s", diff)
	}
	if specs[1].MTU != 9000 || specs[2].Up == nil || !*specs[2].Up {
		t.Fatalf("resolved specs lost fields: %+v", specs)
	}
	if d.Links[1].Name != "" {
		t.Fatal("resolveSelectors changed the document")
	}
	d = decode(`links:
  - {name: lo, up: true}
  - deviceSelector: {hardwareAddr: "52:54:00:12:34:56"}
    mtu: 9000
`)
	if got, errs := resolveSelectors(d.Links, links); len(errs) > 0 || got[1].Name != "enp0s3" {
		t.Fatalf("selector by the address a VLAN shares: %+v, %v", got, errs)
	}

	for _, tc := range []struct {
		doc     string
		wantErr error
		want    string
	}{
		{"links:\n  - {name: lo}\n  - deviceSelector: {driver: veth}\n", selector.ErrAmbiguous,
			"links[1].deviceSelector: selector driver=veth: selector matches several devices: va, vb"},
		{"links:\n  - deviceSelector: {driver: e1000e}\n", netprim.ErrNotFound,
			"links[0].deviceSelector: selector driver=e1000e: no device matches"},
		{"links:\n  - {name: vb}\n  - deviceSelector: {hardwareAddr: \"0a:*:02\"}\n", netprim.ErrInvalidSpec,
			"links[1].deviceSelector: vb is also links[0]"},
		{"links:\n  - deviceSelector: {pciID: 1af4:1000}\n  - {name: enp0s3}\n", netprim.ErrInvalidSpec,
			"links[1].name: enp0s3 is also links[0]"},
	} {
		d := decode(tc.doc)
		_, errs := resolveSelectors(d.Links, links)
		err := errors.Join(errs...)
		if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %v: %q", tc.doc, err, tc.wantErr, tc.want)
		}
	}
}
