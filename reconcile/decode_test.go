package reconcile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/netprim/netprim"
)

func TestDecodeTestdata(t *testing.T) {
	files, err := filepath.Glob("../examples/netctl/testdata/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			d, err := Decode(bytes.NewReader(data))
			bad := strings.HasPrefix(filepath.Base(f), "bad-") || strings.HasPrefix(filepath.Base(f), "unknown-")
			if err == nil {
				err = d.Validate()
			}
			if bad != (err != nil) {
				t.Fatalf("bad=%v, err=%v", bad, err)
			}
			if err != nil && !errors.Is(err, netprim.ErrInvalidSpec) {
				t.Fatalf("error does not wrap ErrInvalidSpec: %v", err)
			}
		})
	}
}

func TestDecodeErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{"links:\n  - name: veth0\n    mtu: 70000\n", "mtu"},
		{"links:\n  - name: veth0\n    speed: 1\n", "speed"},
		{"routes:\n  - destination: 198.51.100.0/24\n    gateway: \"1.2.3\"\n", "1.2.3"},
		{"addresses:\n  - link: veth0\n    address: 192.0.2.10\n", "address"},
		{"links: []\n---\nlinks: []\n", "more than one"},
		{"bogus: []\n", "bogus"},
		{"vlans:\n  - {parent: eth0, id: 4095}\n", "id"},
		{"resolvers:\n  nameservers: [\"1.2.3\"]\n", "1.2.3"},
		{"hostname:\n  hostname: bad_name\n", "hostname"},
	} {
		d, err := Decode(strings.NewReader(tc.doc))
		if err == nil {
			err = d.Validate()
		}
		if err == nil || !errors.Is(err, netprim.ErrInvalidSpec) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want ErrInvalidSpec mentioning %q", tc.doc, err, tc.want)
		}
	}
}

func TestDecodeEmpty(t *testing.T) {
	d, err := Decode(strings.NewReader(""))
	if err != nil || !reflect.DeepEqual(d, State{}) {
		t.Fatalf("empty document: %+v, %v", d, err)
	}
}

// FuzzDecode: decoding never panics, and a document that decodes and
// validates encodes to YAML that decodes to the same document.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("../examples/netctl/testdata/*.yaml")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("routes:\n  - destination: ::/0\n    nextHops: [{gateway: fe80::1, link: a, weight: 2}]\n"))
	f.Add([]byte(selectorDoc))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Decode(bytes.NewReader(data))
		if err != nil {
			return
		}
		if d.Validate() != nil {
			return
		}
		out, err := yaml.Marshal(d)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if len(d.WireGuard) > 0 {
			// Private keys encode as "(hidden)", which decodes to an
			// error by design: check the redaction instead.
			for _, w := range d.WireGuard {
				if bytes.Contains(out, []byte(w.PrivateKey.Reveal())) {
					t.Fatalf("encoded document shows a private key:\n%s", out)
				}
			}
			return
		}
		d2, err := Decode(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("re-decode of %q: %v", out, err)
		}
		if !reflect.DeepEqual(d, d2) {
			t.Fatalf("round trip changed the document:\n%+v\n%+v\nyaml:\n%s", d, d2, out)
		}
	})
}
